"""OAuth2 with Weibo: the authorize URL staff open, and the exchange of the returned code for an
access token (``POST /oauth2/access_token``). Weibo gives web apps no refresh token: when a token
expires, staff authorise again.

In sandbox mode the bot's emulator stands in for Weibo, and :meth:`OAuthClient.sandbox_grant`
walks the same flow unattended: it submits the emulator's authorize form (the sandbox account
needs no password), takes the code from the redirect and exchanges it like any other code.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from channels.weibo.api import Uncertain, Unreachable, WeiboApi
from channels.weibo.errors import WeiboError

OFFICIAL_BASE = "https://api.weibo.com"
#: Weibo's own landing page for apps without a web callback: the code appears in its address.
DEFAULT_REDIRECT = "https://api.weibo.com/oauth2/default.html"

OAUTH_FIXES = {
    21322: "redirect_uri 与微博应用“授权回调页”不一致：检查 [channels.weibo] redirect_uri",
    21323: "请求无效：重新运行 gongkai channel weibo authorize",
    21324: "app_key 或 app_secret 不对：检查 [channels.weibo] app_key 与 GONGKAI_CHANNELS__WEIBO__APP_SECRET",
    21325: "重新运行 gongkai channel weibo authorize 获取新的授权码；授权码只能用一次，约 10 分钟内有效",
    21326: "应用无权使用授权码方式：在微博开放平台检查应用设置",
    21328: "授权方式不受支持：请报告此问题",
    21330: "授权被拒绝：请用政务微博账号登录并点击“授权”",
}


class OAuthError(Exception):
    def __init__(self, message: str, fix: str = "", error: WeiboError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.error = error


@dataclass(frozen=True)
class Grant:
    access_token: str
    uid: str
    expires_in: int  # seconds


def code_from(pasted: str) -> tuple[str, str | None]:
    """The code (and the state, if present) from what staff paste: the code itself, or the whole
    address the browser landed on (``…?code=…&state=…``)."""
    text = pasted.strip()
    if "code=" in text or text.startswith(("http://", "https://")):
        query = parse_qs(urlsplit(text).query or text.split("?", 1)[-1])
        if query.get("error") or query.get("error_code"):
            code = query.get("error_code", ["21330"])[0]
            raise OAuthError(f"微博授权未完成：{query.get('error', ['access_denied'])[0]}（{code}）",
                             OAUTH_FIXES.get(int(code) if code.isdigit() else 21330, ""))
        codes = query.get("code") or []
        if not codes or not codes[0].strip():
            raise OAuthError("粘贴的地址中没有 code 参数",
                             "授权后浏览器地址栏中的地址形如 …?code=xxxx，复制整个地址或其中的 code")
        states = query.get("state")
        return codes[0].strip(), states[0] if states else None
    if not text or any(c.isspace() for c in text):
        raise OAuthError("授权码为空或格式不对", "复制浏览器地址栏中 code= 后面的内容，或整个地址")
    return text, None


class OAuthClient:
    def __init__(self, api: WeiboApi, app_key: str, app_secret: str, redirect_uri: str) -> None:
        self.api = api
        self.app_key = app_key
        self.app_secret = app_secret
        self.redirect_uri = redirect_uri

    def authorize_url(self, state: str) -> str:
        query = urlencode({"client_id": self.app_key, "redirect_uri": self.redirect_uri,
                           "response_type": "code", "state": state})
        return f"{self.api.base}/oauth2/authorize?{query}"

    async def exchange(self, code: str) -> Grant:
        try:
            reply = await self.api.call("POST", "/oauth2/access_token", data={
                "client_id": self.app_key, "client_secret": self.app_secret,
                "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri})
            data = WeiboApi.json(reply.status, reply.body)
        except Unreachable as exc:
            raise OAuthError(str(exc), "检查网络；沙箱模式下授权由 gongkai run 内置的模拟器完成，请先启动 gongkai run") from exc
        except Uncertain as exc:
            raise OAuthError(f"换取访问令牌时{exc}", "授权码可能已被使用：重新运行 gongkai channel weibo authorize") from exc
        if isinstance(data, WeiboError):
            raise OAuthError(f"换取访问令牌失败：{data.describe()}", OAUTH_FIXES.get(data.code, data.fix), data)
        token = str(data.get("access_token") or "")
        try:
            expires_in = int(str(data.get("expires_in") or data.get("remind_in") or "0"))
        except ValueError:
            expires_in = 0
        if not token or expires_in <= 0:
            raise OAuthError("微博的回答中没有访问令牌或有效期", "重新运行 gongkai channel weibo authorize")
        return Grant(token, str(data.get("uid") or ""), expires_in)

    async def token_info(self, token: str) -> dict | WeiboError:
        reply = await self.api.call("POST", "/oauth2/get_token_info", data={"access_token": token})
        return WeiboApi.json(reply.status, reply.body)

    async def sandbox_grant(self) -> Grant:
        """Authorise the sandbox account unattended (sandbox mode only)."""
        try:
            reply = await self.api.call("POST", "/oauth2/authorize", data={
                "client_id": self.app_key, "redirect_uri": self.redirect_uri, "response_type": "code",
                "state": "sandbox-auto", "action": "authorize"})
        except Unreachable as exc:
            raise OAuthError(str(exc), "沙箱模拟器由 gongkai run 提供：确认它在运行") from exc
        if reply.status not in (302, 303) or not reply.location:
            raise OAuthError(f"沙箱授权失败（HTTP {reply.status}）：{reply.body[:200].decode('utf-8', 'replace')}")
        code, _ = code_from(reply.location)
        return await self.exchange(code)
