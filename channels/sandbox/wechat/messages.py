"""Emulated mass sends (``message/mass/*``) with clientmsgid dedupe (24 hours) and quotas,
template and subscribe messages (service accounts only, values checked by type), and followers
and tags (``user/get``, ``tags/*``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.sandbox.wechat import template_values
from channels.sandbox.wechat.wire import OPENID, Failure, ok, read_json

if TYPE_CHECKING:
    from channels.sandbox.wechat.app import WechatEmulator
    from channels.sandbox.wechat.config import EmulatorConfig
    from channels.sandbox.wechat.state import State


class MessageApi:
    """Mixed into :class:`channels.sandbox.wechat.api.Api` (which provides state and config)."""

    emu: WechatEmulator
    state: State
    config: EmulatorConfig

    # ------------------------------------------------------------------ mass send
    def _service_only(self) -> None:
        """Template messages, subscribe notifications and mass sends to an openid list need a
        (verified) service account; a subscription account gets 48001."""
        if self.config.account_type != "service":
            raise Failure(48001)

    def _clientmsgid(self, data: dict[str, Any]) -> str:
        """The dedupe id: a second send with one used in the last 24 hours answers 45065 with
        the first send's msg_id; after that the id may be used again."""
        clientmsgid = str(data.get("clientmsgid") or "")
        if len(clientmsgid.encode()) > 64:
            raise Failure(45067)
        earlier = self.state.recent_clientmsgid(clientmsgid, self.emu.ts()) if clientmsgid else None
        if earlier is not None:
            raise Failure(45065, msg_id=earlier)
        return clientmsgid

    def _mass_content(self, data: dict[str, Any]) -> dict[str, Any]:
        """What a mass send carries: a draft's articles (mpnews) or a text."""
        msgtype = data.get("msgtype")
        if msgtype == "text":
            content = (data.get("text") or {}).get("content")
            if not isinstance(content, str) or not content.strip():
                raise Failure(47001)
            return {"media_id": "", "articles": [], "text": content}
        if msgtype != "mpnews":
            raise Failure(40008)
        media_id = str((data.get("mpnews") or {}).get("media_id") or "")
        draft = self.state.drafts.get(media_id)
        if draft is None:
            raise Failure(40007)
        return {"media_id": media_id, "articles": draft["articles"], "text": ""}

    def _mass_submit(self, clientmsgid: str, content: dict[str, Any], **target: Any) -> dict[str, Any]:
        msg_id = self.state.next_id("mass", 1000000000)
        msg_data_id = self.state.next_id("msg_data", 2247483647)
        self.state.commit({"t": "mass", "msg_id": msg_id, "msg_data_id": msg_data_id,
                           "clientmsgid": clientmsgid, **content, **target, "at": self.emu.ts()})
        self.emu.schedule_completion(f"mass:{msg_id}")
        return {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id,
                "msg_data_id": msg_data_id}

    async def mass_sendall(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        clientmsgid = self._clientmsgid(data)
        content = self._mass_content(data)
        target = data.get("filter") or {}
        to_all = bool(target.get("is_to_all"))
        tag_id: Any = target.get("tag_id")  # untrusted JSON: int() below refuses anything else
        if not to_all:
            try:
                tag_id = int(tag_id)
            except (TypeError, ValueError):
                raise Failure(45159) from None
            if tag_id not in self.state.tags:
                raise Failure(45159)
        now = self.emu.ts()
        if self.config.account_type == "subscription":
            if self.state.pushes_today(now) >= self.config.mass_per_day:
                raise Failure(45028)
        elif to_all and self.state.to_all_this_month(now) >= self.config.mass_to_all_per_month:
            raise Failure(45028)
        return self._mass_submit(clientmsgid, content, to_all=to_all, tag_id=None if to_all else tag_id)

    async def mass_send(self, request: web.Request) -> dict[str, Any]:
        """To a list of 2–10,000 openids (service accounts). Listed openids that do not follow
        the account, or have had their four pushes this month, are filtered out."""
        self._service_only()
        data = await read_json(request)
        clientmsgid = self._clientmsgid(data)
        touser = data.get("touser")
        if not isinstance(touser, list) or not all(isinstance(o, str) for o in touser):
            raise Failure(47001)
        if len(touser) < 2:
            raise Failure(40130)
        if len(touser) > 10000:
            raise Failure(40032)
        if not all(OPENID.match(o) for o in touser):
            raise Failure(40003)
        content = self._mass_content(data)
        return self._mass_submit(clientmsgid, content, to_all=False, tag_id=None,
                                 openids=list(dict.fromkeys(touser)))

    async def mass_preview(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        touser = str(data.get("touser") or "")
        if not data.get("towxname"):
            follower = self.state.followers.get(touser)
            if follower is None or not follower.subscribed:
                raise Failure(43004)
        draft = self.state.drafts.get(str((data.get("mpnews") or {}).get("media_id") or ""))
        if data.get("msgtype") != "mpnews" or draft is None:
            raise Failure(40007)
        msg_id = self.state.next_id("mass", 1000000000)
        self.state.commit({"t": "mass", "msg_id": msg_id, "msg_data_id": 0, "media_id": "",
                           "articles": draft["articles"], "to_all": False, "tag_id": None,
                           "preview": True, "at": self.emu.ts()})
        self.emu.schedule_completion(f"mass:{msg_id}")
        return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}

    def _mass(self, msg_id: Any) -> Any:
        try:
            key = self.state.by_msg_id.get(int(msg_id))
        except (TypeError, ValueError):
            key = None
        if key is None:
            raise Failure(40007)
        return self.state.publications[key]

    async def mass_get(self, request: web.Request) -> dict[str, Any]:
        pub = self._mass((await read_json(request)).get("msg_id"))
        return {"msg_id": pub.msg_id, "msg_status": pub.mass_status}

    async def mass_delete(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        pub = self._mass(data.get("msg_id"))
        index = int(data.get("article_idx") or 0)
        if not 0 <= index <= len(pub.articles):
            raise Failure(47001)
        self.state.commit({"t": "mass_delete", "msg_id": pub.msg_id, "article_idx": index,
                           "at": self.emu.ts()})
        return ok()

    # ------------------------------------------------------------------ notifications
    def _template(self, template_id: Any) -> str:
        template_id = str(template_id or "")
        if not template_id or len(template_id) > 64:
            raise Failure(40036)
        if template_id not in self.config.template_ids:
            raise Failure(40037)
        return template_id

    def _follower(self, openid: Any) -> str:
        openid = str(openid or "")
        if not OPENID.match(openid):
            raise Failure(40003)
        follower = self.state.followers.get(openid)
        if follower is None or not follower.subscribed:
            raise Failure(43004)
        return openid

    async def template_send(self, request: web.Request) -> dict[str, Any]:
        self._service_only()
        body = await read_json(request)
        template_id = self._template(body.get("template_id"))
        openid = self._follower(body.get("touser"))
        data = template_values.check(body.get("data"))
        msgid = self.state.next_id("template", 2000000000)
        self.state.commit({"t": "template", "kind": "template", "msgid": msgid, "touser": openid,
                           "template_id": template_id, "url": body.get("url") or "",
                           "data": data, "at": self.emu.ts()})
        if self.config.template_events and self.config.callback_url:
            self.emu.post_later("TEMPLATESENDJOBFINISH", openid, msgid)
        return ok(msgid=msgid)

    async def bizsend(self, request: web.Request) -> dict[str, Any]:
        self._service_only()
        body = await read_json(request)
        template_id = self._template(body.get("template_id"))
        openid = self._follower(body.get("touser"))
        if openid in self.state.refusers:
            raise Failure(43101)
        data = template_values.check(body.get("data"))
        msgid = self.state.next_id("template", 2000000000)
        self.state.commit({"t": "template", "kind": "bizsend", "msgid": msgid, "touser": openid,
                           "template_id": template_id, "url": body.get("page") or "",
                           "data": data, "at": self.emu.ts()})
        return ok()

    # ------------------------------------------------------------------ users and tags
    @staticmethod
    def _page(openids: list[str], after: str, size: int) -> tuple[list[str], str]:
        start = 0
        if after:
            try:
                start = openids.index(after) + 1
            except ValueError:
                raise Failure(40003) from None
        page = openids[start:start + size]
        more = start + size < len(openids)
        return page, page[-1] if page and more else ""

    async def user_get(self, request: web.Request) -> dict[str, Any]:
        openids = [f.openid for f in self.state.active_followers()]
        page, next_openid = self._page(openids, request.query.get("next_openid", ""), 10000)
        body: dict[str, Any] = {"total": len(openids), "count": len(page), "next_openid": next_openid}
        if page:
            body["data"] = {"openid": page}
        return body

    async def tags_create(self, request: web.Request) -> dict[str, Any]:
        name = str(((await read_json(request)).get("tag") or {}).get("name") or "").strip()
        if not name:
            raise Failure(45157)
        if len(name) > 30:
            raise Failure(45158)
        if name in self.state.tags.values():
            raise Failure(45157)
        tag_id = self.state.next_id("tag", 99)
        self.state.commit({"t": "tag", "id": tag_id, "name": name})
        return {"tag": {"id": tag_id, "name": name}}

    async def tags_get(self, request: web.Request) -> dict[str, Any]:
        counts = {t: 0 for t in self.state.tags}
        for follower in self.state.active_followers():
            for t in follower.tags:
                counts[t] = counts.get(t, 0) + 1
        return {"tags": [{"id": t, "name": n, "count": counts[t]} for t, n in sorted(self.state.tags.items())]}

    async def _tagging(self, request: web.Request, add: bool) -> dict[str, Any]:
        data = await read_json(request)
        openids = data.get("openid_list") or []
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            raise Failure(40032)
        tag_id = data.get("tagid")
        if tag_id not in self.state.tags:
            raise Failure(45159)
        for openid in openids:
            if openid not in self.state.followers:
                raise Failure(40003)
        self.state.commit({"t": "tagging", "tag_id": tag_id, "openids": openids, "add": add})
        return ok()

    async def batchtagging(self, request: web.Request) -> dict[str, Any]:
        return await self._tagging(request, True)

    async def batchuntagging(self, request: web.Request) -> dict[str, Any]:
        return await self._tagging(request, False)

    async def tag_users(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        tag_id = data.get("tagid")
        if tag_id not in self.state.tags:
            raise Failure(45159)
        openids = [f.openid for f in self.state.active_followers() if tag_id in f.tags]
        page, next_openid = self._page(openids, str(data.get("next_openid") or ""), 10000)
        return {"count": len(page), "data": {"openid": page}, "next_openid": next_openid}

    async def tag_idlist(self, request: web.Request) -> dict[str, Any]:
        follower = self.state.followers.get(str((await read_json(request)).get("openid") or ""))
        if follower is None:
            raise Failure(40003)
        return {"tagid_list": sorted(follower.tags)}

    async def clear_quota(self, request: web.Request) -> dict[str, Any]:
        if (await read_json(request)).get("appid") != self.config.app_id:
            raise Failure(40013)
        self.state.calls.clear()
        return ok()
