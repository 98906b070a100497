"""The emulated ``/cgi-bin/...`` API: routing, the checks every call goes through (IP
whitelist, token, injected faults, daily limits, rate limits), access tokens and materials.
Drafts and publishing are in ``articles``, messages, users and tags in ``messages``; the JSON
shapes follow the documentation, including the success bodies that carry no errcode."""
from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.sandbox.wechat import uploads
from channels.sandbox.wechat.articles import ArticleApi
from channels.sandbox.wechat.messages import MessageApi
from channels.sandbox.wechat.wire import Failure, error_body, read_json

if TYPE_CHECKING:
    from channels.sandbox.wechat.app import WechatEmulator

Handler = Callable[[web.Request], Awaitable[dict[str, Any]]]


class Api(ArticleApi, MessageApi):
    def __init__(self, emulator: WechatEmulator) -> None:
        self.emu = emulator
        self.state = emulator.state
        self.config = emulator.config
        self.faults = emulator.faults
        self._buckets: dict[str, tuple[float, float]] = {}  # endpoint -> (tokens, at)

    # ------------------------------------------------------------------ plumbing
    def routes(self) -> list[web.RouteDef]:
        table = [
            ("GET", "token", self.token, False), ("POST", "stable_token", self.stable_token, False),
            ("POST", "media/uploadimg", self.uploadimg, True),
            ("POST", "material/add_material", self.add_material, True),
            ("POST", "media/upload", self.media_upload, True),
            ("POST", "draft/add", self.draft_add, True), ("POST", "draft/get", self.draft_get, True),
            ("POST", "draft/delete", self.draft_delete, True),
            ("GET", "draft/count", self.draft_count, True),
            ("POST", "draft/batchget", self.draft_batchget, True),
            ("POST", "freepublish/submit", self.publish_submit, True),
            ("POST", "freepublish/get", self.publish_get, True),
            ("POST", "freepublish/delete", self.publish_delete, True),
            ("POST", "freepublish/getarticle", self.publish_getarticle, True),
            ("POST", "freepublish/batchget", self.publish_batchget, True),
            ("POST", "message/mass/sendall", self.mass_sendall, True),
            ("POST", "message/mass/send", self.mass_send, True),
            ("POST", "message/mass/preview", self.mass_preview, True),
            ("POST", "message/mass/get", self.mass_get, True),
            ("POST", "message/mass/delete", self.mass_delete, True),
            ("POST", "message/template/send", self.template_send, True),
            ("POST", "message/subscribe/bizsend", self.bizsend, True),
            ("GET", "user/get", self.user_get, True),
            ("POST", "tags/create", self.tags_create, True), ("GET", "tags/get", self.tags_get, True),
            ("POST", "tags/members/batchtagging", self.batchtagging, True),
            ("POST", "tags/members/batchuntagging", self.batchuntagging, True),
            ("POST", "user/tag/get", self.tag_users, True),
            ("POST", "tags/getidlist", self.tag_idlist, True),
            ("POST", "clear_quota", self.clear_quota, True),
        ]
        return [web.route(method, f"/api/cgi-bin/{name}", self._wrap(name, fn, auth))
                for method, name, fn, auth in table]

    def _wrap(self, name: str, fn: Handler, auth: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            if self.faults.latency:
                await asyncio.sleep(self.faults.latency)
            status = self.faults.take(self.faults.http_errors[name])
            if status:
                return web.Response(status=status, text="Service Unavailable")
            try:
                body = await self._guarded(name, fn, auth, request)
            except Failure as exc:
                body = error_body(exc.code, request.remote or "", **exc.extra)
            hang = self.faults.take(self.faults.hangs[name])
            if hang:
                await asyncio.sleep(hang)  # the call was carried out; the answer never comes
            return web.Response(text=json.dumps(body, ensure_ascii=False),
                                content_type="application/json", charset="utf-8")

        return handle

    async def _guarded(self, name: str, fn: Handler, auth: bool, request: web.Request) -> dict[str, Any]:
        if self.config.ip_whitelist and request.remote not in self.config.ip_whitelist:
            raise Failure(40164)
        if auth:
            self._check_token(request)
        code = self.faults.take(self.faults.errcodes[name])
        if code:
            raise Failure(code)
        limit = self.config.daily_limits.get(name, 0)
        key = (self.state.day(self.emu.ts()), name)
        if limit and self.state.calls[key] >= limit:
            raise Failure(45009)
        self.state.calls[key] += 1
        rate = self.config.rate_limits.get(name)
        if rate and not self._take_token(name, rate):
            raise Failure(45009)
        return await fn(request)

    def _take_token(self, name: str, rate: float) -> bool:
        """A token bucket holding one second of calls, refilled continuously."""
        now = time.monotonic()
        tokens, at = self._buckets.get(name, (rate, now))
        tokens = min(rate, tokens + (now - at) * rate)
        if tokens < 1:
            self._buckets[name] = (tokens, now)
            return False
        self._buckets[name] = (tokens - 1, now)
        return True

    def _check_token(self, request: web.Request) -> None:
        faults = self.faults
        faults.calls += 1
        while faults.token_revocations and faults.calls > faults.token_revocations[0][0]:
            _, code = faults.token_revocations.popleft()
            self.state.commit({"t": "token_revoke", "code": code, "at": self.emu.ts()})
        value = request.query.get("access_token", "")
        if not value:
            raise Failure(41001)
        if faults.reject_all_tokens:
            raise Failure(40001)
        token = self.state.tokens.get(value)
        if token is None:
            raise Failure(40001 if len(value) > 20 else 40014)
        if token.revoked:
            raise Failure(token.revoked)
        if self.emu.ts() >= token.expires_at:
            raise Failure(42001)

    # ------------------------------------------------------------------ access token
    def _issue(self, kind: str, *, forced: bool = False, revoke: list[str] | None = None) -> dict[str, Any]:
        value = secrets.token_urlsafe(102)[:136]
        now = self.emu.ts()
        self.state.commit({"t": "token", "value": value, "kind": kind, "at": now,
                           "expires_at": now + self.config.token_ttl, "forced": forced,
                           "revoke": revoke or []})
        return {"access_token": value, "expires_in": self.config.token_ttl}

    def _check_app(self, appid: str | None, secret: str | None) -> None:
        if not appid:
            raise Failure(41002)
        if appid != self.config.app_id:
            raise Failure(40013)
        if not secret:
            raise Failure(41004)
        if not secrets.compare_digest(secret, self.config.app_secret):
            raise Failure(40125)

    async def token(self, request: web.Request) -> dict[str, Any]:
        q = request.query
        if q.get("grant_type") != "client_credential":
            raise Failure(40002)
        self._check_app(q.get("appid"), q.get("secret"))
        return self._issue("basic")

    async def stable_token(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        if data.get("grant_type") != "client_credential":
            raise Failure(40002)
        self._check_app(data.get("appid"), data.get("secret"))
        now = self.emu.ts()
        current = self.state.tokens.get(self.state.stable_current or "")
        if data.get("force_refresh"):
            today = self.state.day(now)
            if sum(1 for at in self.state.force_refreshes if self.state.day(at) == today) >= 20:
                raise Failure(45009)
            if self.state.force_refreshes and now - self.state.force_refreshes[-1] < 30:
                raise Failure(45011)
            return self._issue("stable", forced=True, revoke=[current.value] if current else [])
        if current and not current.revoked and current.expires_at - now > 300:
            return {"access_token": current.value, "expires_in": int(current.expires_at - now)}
        return self._issue("stable")

    # ------------------------------------------------------------------ materials
    async def uploadimg(self, request: web.Request) -> dict[str, Any]:
        upload = await uploads.receive(request, "uploadimg")
        name = hashlib.sha256(upload.data).hexdigest()[:40] + "." + upload.extension
        url = f"{self.config.public_url}/mmbiz/{name}"
        if name not in self.state.images:
            self.state.save_file(name, upload.data)
            self.state.commit({"t": "image", "name": name, "size": len(upload.data), "url": url,
                               "at": self.emu.ts()})
        return {"url": url, "errcode": 0, "errmsg": "ok"}

    async def _material(self, request: web.Request, prefix: str) -> tuple[str, str, str]:
        """Check and keep one upload; (kind, media_id, url of its file)."""
        kind = request.query.get("type", "")
        if kind not in uploads.RULES or kind == "uploadimg":
            raise Failure(40004)
        upload = await uploads.receive(request, kind)
        media_id = secrets.token_urlsafe(48)[:64]
        name = f"{prefix}-{hashlib.sha256(upload.data).hexdigest()[:40]}.{upload.extension}"
        self.state.save_file(name, upload.data)
        url = f"{self.config.public_url}/mmbiz/{name}"
        self.state.commit({"t": "media", "media_id": media_id, "type": kind, "name": name,
                           "url": url, "size": len(upload.data), "at": self.emu.ts(),
                           "temporary": prefix == "t"})
        return kind, media_id, url

    async def add_material(self, request: web.Request) -> dict[str, Any]:
        kind, media_id, url = await self._material(request, "m")
        if kind in ("image", "thumb"):
            return {"media_id": media_id, "url": url, "item": []}
        return {"media_id": media_id}

    async def media_upload(self, request: web.Request) -> dict[str, Any]:
        """A temporary material (three days on the platform); a thumb's id comes back as
        ``thumb_media_id``."""
        kind, media_id, _url = await self._material(request, "t")
        key = "thumb_media_id" if kind == "thumb" else "media_id"
        return {"type": kind, key: media_id, "created_at": int(self.emu.ts())}
