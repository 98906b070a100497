"""Who is calling: the account a personal API token proves (``Authorization: Bearer gk_…``),
checked against the store (hashed, expiring, the account not disabled). The token carries no
rights of its own: the account's roles decide, in the ops functions."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from content import accounts
from content.errors import GongkaiError

if TYPE_CHECKING:
    from bot.service import Service

MISSING = "缺少个人令牌（修正：在请求头加 Authorization: Bearer gk_…；令牌由管理员用 gongkai user token 登录名 签发）"


class Unauthenticated(Exception):
    """No token, or one the store does not accept; ``str()`` is the Chinese message."""


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(MISSING)
    secret = secret.strip()
    if not secret.startswith(accounts.TOKEN_PREFIX) or len(secret) > 200:
        raise Unauthenticated(accounts.BAD_TOKEN + "（修正：令牌以 gk_ 开头，由 gongkai user token 签发）")
    return secret


async def account(request: web.Request, svc: Service) -> accounts.AccountView:
    secret = bearer(request)
    try:
        async with svc.store.sessions() as session:
            return await accounts.by_token(session, secret, now=svc.clock.now())
    except GongkaiError as exc:
        raise Unauthenticated(exc.message + (f"（{exc.fix}）" if exc.fix else "")) from None
