"""Messages the emulated platform posts to the account's server (the bot's callback URL): job
results (PUBLISHJOBFINISH, MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH) and what followers do
(subscribe, unsubscribe, text). Signed, and encrypted in safe mode, as WeChat does it."""
from __future__ import annotations

import asyncio
import logging
import random
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from channels.sandbox.wechat.config import EmulatorConfig
from channels.sandbox.wechat.crypto import CryptoError, MessageCrypt, sha1_signature

log = logging.getLogger("gongkai.sandbox.wechat")


def cdata(text: str) -> str:
    return "<![CDATA[" + str(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message(config: EmulatorConfig, from_user: str, ts: int, body: str) -> str:
    return (f"<xml><ToUserName>{cdata(config.original_id)}</ToUserName>"
            f"<FromUserName>{cdata(from_user)}</FromUserName><CreateTime>{ts}</CreateTime>{body}</xml>")


def publish_finished(pub: Any, urls: list[str]) -> str:
    detail = ""
    if pub.status == 0:
        items = "".join(f"<item><idx>{i}</idx><article_url>{cdata(u)}</article_url></item>"
                        for i, u in enumerate(urls, 1))
        detail = f"<article_detail><count>{len(urls)}</count>{items}</article_detail>"
    fails = "".join(f"<fail_idx>{i}</fail_idx>" for i in pub.fail_idx) if pub.status != 0 else ""
    return (f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('PUBLISHJOBFINISH')}</Event>"
            f"<PublishEventInfo><publish_id>{pub.key}</publish_id>"
            f"<publish_status>{pub.status}</publish_status>"
            f"<article_id>{cdata(pub.article_id)}</article_id>{detail}{fails}</PublishEventInfo>")


def mass_finished(pub: Any, urls: list[str]) -> str:
    items = "".join(f"<item><ArticleIdx>{i}</ArticleIdx><ArticleUrl>{cdata(u)}</ArticleUrl></item>"
                    for i, u in enumerate(urls, 1))
    ok = pub.mass_status == "SEND_SUCCESS"
    status = "send success" if ok else (pub.fail_reason or "send fail")
    total = pub.recipients + pub.filtered
    return (f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('MASSSENDJOBFINISH')}</Event>"
            f"<MsgID>{pub.msg_id}</MsgID><Status>{cdata(status)}</Status>"
            f"<TotalCount>{total}</TotalCount><FilterCount>{pub.recipients}</FilterCount>"
            f"<SentCount>{pub.recipients if ok else 0}</SentCount>"
            f"<ErrorCount>{0 if ok else pub.recipients}</ErrorCount>"
            f"<CopyrightCheckResult><Count>0</Count><ResultList></ResultList>"
            f"<CheckState>0</CheckState></CopyrightCheckResult>"
            f"<ArticleUrlResult><Count>{len(urls)}</Count><ResultList>{items}</ResultList>"
            f"</ArticleUrlResult>")


def template_finished(msgid: int, status: str) -> str:
    return (f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('TEMPLATESENDJOBFINISH')}</Event>"
            f"<MsgID>{msgid}</MsgID><Status>{cdata(status)}</Status>")


def follow_event(event: str) -> str:
    return f"<MsgType>{cdata('event')}</MsgType><Event>{cdata(event)}</Event><EventKey>{cdata('')}</EventKey>"


def text_message(content: str, msg_id: int) -> str:
    return f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId>"


@dataclass
class Posted:
    """One event posted to the account's server and what it answered."""

    at: float
    kind: str
    openid: str
    status: int  # HTTP status; 0 = not reachable
    reply: dict[str, Any] = field(default_factory=dict)  # the decrypted, parsed reply
    error: str = ""


class EventPoster:
    def __init__(self, config: EmulatorConfig, now: Callable[[], datetime]) -> None:
        self.config = config
        self.now = now
        self.crypt = (MessageCrypt(config.token, config.encoding_aes_key, config.app_id)
                      if config.encoding_aes_key else None)
        self.log: deque[Posted] = deque(maxlen=500)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        return self._session

    def sign(self, plain: str, openid: str) -> tuple[dict[str, str], str]:
        """Query parameters and body of one callback POST."""
        ts = str(int(self.now().timestamp()))
        nonce = str(random.randint(10**8, 10**10))
        params = {"signature": sha1_signature(self.config.token, ts, nonce), "timestamp": ts,
                  "nonce": nonce, "openid": openid}
        if self.crypt is None:
            return params, plain
        body, msg_signature = self.crypt.envelope(plain, ts, nonce, self.config.original_id)
        params.update(encrypt_type="aes", msg_signature=msg_signature)
        return params, body

    async def post(self, kind: str, openid: str, body: str, attempts: int = 3) -> Posted:
        """Post one message; like WeChat, try up to three times when the server does not answer."""
        ts = int(self.now().timestamp())
        plain = message(self.config, openid, ts, body)
        posted = Posted(ts, kind, openid, 0)
        if not self.config.callback_url:
            posted.error = "no callback URL configured"
            self.log.append(posted)
            return posted
        for attempt in range(attempts):
            params, payload = self.sign(plain, openid)
            try:
                async with self._http().post(self.config.callback_url, params=params,
                                             data=payload.encode("utf-8"),
                                             headers={"Content-Type": "text/xml; charset=utf-8"}) as resp:
                    text = await resp.text()
                    posted.status = resp.status
                    if resp.status == 200:
                        posted.reply = self.read_reply(text)
                        posted.error = ""
                        break
                    posted.error = text[:200]
            except (aiohttp.ClientError, TimeoutError) as exc:
                posted.error = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < attempts:
                await asyncio.sleep(0.2 * (attempt + 1))
        if posted.status != 200:
            log.warning("沙箱事件 %s 推送失败：%s %s", kind, posted.status, posted.error)
        self.log.append(posted)
        return posted

    def read_reply(self, text: str) -> dict[str, Any]:
        """The server's passive reply, decrypted and checked in safe mode."""
        text = text.strip()
        if not text or text == "success":
            return {}
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return {"error": "回复不是 XML", "raw": text[:200]}
        fields: dict[str, Any] = {child.tag: (child.text or "") for child in root}
        if "Encrypt" in fields:
            if self.crypt is None:
                return {"error": "明文模式下收到了加密回复"}
            expected = self.crypt.msg_signature(fields.get("TimeStamp", ""), fields.get("Nonce", ""),
                                                fields["Encrypt"])
            if expected != fields.get("MsgSignature"):
                return {"error": "回复的 MsgSignature 不正确"}
            try:
                inner = self.crypt.decrypt(fields["Encrypt"])
            except CryptoError as exc:
                return {"error": f"回复无法解密：{exc}"}
            root = ET.fromstring(inner)
            fields = {child.tag: (child.text or "") for child in root}
            fields["_encrypted"] = "1"
        elif self.crypt is not None:
            fields["_warning"] = "安全模式下收到了明文回复"
        articles = root.find("Articles")
        if articles is not None:
            fields["Articles"] = [{c.tag: (c.text or "") for c in item} for item in articles]
        return fields
