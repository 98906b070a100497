"""Our own aiohttp client for the official-account API (wechatpy has no asyncio client).

Every call takes the shared access token; on 40001, 40014 or 42001 it refreshes the token once
and repeats the call once — never more, whatever the platform answers. Other error codes raise
:class:`WechatError`; a call without a usable answer raises :class:`WechatTransportError`.
Bodies are UTF-8 JSON without ``\\uXXXX`` escapes (the draft API garbles them). The token is
in the query string, so no URL ever appears in a message."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from channels.wechat.credentials import Credentials
from channels.wechat.errors import TOKEN_ERRORS, WechatError, WechatTransportError
from channels.wechat.tokens import TokenStore
from content.clock import Clock
from content.db import Store

OFFICIAL_BASE = "https://api.weixin.qq.com"


class WechatApi:
    def __init__(self, base_url: str, creds: Credentials, store: Store, clock: Clock, *,
                 token_api: str = "stable", timeout: float = 15.0, margin_seconds: int = 300,
                 connections: int = 100) -> None:
        self.base = base_url.rstrip("/") + "/cgi-bin/"
        self.creds = creds
        self.token_api = token_api
        self.timeout = timeout
        self.connections = connections
        self.tokens = TokenStore(store, clock, creds.app_id, self._fetch_token,
                                 margin_seconds=margin_seconds)
        self.calls: Counter[str] = Counter()
        self._http: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=self.connections))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # ------------------------------------------------------------------ plumbing
    async def _fetch_token(self, force: bool) -> tuple[str, int]:
        if self.token_api == "stable":
            body = await self._send("POST", "stable_token", json_body={
                "grant_type": "client_credential", "appid": self.creds.app_id,
                "secret": self.creds.app_secret, "force_refresh": force})
        else:
            body = await self._send("GET", "token", params={
                "grant_type": "client_credential", "appid": self.creds.app_id,
                "secret": self.creds.app_secret})
        endpoint = "stable_token" if self.token_api == "stable" else "token"
        if int(body.get("errcode", 0) or 0):
            raise WechatError(int(body["errcode"]), str(body.get("errmsg", "")), endpoint, body)
        if not body.get("access_token"):
            raise WechatTransportError(endpoint, "未收到 access_token", reached=True)
        return str(body["access_token"]), int(body.get("expires_in") or 7200)

    async def _send(self, method: str, endpoint: str, *, token: str | None = None,
                    params: dict[str, Any] | None = None, json_body: Any = None,
                    form: Callable[[], aiohttp.FormData] | None = None) -> dict[str, Any]:
        if self._http is None:
            await self.open()
        assert self._http is not None
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        kwargs: dict[str, Any] = {"params": query}
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            kwargs["headers"] = {"Content-Type": "application/json; charset=utf-8"}
        elif form is not None:
            kwargs["data"] = form()
        self.calls[endpoint] += 1
        try:
            async with self._http.request(method, self.base + endpoint, **kwargs) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise WechatTransportError(endpoint, f"收到 HTTP {resp.status}",
                                               reached=resp.status >= 500)
        except aiohttp.ClientConnectorError as exc:
            raise WechatTransportError(endpoint, f"无法连接（{exc.os_error or exc}）", reached=False) from None
        except TimeoutError:
            raise WechatTransportError(endpoint, f"{self.timeout:.0f} 秒内未得到回应", reached=True) from None
        except aiohttp.ClientError as exc:
            raise WechatTransportError(endpoint, f"连接中断（{type(exc).__name__}）", reached=True) from None
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise WechatTransportError(endpoint, "收到的回应不是 JSON", reached=True) from None
        if not isinstance(body, dict):
            raise WechatTransportError(endpoint, "收到的回应格式不对", reached=True)
        return body

    async def call(self, endpoint: str, *, method: str = "POST", params: dict[str, Any] | None = None,
                   json_body: Any = None, form: Callable[[], aiohttp.FormData] | None = None) -> dict[str, Any]:
        """One API call with the shared token; one refresh-and-retry on a rejected token."""
        token = await self.tokens.get()
        body = await self._send(method, endpoint, token=token, params=params, json_body=json_body, form=form)
        code = int(body.get("errcode", 0) or 0)
        if code in TOKEN_ERRORS:
            token = await self.tokens.refresh(token)
            body = await self._send(method, endpoint, token=token, params=params,
                                    json_body=json_body, form=form)
            code = int(body.get("errcode", 0) or 0)
        if code:
            raise WechatError(code, str(body.get("errmsg", "")), endpoint, body)
        return body

    # ------------------------------------------------------------------ endpoints
    @staticmethod
    def _file(data: bytes, filename: str, mime: str) -> Callable[[], aiohttp.FormData]:
        def build() -> aiohttp.FormData:
            form = aiohttp.FormData()
            form.add_field("media", data, filename=filename, content_type=mime)
            return form

        return build

    async def upload_image(self, data: bytes, filename: str, mime: str) -> str:
        body = await self.call("media/uploadimg", form=self._file(data, filename, mime))
        return str(body["url"])

    async def add_thumb(self, data: bytes) -> str:
        body = await self.call("material/add_material", params={"type": "thumb"},
                               form=self._file(data, "cover.jpg", "image/jpeg"))
        return str(body.get("media_id") or body.get("thumb_media_id"))

    async def draft_add(self, articles: list[dict[str, Any]]) -> str:
        return str((await self.call("draft/add", json_body={"articles": articles}))["media_id"])

    async def draft_exists(self, media_id: str) -> bool:
        try:
            await self.call("draft/get", json_body={"media_id": media_id})
        except WechatError as exc:
            if exc.code == 40007:
                return False
            raise
        return True

    async def publish_submit(self, media_id: str) -> str:
        return str((await self.call("freepublish/submit", json_body={"media_id": media_id}))["publish_id"])

    async def publish_get(self, publish_id: str) -> dict[str, Any]:
        return await self.call("freepublish/get", json_body={"publish_id": publish_id})

    async def publish_delete(self, article_id: str, index: int) -> None:
        await self.call("freepublish/delete", json_body={"article_id": article_id, "index": index})

    async def publish_batchget(self, offset: int, count: int = 20) -> dict[str, Any]:
        return await self.call("freepublish/batchget",
                               json_body={"offset": offset, "count": count, "no_content": 1})

    async def mass_sendall(self, media_id: str, *, to_all: bool, tag_id: int | None,
                           clientmsgid: str) -> dict[str, Any]:
        return await self.call("message/mass/sendall", json_body={
            "filter": {"is_to_all": to_all, **({} if to_all else {"tag_id": tag_id})},
            "mpnews": {"media_id": media_id}, "msgtype": "mpnews", "send_ignore_reprint": 0,
            "clientmsgid": clientmsgid})

    async def mass_send(self, media_id: str, openids: list[str], *, clientmsgid: str) -> dict[str, Any]:
        """To an openid list (2–10,000; service accounts)."""
        return await self.call("message/mass/send", json_body={
            "touser": openids, "mpnews": {"media_id": media_id}, "msgtype": "mpnews",
            "send_ignore_reprint": 0, "clientmsgid": clientmsgid})

    async def mass_preview(self, media_id: str, openid: str) -> dict[str, Any]:
        return await self.call("message/mass/preview", json_body={
            "touser": openid, "mpnews": {"media_id": media_id}, "msgtype": "mpnews"})

    async def mass_get(self, msg_id: str) -> dict[str, Any]:
        return await self.call("message/mass/get", json_body={"msg_id": int(msg_id)})

    async def mass_delete(self, msg_id: str, article_idx: int) -> None:
        await self.call("message/mass/delete", json_body={"msg_id": int(msg_id), "article_idx": article_idx})

    async def template_send(self, openid: str, template_id: str, data: dict[str, Any], url: str) -> str:
        body = await self.call("message/template/send", json_body={
            "touser": openid, "template_id": template_id, "url": url, "data": data})
        return str(body.get("msgid", ""))

    async def bizsend(self, openid: str, template_id: str, data: dict[str, Any], page: str) -> str:
        body = await self.call("message/subscribe/bizsend", json_body={
            "touser": openid, "template_id": template_id, "page": page, "data": data})
        return str(body.get("msgid", ""))

    async def user_get(self, next_openid: str = "") -> dict[str, Any]:
        return await self.call("user/get", method="GET",
                               params={"next_openid": next_openid} if next_openid else None)

    async def tags(self) -> list[dict[str, Any]]:
        return list((await self.call("tags/get", method="GET")).get("tags", []))
