"""The WeChat server callback (``/wechat/callback``): the URL check (GET, echostr), and messages
and events (POST) in plain and safe (AES) mode.

A request is accepted only when its signature (and, in safe mode, its msg_signature and the
appid inside the ciphertext) is right, its timestamp is within ``callback_max_skew_seconds``,
its nonce has not been seen (shared by every node through the store), its body is at most
``callback_max_bytes`` and holds no DTD or entity. Anything else gets 403 and changes nothing.

Events: subscribe/unsubscribe become subscriber records (and an audit entry each, which is what
the per-day counts are made of); PUBLISHJOBFINISH (also FREEPUBLISHJOBFINISH and the
MASSSENDJOBFINISH variant) and MASSSENDJOBFINISH settle the delivery; TEMPLATESENDJOBFINISH
records the follower's delivery report. Text messages get keyword replies; replies to an
encrypted message are encrypted (the keyword replies themselves are in ``channels.wechat.replies``)."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from channels.wechat.replies import Replies
from channels.wechat import events
from channels.wechat.models import WechatNonce
from content import audit, subscribers

log = logging.getLogger("gongkai.wechat.callback")
DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
PUBLISH_EVENTS = {"publishjobfinish", "freepublishjobfinish"}


class Rejected(Exception):
    """Why a request was refused (logged; the caller only sees 403)."""


class Replay(Rejected):
    pass


@dataclass
class Handled:
    reply: Any = None  # a wechatpy reply, or None for "success"
    wake: bool = False  # a delivery moved on: wake the runner


class WechatCallback:
    def __init__(self, service: Any, channel: Any) -> None:
        self.service = service
        self.channel = channel
        self.settings = channel.settings
        self.creds = channel.creds
        self.crypto = (WeChatCrypto(self.creds.token, self.creds.encoding_aes_key, self.creds.app_id)
                       if self.creds.encoding_aes_key else None)
        self.replies = Replies(self.settings, channel.ctx.site_url)

    # ------------------------------------------------------------------ HTTP
    async def get(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            self._check_time(q.get("timestamp", ""))
            self._check_signature(q)
        except Rejected as exc:
            return self._forbid(request, exc)
        return web.Response(text=q.get("echostr", ""), content_type="text/plain")

    async def post(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            body = await self._read(request)
            self._check_time(q.get("timestamp", ""))
            self._check_signature(q)
            encrypted = q.get("encrypt_type", "raw").lower() == "aes"
            xml = self._open(q, body, encrypted)
            message = parse_message(xml)
            if message is None:
                raise Rejected("empty message")
            if self.creds.original_id and message.target != self.creds.original_id:
                raise Rejected(f"addressed to {message.target}, not this account")
            outcome = await self.service.store.transaction(
                lambda s: self._handle(s, q, message), what="wechat callback")
        except Rejected as exc:
            return self._forbid(request, exc)
        if outcome.wake:
            self.service.wake()
        if outcome.reply is None:
            return web.Response(text="success", content_type="text/plain")
        xml_reply = outcome.reply.render()
        if encrypted:
            assert self.crypto is not None  # _open refused an encrypted message without it
            xml_reply = self.crypto.encrypt_message(xml_reply, q.get("nonce", ""),
                                                    str(int(self.service.clock.now().timestamp())))
        return web.Response(text=xml_reply, content_type="application/xml", charset="utf-8")

    @staticmethod
    def _forbid(request: web.Request, why: Exception) -> web.Response:
        log.warning("拒绝微信回调（来自 %s）：%s", request.remote, why)
        return web.Response(status=403, text="forbidden")

    # ------------------------------------------------------------------ checks
    async def _read(self, request: web.Request) -> bytes:
        limit = self.settings.callback_max_bytes
        if request.content_length is not None and request.content_length > limit:
            raise Rejected(f"body of {request.content_length} bytes (limit {limit})")
        data = bytearray()
        async for chunk in request.content.iter_chunked(8192):
            data.extend(chunk)
            if len(data) > limit:
                raise Rejected(f"body over {limit} bytes")
        return bytes(data)

    def _check_time(self, timestamp: str) -> None:
        if not timestamp.isdigit():
            raise Rejected("no timestamp")
        skew = abs(self.service.clock.now().timestamp() - int(timestamp))
        if skew > self.settings.callback_max_skew_seconds:
            raise Rejected(f"timestamp {int(skew)} s off")

    def _check_signature(self, q: Any) -> None:
        try:
            check_signature(self.creds.token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
        except InvalidSignatureException:
            raise Rejected("bad signature") from None

    def _open(self, q: Any, body: bytes, encrypted: bool) -> str:
        if DTD.search(body):
            raise Rejected("DTD or entity in the body")
        if not encrypted:
            if self.settings.message_mode == "safe":
                raise Rejected("plain message while the account is in safe mode")
            return body.decode("utf-8", "strict")
        if self.crypto is None:
            raise Rejected("encrypted message but no encoding_aes_key")
        try:
            xml = self.crypto.decrypt_message(body.decode("utf-8"), q.get("msg_signature", ""),
                                              q.get("timestamp", ""), q.get("nonce", ""))
        except InvalidSignatureException:
            raise Rejected("bad msg_signature") from None
        except InvalidAppIdException:
            raise Rejected("encrypted for another appid") from None
        except Exception as exc:  # noqa: BLE001 - bad base64, bad padding, bad XML: all forged
            raise Rejected(f"cannot decrypt ({type(exc).__name__})") from None
        if DTD.search(xml.encode("utf-8")):
            raise Rejected("DTD or entity in the decrypted message")
        return xml

    async def _remember_nonce(self, session: Any, q: Any) -> None:
        now = self.service.clock.now()
        insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
        result = await session.execute(insert(WechatNonce).values(
            key=f"{q.get('timestamp')}:{q.get('nonce', '')}"[:100], seen_at=now)
            .on_conflict_do_nothing(index_elements=["key"]))
        if result.rowcount != 1:
            raise Replay("nonce already used (replay)")
        window = timedelta(seconds=2 * self.settings.callback_max_skew_seconds)
        await session.execute(delete(WechatNonce).where(WechatNonce.seen_at < now - window))

    # ------------------------------------------------------------------ dispatch
    async def _handle(self, session: Any, q: Any, message: Any) -> Handled:
        await self._remember_nonce(session, q)
        now = self.service.clock.now()
        data = getattr(message, "_data", {}) or {}
        kind = message.type
        event = str(data.get("Event", "")).lower() if kind in ("event", "unknown") else ""
        if kind == "event" and event in ("subscribe", "subscribe_scan"):
            return await self._followed(session, message.source, now, message)
        if kind == "event" and event == "unsubscribe":
            sub = await subscribers.set_status(session, "wechat", message.source, "unsubscribed", now=now)
            audit.record(session, at=now, actor=f"wechat:{message.source}", action="wechat_unfollow",
                         known=sub is not None)
            return Handled()
        if event in PUBLISH_EVENTS or (event == "masssendjobfinish" and "PublishEventInfo" in data):
            settled = await events.publish_finished(session, data.get("PublishEventInfo") or {},
                                                    notify_enabled=self._notify_enabled(), now=now)
            return await self._settle(session, settled, now)
        if event == "masssendjobfinish":
            urls = [str(i.get("ArticleUrl", "")) for i in self._items(data.get("ArticleUrlResult"))]
            settled = await events.mass_finished(session, str(data.get("MsgID", "")), str(data.get("Status", "")),
                                                 urls, notify_enabled=self._notify_enabled(), now=now)
            return await self._settle(session, settled, now)
        if event == "templatesendjobfinish":
            await events.template_finished(session, str(data.get("MsgID", "")), message.source,
                                           str(data.get("Status", "")), now)
            return Handled()
        if kind == "text":
            return Handled(await self.replies.text(session, message, now))
        if kind in ("image", "voice", "video", "shortvideo", "location", "link"):
            return Handled(TextReply(message=message, content=self.settings.default_reply))
        return Handled()

    def _notify_enabled(self) -> bool:
        return self.settings.notify != "off" and bool(self.creds.template_id)

    @staticmethod
    def _items(result: Any) -> list[dict]:
        listing = ((result or {}).get("ResultList") or {}).get("item") if isinstance(result, dict) else None
        if listing is None:
            return []
        return listing if isinstance(listing, list) else [listing]

    async def _settle(self, session: Any, settled: events.Settlement | None, now: Any) -> Handled:
        if settled is None:
            return Handled()
        if settled.result is not None:
            await self.service.settle(session, settled.delivery_id, settled.result, now=now,
                                      source="wechat-callback")
        return Handled(wake=True)

    async def _followed(self, session: Any, openid: str, now: Any, message: Any) -> Handled:
        existing = await subscribers.get(session, "wechat", openid)
        await subscribers.upsert(session, "wechat", openid, now=now, status="active",
                                 topics=None if existing else [], source="wechat_follow",
                                 consent_method="wechat_follow", consent_from="wechat")
        audit.record(session, at=now, actor=f"wechat:{openid}", action="wechat_follow",
                     again=existing is not None)
        return Handled(TextReply(message=message, content=self.settings.welcome_reply))


def install(app: web.Application, service: Any) -> None:
    """Add ``/wechat/callback`` when the WeChat channel is enabled."""
    channel = service.channels.get("wechat")
    if channel is None:
        return
    handler = WechatCallback(service, channel)
    app.router.add_get("/wechat/callback", handler.get)
    app.router.add_post("/wechat/callback", handler.post)
