"""Accounts: add, list, disable, enable, set a password, set roles, issue and list personal
API tokens. Administrators manage accounts; an account may set its own password and take its
own token; an auditor may read the list."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.ops import Role, Who, require
from content import accounts
from content.accounts import AccountView, IssuedToken, TokenView
from content.errors import InputError

if TYPE_CHECKING:
    from bot.service import Service


@dataclass(frozen=True)
class Added:
    account: AccountView
    password: str | None  # the generated password, shown once; None when one was given


@dataclass(frozen=True)
class PasswordSet:
    account: AccountView
    password: str | None  # the generated password, shown once; None when one was given


@dataclass(frozen=True)
class Tokens:
    login: str
    tokens: tuple[TokenView, ...]
    now: datetime


def _admin_or_self(who: Who, login: str, action: str) -> None:
    if who.login != login or who.disabled:
        require(who, Role.ADMIN, action=action)


async def add(svc: Service, who: Who, login: str, *, name: str, roles: tuple[Role, ...],
              department: str = "", password: str | None = None) -> Added:
    require(who, Role.ADMIN, action="新建账号")
    chosen = password if password is not None else accounts.new_password()
    acc = await svc.store.transaction(lambda s: accounts.add(
        s, login, name=name, roles=roles, department=department, password=chosen,
        actor=who.login, now=svc.clock.now()), what="add account")
    return Added(acc, None if password is not None else chosen)


async def listing(svc: Service, who: Who) -> tuple[AccountView, ...]:
    require(who, Role.ADMIN, Role.AUDITOR, action="查看账号列表")
    async with svc.store.sessions() as s:
        return tuple(await accounts.list_accounts(s))


async def disable(svc: Service, who: Who, login: str) -> AccountView:
    require(who, Role.ADMIN, action="停用账号")
    if login == who.login:
        raise InputError("不能停用自己正在使用的账号", field="登录名", fix="请另一位管理员操作")
    return await svc.store.transaction(lambda s: accounts.disable(
        s, login, actor=who.login, now=svc.clock.now()), what="disable account")


async def enable(svc: Service, who: Who, login: str) -> AccountView:
    require(who, Role.ADMIN, action="启用账号")
    return await svc.store.transaction(lambda s: accounts.enable(
        s, login, actor=who.login, now=svc.clock.now()), what="enable account")


async def passwd(svc: Service, who: Who, login: str, password: str | None = None) -> PasswordSet:
    _admin_or_self(who, login, "修改他人的密码")
    chosen = password if password is not None else accounts.new_password()
    acc = await svc.store.transaction(lambda s: accounts.set_password(
        s, login, chosen, actor=who.login, now=svc.clock.now()), what="set password")
    return PasswordSet(acc, None if password is not None else chosen)


async def roles(svc: Service, who: Who, login: str, new_roles: tuple[Role, ...]) -> AccountView:
    require(who, Role.ADMIN, action="修改角色")
    return await svc.store.transaction(lambda s: accounts.set_roles(
        s, login, new_roles, actor=who.login, now=svc.clock.now()), what="set roles")


async def token(svc: Service, who: Who, login: str, *, days: int = accounts.TOKEN_DAYS) -> IssuedToken:
    _admin_or_self(who, login, "为他人签发令牌")
    return await svc.store.transaction(lambda s: accounts.issue_token(
        s, login, actor=who.login, now=svc.clock.now(), days=days), what="issue token")


async def tokens(svc: Service, who: Who, login: str) -> Tokens:
    if who.login != login:
        require(who, Role.ADMIN, Role.AUDITOR, action="查看他人的令牌")
    async with svc.store.sessions() as s:
        return Tokens(login, tuple(await accounts.tokens_of(s, login)), svc.clock.now())


async def login(svc: Service, login: str, password: str) -> IssuedToken:
    """Sign in with a password: a new personal token for that account (no acting account yet)."""
    async def txn(s):  # noqa: ANN001, ANN202
        acc = await accounts.check_password(s, login, password)
        return await accounts.issue_token(s, acc.login, actor=acc.login, now=svc.clock.now())

    return await svc.store.transaction(txn, what="login")
