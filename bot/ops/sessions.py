"""Signing in to the console and out again: the password check (argon2, content.accounts), the
throttle per login name and per address, the server-side session, and the audit of each."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from content import accounts, audit, sessions
from content.accounts import AccountView
from content.errors import GongkaiError, InputError

if TYPE_CHECKING:
    from bot.service import Service


class LoginRefused(GongkaiError):
    """A failed sign-in: one message whether or not the account exists."""

    default_code = "login_failed"


class LoginThrottled(GongkaiError):
    default_code = "login_throttled"


@dataclass(frozen=True)
class SignedIn:
    account: AccountView
    secret: str  # for the cookie only; the store keeps its hash


def expiry(svc: Service) -> sessions.Expiry:
    cfg = svc.settings.console
    return sessions.Expiry(timedelta(minutes=cfg.idle_minutes), timedelta(hours=cfg.absolute_hours))


async def login(svc: Service, login_name: str, password: str, *, address: str) -> SignedIn:
    """Check the password and open a session; every attempt is recorded and audited. Raises
    :class:`LoginThrottled` after too many failures (without checking the password) or
    :class:`LoginRefused` (the same message for any other failure)."""
    cfg = svc.settings.console
    login_name = login_name.strip()[:100]
    now = svc.clock.now()

    async with svc.store.sessions() as s:
        wait = await sessions.wait_needed(s, login=login_name, address=address, now=now,
                                          max_failures=cfg.max_failures,
                                          window=timedelta(minutes=cfg.lock_minutes))
        account: AccountView | None = None
        if wait is None:
            try:
                account = await accounts.check_password(s, login_name, password)
            except GongkaiError:
                account = None

    async def record(s):  # noqa: ANN001, ANN202
        ok = account is not None
        await sessions.record_attempt(s, login=login_name, address=address, ok=ok, now=now)
        if account is None:
            audit.record(s, at=now, actor=login_name or "-", action="console_login_failed",
                         reason="throttled" if wait is not None else "bad_credentials", address=address)
            return None
        audit.record(s, at=now, actor=account.login, action="console_login", address=address)
        return await sessions.open_session(s, account, address=address, now=now)

    secret = await svc.store.transaction(record, what="console sign-in")
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        raise LoginThrottled(f"登录失败次数过多，请 {minutes} 分钟后再试",
                             fix="忘记密码请联系管理员重设")
    if secret is None or account is None:
        raise LoginRefused(accounts.BAD_LOGIN, fix="检查登录名与密码；忘记密码请联系管理员重设")
    return SignedIn(account, secret)


async def current(svc: Service, secret: str) -> sessions.Current | None:
    """The signed-in session a cookie carries (touched as seen), or None."""
    if not secret:
        return None
    return await svc.store.transaction(
        lambda s: sessions.current(s, secret, expiry=expiry(svc), now=svc.clock.now()), what="console session")


async def logout(svc: Service, who: AccountView, secret: str, *, address: str) -> None:
    now = svc.clock.now()

    async def txn(s):  # noqa: ANN001, ANN202
        if await sessions.close(s, secret, now=now):
            audit.record(s, at=now, actor=who.login, action="console_logout", address=address)

    await svc.store.transaction(txn, what="console sign-out")


async def flash(svc: Service, session_id: int, kind: str, text: str) -> None:
    await svc.store.transaction(lambda s: sessions.push_flash(s, session_id, kind, text), what="flash")


async def take_flash(svc: Service, session_id: int) -> list[tuple[str, str]]:
    return await svc.store.transaction(lambda s: sessions.pop_flash(s, session_id), what="flash")


async def change_own_password(svc: Service, who: AccountView, current_password: str, new_password: str,
                              *, keep_session: int | None) -> AccountView:
    """The signed-in person changes their own password (``ops.users.passwd``) after proving the
    current one; every other session of the account ends."""
    from bot.ops import users

    if new_password != new_password.strip() or not new_password:
        raise InputError("新密码不能以空格开头或结尾", field="new_password", fix="去掉首尾空格")
    async with svc.store.sessions() as s:
        try:
            await accounts.check_password(s, who.login, current_password)
        except GongkaiError:
            raise InputError("当前密码不正确", field="current_password", fix="输入您现在使用的密码") from None
    changed = await users.passwd(svc, who, who.login, new_password)
    await svc.store.transaction(lambda s: sessions.close_all(s, who.login, now=svc.clock.now(), keep=keep_session),
                                what="end other sessions")
    return changed.account
