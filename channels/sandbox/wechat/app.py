"""The WeChat emulator as one object: its state, faults, event poster and aiohttp application.

Mounted by the bot at ``/sandbox/wechat/`` in sandbox mode; tests run it as a real server of its
own. Publishing is asynchronous as on the real platform: a publish job or mass send finishes
``publish_delay`` seconds after it is accepted, and the result is posted to the callback URL."""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from channels.sandbox.wechat import events
from channels.sandbox.wechat.api import Api
from channels.sandbox.wechat.config import EmulatorConfig
from channels.sandbox.wechat.events import EventPoster, Posted
from channels.sandbox.wechat.faults import Faults
from channels.sandbox.wechat.journal import Journal
from channels.sandbox.wechat.state import State

log = logging.getLogger("gongkai.sandbox.wechat")
EMULATOR_KEY = web.AppKey("wechat_emulator", object)


class WechatEmulator:
    def __init__(self, config: EmulatorConfig, state_dir: Path | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.config = config
        self.now = now or (lambda: datetime.now(UTC))
        self.journal = Journal(state_dir)
        self.state = State(config, self.journal)
        self.faults = Faults()
        self.poster = EventPoster(config, self.now)
        self.api = Api(self)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()
        self.conversation: list[dict[str, Any]] = []  # what the follower page shows

    def ts(self) -> float:
        return self.now().timestamp()

    @property
    def admin_openid(self) -> str:
        """The operator account that job-result events come from."""
        return State.bulk_openid(self.config.app_id, -1)

    # ------------------------------------------------------------------ the application
    def app(self) -> web.Application:
        from channels.sandbox.wechat import views

        app = web.Application(client_max_size=16 * 1024 * 1024)
        app[EMULATOR_KEY] = self
        app.add_routes(self.api.routes())
        app.add_routes(views.routes(self))
        app.add_routes(self._admin_routes())
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, _app: web.Application) -> None:
        self.resume()

    async def _on_cleanup(self, _app: web.Application) -> None:
        await self.close()

    def resume(self) -> None:
        """Jobs accepted before a restart and not finished yet finish now (after the delay)."""
        for key, pub in self.state.publications.items():
            pending = pub.status == 1 if pub.kind == "publish" else pub.mass_status == "SENDING"
            if pending and key not in self._timers:
                self.schedule_completion(key)

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.poster.close()
        self.journal.close()

    def _spawn(self, coro) -> asyncio.Task:  # noqa: ANN001
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ asynchronous jobs
    def schedule_completion(self, key: str) -> None:
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(self.config.publish_delay,
                                            lambda: self._spawn(self.complete(key)))

    async def complete_pending(self) -> None:
        """Finish every publish job and mass send still running, now (tests use this)."""
        for key in list(self._timers):
            self._timers.pop(key).cancel()
        pending = [k for k, p in self.state.publications.items()
                   if (p.status == 1 if p.kind == "publish" else p.mass_status == "SENDING")]
        for key in pending:
            await self.complete(key)

    async def complete(self, key: str) -> Posted | None:
        self._timers.pop(key, None)
        pub = self.state.publications.get(key)
        if pub is None:
            return None
        now = self.ts()
        if pub.kind == "publish":
            if pub.status != 1:
                return None
            outcome: tuple[int, list[int]] = self.faults.take(self.faults.publish_outcomes) or (0, [])
            status, fail_idx = outcome
            self.state.commit({"t": "publish_done", "publish_id": key, "status": status,
                               "article_id": secrets.token_urlsafe(32) if status == 0 else "",
                               "fail_idx": [] if status == 0 else fail_idx, "at": now})
            urls = [pub.url(self.config.public_url, i) for i in range(1, len(pub.articles) + 1)] \
                if status == 0 else []
            return await self.poster.post("PUBLISHJOBFINISH", self.admin_openid,
                                          events.publish_finished(pub, urls))
        if pub.mass_status != "SENDING":
            return None
        failure = self.faults.take(self.faults.mass_outcomes)
        self.state.commit({"t": "mass_done", "msg_id": pub.msg_id,
                           "status": "SEND_FAIL" if failure else "SEND_SUCCESS",
                           "reason": failure or "", "at": now,
                           "article_id": "" if failure else secrets.token_urlsafe(32)})
        if pub.preview:
            return None
        urls = [pub.url(self.config.public_url, i) for i in range(1, len(pub.articles) + 1)] \
            if not failure else []
        return await self.poster.post("MASSSENDJOBFINISH", self.admin_openid,
                                      events.mass_finished(pub, urls))

    async def drain(self) -> None:
        """Wait until every event already on its way to the server has been posted."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def post_later(self, kind: str, openid: str, msgid: int) -> None:
        if kind == "TEMPLATESENDJOBFINISH":
            self._spawn(self.poster.post(kind, openid, events.template_finished(msgid, "success"),
                                         attempts=1))

    # ------------------------------------------------------------------ followers
    def add_followers(self, count: int) -> list[str]:
        """``count`` followers with deterministic openids (benchmarks, tests)."""
        start = self.state.counters["bulk"]
        self.state.commit({"t": "followers_bulk", "start": start, "count": count, "at": self.ts()})
        return [State.bulk_openid(self.config.app_id, n) for n in range(start, start + count)]

    async def follow(self, openid: str | None = None) -> tuple[str, Posted]:
        """A reader follows the account: WeChat posts a subscribe event to the server."""
        openid = openid or "o" + secrets.token_urlsafe(21)[:27]
        self.state.commit({"t": "follow", "openid": openid, "at": self.ts()})
        posted = await self.poster.post("subscribe", openid, events.follow_event("subscribe"))
        self._remember(openid, "（关注公众号）", posted)
        return openid, posted

    async def unfollow(self, openid: str) -> Posted:
        self.state.commit({"t": "unfollow", "openid": openid, "at": self.ts()})
        posted = await self.poster.post("unsubscribe", openid, events.follow_event("unsubscribe"))
        self._remember(openid, "（取消关注）", posted)
        return posted

    async def say(self, openid: str, text: str) -> Posted:
        msg_id = self.state.next_id("msg", 6054768590064713728)
        posted = await self.poster.post("text", openid, events.text_message(text, msg_id))
        self._remember(openid, text, posted)
        return posted

    def refuse(self, openid: str) -> None:
        """The follower refuses subscribe messages: bizsend answers 43101."""
        self.state.commit({"t": "refuse", "openid": openid})

    def _remember(self, openid: str, said: str, posted: Posted) -> None:
        self.conversation.append({"openid": openid, "said": said, "status": posted.status,
                                  "reply": posted.reply, "error": posted.error, "at": posted.at})
        del self.conversation[:-30]

    # ------------------------------------------------------------------ admin (tests, bench)
    def _admin_routes(self) -> list[web.RouteDef]:
        async def state(_request: web.Request) -> web.Response:
            summary = self.state.summary()
            summary["events"] = [{"kind": p.kind, "status": p.status, "error": p.error,
                                  "reply": p.reply} for p in self.poster.log]
            return web.json_response(summary, dumps=_dumps)

        async def faults(request: web.Request) -> web.Response:
            self.faults.configure(await request.json())
            return web.json_response({"ok": True})

        async def followers(request: web.Request) -> web.Response:
            spec = await request.json()
            if spec.get("count"):
                return web.json_response({"openids_added": len(self.add_followers(int(spec["count"])))})
            openid, posted = await self.follow(spec.get("openid"))
            return web.json_response({"openid": openid, "status": posted.status, "reply": posted.reply},
                                     dumps=_dumps)

        async def complete(_request: web.Request) -> web.Response:
            await self.complete_pending()
            return web.json_response({"ok": True})

        return [web.get("/_admin/state", state), web.post("/_admin/faults", faults),
                web.post("/_admin/followers", followers), web.post("/_admin/complete", complete)]


def _dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)
