"""The Weibo open API, emulated: an aiohttp application whose ``/api/`` mirrors
``https://api.weibo.com/`` (``/api/2/statuses/share.json``, ``/api/oauth2/access_token`` …) and
whose root shows the sandbox account's timeline.

It checks what Weibo checks: the access token (21332 unknown, 21327 expired), hourly limits per
address (10022), per user (10023) and per user for statuses/share (10024), the required ``rip``,
the text (20008 empty, 20012 over 140 字, ``#话题#`` refused, a link under the app's safe domain
required: 10017 "text not find domain!"), the picture (JPEG/GIF/PNG, 20005; under 5 MB, 20006)
and repeats (20019 the same text within the window, 20017 similar text within the window, 20111
the same text as the latest post). Links are replaced by t.cn-style short links, as Weibo does.
Errors carry ``error_code`` as a string for system errors (1xxxx, as in Weibo's documented
example) and as a number otherwise, so clients must accept both.
"""
from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from aiohttp import BodyPartReader, web

from channels.sandbox.weibo import counting, pages
from channels.sandbox.weibo.state import (
    Fault,
    SandboxConfig,
    SandboxState,
    StatusRecord,
)

BEIJING = ZoneInfo("Asia/Shanghai")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PICTURE_TYPES = ((b"\xff\xd8\xff", ".jpg", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
                 (b"GIF87a", ".gif", "image/gif"), (b"GIF89a", ".gif", "image/gif"))
OAUTH_NAMES = {21322: "redirect_uri_mismatch", 21323: "invalid_request", 21324: "invalid_client",
               21325: "invalid_grant", 21326: "unauthorized_client", 21327: "expired_token",
               21328: "unsupported_grant_type", 21329: "unsupported_response_type",
               21330: "access_denied", 21332: "invalid_access_token"}


class _Refused(Exception):
    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def weibo_time(when: datetime) -> str:
    """``Wed Oct 24 23:49:17 +0800 2012`` (Beijing time, English names whatever the locale)."""
    t = when.astimezone(BEIJING)
    return f"{DAYS[t.weekday()]} {MONTHS[t.month - 1]} {t.day:02d} {t:%H:%M:%S} +0800 {t.year}"


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class WeiboSandbox:
    def __init__(self, config: SandboxConfig, clock: Any = None) -> None:
        self.config = config
        self.state = SandboxState(config)
        self.clock = clock or _SystemClock()
        self._released: asyncio.Event | None = None

    def now(self) -> datetime:
        return self.clock.now()

    # ------------------------------------------------------------------- test and drill hooks
    def inject(self, endpoint: str, mode: str = "error", error_code: int = 0, hold: float = 30.0,
               times: int = 1, skip: int = 0) -> None:
        """Script ``times`` calls of ``endpoint`` ("share", "user_timeline") after ``skip`` normal ones."""
        self.state.faults.append(Fault(endpoint, mode, error_code, hold, times, skip))

    def release_held(self) -> None:
        """Let every held answer go at once (so a test ends without waiting)."""
        if self._released is not None:
            self._released.set()

    async def _hold(self, seconds: float) -> None:
        if self._released is None:
            self._released = asyncio.Event()
        try:
            await asyncio.wait_for(self._released.wait(), seconds)
        except TimeoutError:
            pass

    def timeline(self) -> list[StatusRecord]:
        """The account's posts, oldest first."""
        return list(self.state.statuses)

    # ---------------------------------------------------------------------------- the app
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=12 * 1024 * 1024)
        app.router.add_get("/", self.page)
        app.router.add_get("/pic/{name}", self.picture)
        app.router.add_post("/drill/expire-token", self.drill_expire)
        app.router.add_route("*", "/api/2/statuses/share.json", self.share)
        app.router.add_get("/api/2/statuses/user_timeline.json", self.user_timeline)
        app.router.add_get("/api/2/account/rate_limit_status.json", self.rate_limit_status)
        app.router.add_route("*", "/api/oauth2/authorize", self.authorize)
        app.router.add_get("/api/oauth2/default.html", self.default_page)
        app.router.add_post("/api/oauth2/access_token", self.access_token)
        app.router.add_post("/api/oauth2/get_token_info", self.token_info)
        app.router.add_post("/api/oauth2/revokeoauth2", self.revoke)
        app.router.add_route("*", "/api/{tail:.*}", self.not_found)
        return app

    # --------------------------------------------------------------------------- helpers
    @staticmethod
    def _api_path(request: web.Request) -> str:
        path = request.path
        return path[path.index("/api/") + 4:] if "/api/" in path else path

    @staticmethod
    def _root(request: web.Request) -> str:
        path = request.path
        return str(request.url.origin()) + (path[:path.index("/api/")] if "/api/" in path else "")

    def _error(self, request: web.Request, code: int, message: str, status: int = 400) -> web.Response:
        path = self._api_path(request)
        self.state.refuse(self.now(), path, code, message)
        body: dict[str, Any] = {"request": path, "error_code": str(code) if code < 20000 else code,
                                "error": message}
        if code in OAUTH_NAMES and path.startswith("/oauth2/"):
            body = {"error": OAUTH_NAMES[code], "error_code": code, "request": path,
                    "error_uri": path, "error_description": message}
        return web.json_response(body, status=status)

    async def _params(self, request: web.Request) -> tuple[dict[str, str], tuple[str, bytes] | None]:
        """Query, form or multipart parameters, and the ``pic`` part if any."""
        params = {k: v for k, v in request.query.items()}
        pic = None
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):  # a nested multipart: skipped
                    continue
                if part.name == "pic":
                    data = bytearray()
                    while chunk := await part.read_chunk(65536):
                        data += chunk
                        if len(data) > self.config.max_pic_bytes + 1:
                            raise _Refused(20006, "Image size too large.")
                    pic = (part.filename or "", bytes(data))
                elif part.name:
                    params[part.name] = await part.text()
        elif request.method == "POST":
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params, pic

    def _token(self, request: web.Request, params: dict[str, str]):
        token = params.get("access_token", "")
        header = request.headers.get("Authorization", "")
        if not token and header.startswith("OAuth2 "):
            token = header[7:].strip()
        if not token:
            raise _Refused(10006, "Source paramter (appkey) is missing", 403)
        record = self.state.tokens.get(token)
        if record is None or record.revoked:
            raise _Refused(21332, "invalid_access_token", 401)
        if record.expires_at <= self.now():
            raise _Refused(21327, "expired_token", 401)
        return record

    def _limit(self, request: web.Request, uid: str, api: str | None) -> None:
        now = self.now()
        cfg = self.config
        if self.state.hit("ip", request.remote or "?", now) > cfg.ip_per_hour:
            raise _Refused(10022, "IP requests out of rate limit", 403)
        if self.state.hit("user", uid, now) > cfg.user_per_hour:
            raise _Refused(10023, "User requests out of rate limit", 403)
        if api == "share" and self.state.hit("share", uid, now) > cfg.share_per_hour:
            raise _Refused(10024, "User requests for (statuses/share) out of rate limit", 403)

    def _status_json(self, request: web.Request, s: StatusRecord, trim_user: bool = False) -> dict[str, Any]:
        cfg = self.config
        user: dict[str, Any] = {"id": int(cfg.uid), "idstr": cfg.uid}
        if not trim_user:
            user.update({"screen_name": cfg.screen_name, "name": cfg.screen_name, "province": "11",
                         "city": "1000", "location": "北京", "description": "政务公开沙箱账号",
                         "verified": True, "followers_count": 0})
        body: dict[str, Any] = {
            "created_at": weibo_time(s.created_at), "id": s.id, "mid": s.idstr, "idstr": s.idstr,
            "text": s.text, "source": f'<a href="https://open.weibo.com" rel="nofollow">{cfg.app_name}</a>',
            "favorited": False, "truncated": False, "in_reply_to_status_id": "", "in_reply_to_user_id": "",
            "in_reply_to_screen_name": "", "geo": None, "reposts_count": 0, "comments_count": 0,
            "attitudes_count": 0, "user": user}
        if s.pic:
            url = f"{self._root(request)}/pic/{s.pic}"
            body.update({"thumbnail_pic": url, "bmiddle_pic": url, "original_pic": url,
                         "pic_urls": [{"thumbnail_pic": url}]})
        return body

    # ------------------------------------------------------------------------ statuses
    async def share(self, request: web.Request) -> web.StreamResponse:
        try:
            if request.method != "POST":
                raise _Refused(10021, "HTTP method is not suported for this request", 405)
            params, pic = await self._params(request)
            token = self._token(request, params)
            self._limit(request, token.uid, "share")
            fault = self.state.take_fault("share")
            if fault is not None and fault.mode == "error":
                raise _Refused(fault.error_code, f"injected error {fault.error_code}")
            if fault is not None and fault.mode == "stall":
                await self._hold(fault.hold)
                return web.Response(status=503, text="Service Unavailable")
            status = self._validate(params, pic)
            record = self._post(params, status, pic)
            if fault is not None and fault.mode == "lose_response":
                await self._hold(fault.hold)
            return web.json_response(self._status_json(request, record))
        except _Refused as refused:
            return self._error(request, refused.code, refused.message, refused.status)

    def _validate(self, params: dict[str, str], pic: tuple[str, bytes] | None) -> str:
        cfg = self.config
        rip = params.get("rip", "").strip()
        if not rip:
            raise _Refused(10016, "Miss required parameter (rip) , see doc for more info")
        try:
            ipaddress.ip_address(rip)
        except ValueError:
            raise _Refused(10017, f"Parameter (rip)'s value invalid, expect (ip address), but get ({rip})") from None
        if "status" not in params:
            raise _Refused(10016, "Miss required parameter (status) , see doc for more info")
        status = params["status"].strip()
        if not status:
            raise _Refused(20008, "Content is null!")
        if counting.has_topic(status):
            raise _Refused(10017, "Parameter (status)'s value invalid, expect (text without #topic#), but get (#...#)")
        chars = counting.weibo_chars(status)
        if chars > cfg.max_chars:
            raise _Refused(20012, f"Text too long, please input text less than {cfg.max_chars} characters!")
        if not any(counting.on_domains(u, cfg.safe_domains) for u in counting.urls(status)):
            raise _Refused(10017, "text not find domain!")
        if pic is not None:
            if not any(pic[1].startswith(magic) for magic, _, _ in PICTURE_TYPES):
                raise _Refused(20005, "Unsupported image type, only suport JPG, GIF, PNG!")
            if len(pic[1]) >= cfg.max_pic_bytes:
                raise _Refused(20006, "Image size too large.")
        now = self.now()
        mine = [s for s in self.state.statuses if s.app_key == cfg.app_key]
        recent = [s for s in mine if now - s.created_at < cfg.duplicate_window]
        if any(s.original == status for s in recent):
            raise _Refused(20019, "不要太贪心哦，发一次就够啦")
        shape = counting.skeleton(status)
        if shape and any(counting.skeleton(s.original) == shape for s in recent):
            raise _Refused(20017, "你刚刚已经发送过相似内容了哦，先休息一会吧")
        if mine and mine[-1].original == status:
            raise _Refused(20111, "不能发布相同的微博!")
        return status

    def _post(self, params: dict[str, str], status: str, pic: tuple[str, bytes] | None) -> StatusRecord:
        shown = status
        for url in counting.urls(status):
            if urlsplit(url).hostname != "t.cn":
                shown = shown.replace(url, self.state.shorten(url), 1)
        name = ""
        record = self.state.add_status(shown, status, params["rip"].strip(), "",
                                       counting.weibo_chars(status), self.now())
        if pic is not None:
            ext = next(e for magic, e, _ in PICTURE_TYPES if pic[1].startswith(magic))
            name = f"{record.idstr}{ext}"
            self.state.store_picture(name, pic[1])
            record.pic = name
            self.state.save()
        return record

    async def user_timeline(self, request: web.Request) -> web.Response:
        try:
            params = dict(request.query)
            token = self._token(request, params)
            self._limit(request, token.uid, None)
            fault = self.state.take_fault("user_timeline")
            if fault is not None and fault.mode == "error":
                raise _Refused(fault.error_code, f"injected error {fault.error_code}")
            try:
                count = min(max(int(params.get("count", "20")), 1), 100)
                page = max(int(params.get("page", "1")), 1)
                since = int(params.get("since_id", "0") or 0)
            except ValueError:
                raise _Refused(10017, "Parameter (count/page/since_id)'s value invalid, expect (int)") from None
            mine = [s for s in reversed(self.state.statuses) if s.app_key == token.app_key and s.id > since]
            chunk = mine[(page - 1) * count: page * count]
            trim = params.get("trim_user") == "1"
            return web.json_response({"statuses": [self._status_json(request, s, trim) for s in chunk],
                                      "total_number": len(mine), "previous_cursor": 0, "next_cursor": 0})
        except _Refused as refused:
            return self._error(request, refused.code, refused.message, refused.status)

    async def rate_limit_status(self, request: web.Request) -> web.Response:
        try:
            token = self._token(request, dict(request.query))
        except _Refused as refused:
            return self._error(request, refused.code, refused.message, refused.status)
        now = self.now()
        cfg = self.config
        reset = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        used = self.state.used
        return web.json_response({
            "ip_limit": cfg.ip_per_hour, "limit_time_unit": "HOURS",
            "remaining_ip_hits": max(cfg.ip_per_hour - used("ip", request.remote or "?", now), 0),
            "remaining_user_hits": max(cfg.user_per_hour - used("user", token.uid, now), 0),
            "reset_time": reset.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "reset_time_in_seconds": int((reset - now).total_seconds()),
            "user_limit": cfg.user_per_hour,
            "api_rate_limits": [{"api": "/statuses/share", "limit": cfg.share_per_hour, "limit_time_unit": "HOURS",
                                 "remaining_hits": max(cfg.share_per_hour - used("share", token.uid, now), 0)}]})

    async def not_found(self, request: web.Request) -> web.Response:
        return self._error(request, 10020, f"Request api not found! ({self._api_path(request)})", 404)

    # ----------------------------------------------------------------------------- oauth
    def _redirect_ok(self, request: web.Request, redirect_uri: str) -> bool:
        if redirect_uri in self.config.redirect_uris:
            return True
        parts = urlsplit(redirect_uri)
        return parts.netloc == request.host and parts.path.endswith("/oauth2/default.html")

    def _check_client(self, request: web.Request, params: dict[str, str]) -> str:
        if params.get("client_id") != self.config.app_key:
            raise _Refused(21324, "client_id 无效（invalid_client）")
        redirect = params.get("redirect_uri", "")
        if not redirect or not self._redirect_ok(request, redirect):
            raise _Refused(21322, "redirect_uri 与应用的授权回调页不一致（redirect_uri_mismatch）")
        if params.get("response_type", "code") != "code":
            raise _Refused(21329, "unsupported_response_type")
        return redirect

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        params, _ = await self._params(request)
        try:
            redirect = self._check_client(request, params)
        except _Refused as refused:
            self.state.refuse(self.now(), "/oauth2/authorize", refused.code, refused.message)
            return web.Response(text=pages.oauth_error(refused.code, OAUTH_NAMES.get(refused.code, ""), refused.message),
                                content_type="text/html", status=400)
        state = params.get("state", "")
        if request.method == "GET":
            return web.Response(text=pages.authorize(self.config, params, self.now()), content_type="text/html")
        sep = "&" if "?" in redirect else "?"
        if params.get("action") == "authorize":
            code = self.state.issue_code(redirect, self.now())
            query = {"code": code, **({"state": state} if state else {})}
        else:
            query = {"error": "access_denied", "error_code": "21330",
                     "error_description": "user denied", **({"state": state} if state else {})}
        raise web.HTTPFound(redirect + sep + urlencode(query))

    async def default_page(self, request: web.Request) -> web.Response:
        return web.Response(text=pages.default(request.query.get("code", ""), str(request.url)),
                            content_type="text/html")

    async def access_token(self, request: web.Request) -> web.Response:
        params, _ = await self._params(request)
        try:
            if params.get("client_id") != self.config.app_key or params.get("client_secret") != self.config.app_secret:
                raise _Refused(21324, "client_id 或 client_secret 无效", 401)
            if params.get("grant_type") != "authorization_code":
                raise _Refused(21328, f"不支持的 grant_type：{params.get('grant_type', '')}")
            record = self.state.codes.get(params.get("code", ""))
            now = self.now()
            if record is None or record.used or now - record.created_at > self.config.code_lifetime:
                raise _Refused(21325, "授权码无效、已使用或已过期（invalid authorization code）")
            if params.get("redirect_uri", "") != record.redirect_uri:
                raise _Refused(21322, "redirect_uri 与申请授权码时的不一致")
            record.used = True
            token = self.state.issue_token(now)
        except _Refused as refused:
            return self._error(request, refused.code, refused.message, refused.status)
        seconds = int((token.expires_at - token.created_at).total_seconds())
        return web.json_response({"access_token": token.token, "remind_in": str(seconds), "expires_in": seconds,
                                  "uid": token.uid, "isRealName": "true"})

    async def token_info(self, request: web.Request) -> web.Response:
        params, _ = await self._params(request)
        try:
            token = self._token(request, params)
        except _Refused as refused:
            return self._error(request, refused.code, refused.message, refused.status)
        return web.json_response({"uid": int(token.uid), "appkey": token.app_key, "scope": "",
                                  "create_at": int(token.created_at.timestamp()),
                                  "expire_in": int((token.expires_at - self.now()).total_seconds())})

    async def revoke(self, request: web.Request) -> web.Response:
        params, _ = await self._params(request)
        try:
            token = self._token(request, params)
        except _Refused as refused:
            return self._error(request, refused.code, refused.message, refused.status)
        token.revoked = True
        self.state.save()
        return web.json_response({"result": "true"})

    # ----------------------------------------------------------------------------- pages
    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=pages.timeline(self, self.now()), content_type="text/html")

    async def picture(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = self.state.load_picture(name) if "/" not in name else None
        if data is None:
            raise web.HTTPNotFound(text="图片不存在")
        mime = next((m for magic, _, m in PICTURE_TYPES if data.startswith(magic)), "application/octet-stream")
        return web.Response(body=data, content_type=mime)

    async def drill_expire(self, request: web.Request) -> web.StreamResponse:
        """Drill: make every current token expire now (the bot then pauses Weibo deliveries)."""
        n = self.state.expire_tokens(self.now())
        raise web.HTTPSeeOther(f"../?expired={n}")
