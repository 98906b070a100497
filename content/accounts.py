"""Staff accounts, roles, passwords and personal API tokens: the functions the command line
(and later the console and the HTTP API) call. Passwords are kept only as argon2id hashes,
tokens only as the SHA-256 of their secret; every change is audited under the acting account."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content import audit
from content.errors import GongkaiError, InputError, NotFound
from content.models import Account, ApiToken


class Role(str, Enum):
    AUTHOR = "author"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    ADMIN = "admin"
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.AUTHOR: "撰稿", Role.REVIEWER: "保密审查", Role.APPROVER: "审核签发",
               Role.ADMIN: "管理员", Role.AUDITOR: "只读"}
DEMO_ROLES = (Role.AUTHOR, Role.REVIEWER, Role.APPROVER)
TOKEN_DAYS = 90
TOKEN_PREFIX = "gk_"
FIRST_ADMIN = "admin"
LOGIN_RE = re.compile(r"^\w[\w.-]{0,63}$")
# one message for every failed sign-in: it never tells whether the account exists
BAD_LOGIN = "登录名或密码不正确，或账号已停用"
BAD_TOKEN = "令牌无效、已过期或账号已停用"

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class AccountView:
    login: str
    name: str
    department: str
    roles: tuple[Role, ...]
    disabled: bool
    has_password: bool

    @classmethod
    def of(cls, acc: Account) -> AccountView:
        return cls(acc.login, acc.name, acc.department, tuple(Role(r) for r in acc.roles),
                   acc.disabled, acc.password_hash is not None)

    def has(self, role: Role) -> bool:
        return role in self.roles

    def as_json(self) -> dict:
        return {"login": self.login, "name": self.name, "department": self.department,
                "roles": [r.value for r in self.roles], "disabled": self.disabled}


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is shown once and never stored."""
    id: int
    login: str
    secret: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenView:
    id: int
    created_at: datetime
    expires_at: datetime
    created_by: str


def parse_roles(text: str) -> tuple[Role, ...]:
    """``author,reviewer`` → roles; an unknown id is refused naming the known ones."""
    found: list[Role] = []
    for part in (p.strip() for p in text.replace("，", ",").split(",")):
        if not part:
            continue
        try:
            found.append(Role(part))
        except ValueError:
            raise InputError(f"未知角色 {part}", field="--role",
                             fix="可用角色：" + "、".join(f"{r.value}（{r.label}）" for r in Role)) from None
    if not found:
        raise InputError("至少需要一个角色", field="--role",
                         fix="如 --role author,reviewer；可用：" + "、".join(r.value for r in Role))
    return tuple(dict.fromkeys(found))


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InputError("密码太短（至少 8 个字符）", field="--password-stdin", fix="换一个更长的密码")
    return _hasher.hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _get(session: AsyncSession, login: str) -> Account:
    acc = await session.scalar(select(Account).where(Account.login == login))
    if acc is None:
        raise NotFound(f"没有账号 {login}", fix="用 gongkai user list 查看账号")
    return acc


async def find(session: AsyncSession, login: str) -> AccountView | None:
    acc = await session.scalar(select(Account).where(Account.login == login))
    return AccountView.of(acc) if acc is not None else None


async def list_accounts(session: AsyncSession) -> list[AccountView]:
    return [AccountView.of(a) for a in await session.scalars(select(Account).order_by(Account.login))]


async def add(session: AsyncSession, login: str, *, name: str, roles: tuple[Role, ...],
              department: str = "", password: str | None, actor: str, now: datetime) -> AccountView:
    if not LOGIN_RE.match(login):
        raise InputError(f"登录名 {login} 不合格", field="LOGIN",
                         fix="用汉字、字母、数字、点、下划线或连字符，不以点或连字符开头，最多 64 个字符")
    if not name.strip():
        raise InputError("显示名不能为空", field="--name", fix="加 --name 显示名")
    if await session.scalar(select(Account.id).where(Account.login == login)) is not None:
        raise InputError(f"账号 {login} 已存在", field="LOGIN", fix="换一个登录名，或用 gongkai user roles 修改角色")
    acc = Account(login=login, name=name.strip(), department=department.strip(),
                  roles=[r.value for r in roles], disabled=False, created_at=now,
                  password_hash=hash_password(password) if password is not None else None)
    session.add(acc)
    await session.flush()
    audit.record(session, at=now, actor=actor, action="account_added", login=login,
                 roles=acc.roles, department=acc.department)
    return AccountView.of(acc)


async def ensure_demo(session: AsyncSession, login: str, *, now: datetime) -> AccountView:
    """Demo mode: the account named by ``--as``, made with the author, reviewer and approver
    roles when it does not exist yet (``admin`` is made an administrator, as the first start
    would make it). A disabled account is refused."""
    acc = await session.scalar(select(Account).where(Account.login == login))
    if acc is None:  # not audited: the events it then acts in name it
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        # another command may make it at the same moment: then that one is used
        await session.execute(insert(Account).values(
            login=login, name=login, department="", disabled=False,
            roles=[Role.ADMIN.value] if login == FIRST_ADMIN else [r.value for r in DEMO_ROLES],
            created_at=now, password_hash=None).on_conflict_do_nothing(index_elements=["login"]))
        acc = await session.scalar(select(Account).where(Account.login == login))
    if acc is None:
        raise GongkaiError(f"账号 {login} 无法创建", fix="稍后重试")
    if acc.disabled:
        raise GongkaiError(f"账号 {login} 已停用", fix="请管理员用 gongkai user enable 重新启用，或换一个账号操作",
                           code="account_disabled")
    return AccountView.of(acc)


async def ensure_first_admin(session: AsyncSession, *, now: datetime) -> str | None:
    """First start: when no account holds the admin role, make ``admin`` with a random password
    and return that password (shown once, stored only hashed); None when there is one already."""
    for roles in await session.scalars(select(Account.roles)):
        if Role.ADMIN.value in roles:
            return None
    if await session.scalar(select(Account.id).where(Account.login == FIRST_ADMIN)) is not None:
        return None
    password = new_password()
    await add(session, FIRST_ADMIN, name="管理员", roles=(Role.ADMIN,), password=password,
              actor="gongkai", now=now)
    return password


async def disable(session: AsyncSession, login: str, *, actor: str, now: datetime) -> AccountView:
    acc = await _get(session, login)
    if not acc.disabled:
        acc.disabled = True
        audit.record(session, at=now, actor=actor, action="account_disabled", login=login)
    return AccountView.of(acc)


async def enable(session: AsyncSession, login: str, *, actor: str, now: datetime) -> AccountView:
    acc = await _get(session, login)
    if acc.disabled:
        acc.disabled = False
        audit.record(session, at=now, actor=actor, action="account_enabled", login=login)
    return AccountView.of(acc)


async def set_password(session: AsyncSession, login: str, password: str, *, actor: str,
                       now: datetime) -> AccountView:
    acc = await _get(session, login)
    acc.password_hash = hash_password(password)
    audit.record(session, at=now, actor=actor, action="account_password_changed", login=login)
    return AccountView.of(acc)


async def set_roles(session: AsyncSession, login: str, roles: tuple[Role, ...], *, actor: str,
                    now: datetime) -> AccountView:
    acc = await _get(session, login)
    before = list(acc.roles)
    acc.roles = [r.value for r in roles]
    audit.record(session, at=now, actor=actor, action="account_roles_changed", login=login,
                 before=before, after=acc.roles)
    return AccountView.of(acc)


async def check_password(session: AsyncSession, login: str, password: str) -> AccountView:
    """The account whose password this is, or :class:`GongkaiError` with one message for a
    wrong password, an unknown login, no password set or a disabled account."""
    acc = await session.scalar(select(Account).where(Account.login == login))
    stored = acc.password_hash if acc is not None and acc.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password) and stored is not _DUMMY_HASH
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or acc is None or acc.disabled:
        raise GongkaiError(BAD_LOGIN, fix="检查登录名与密码，或请管理员用 gongkai user passwd 重设",
                           code="unauthenticated")
    return AccountView.of(acc)


async def issue_token(session: AsyncSession, login: str, *, actor: str, now: datetime,
                      days: int = TOKEN_DAYS) -> IssuedToken:
    if not 1 <= days <= 366:
        raise InputError(f"有效期 {days} 天超出范围", field="--days", fix="取 1 到 366 天")
    acc = await _get(session, login)
    if acc.disabled:
        raise GongkaiError(f"账号 {login} 已停用", fix="停用的账号不能领取令牌", code="account_disabled")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(account_id=acc.id, token_hash=_token_hash(secret), created_at=now,
                     expires_at=now + timedelta(days=days), created_by=actor)
    session.add(token)
    await session.flush()
    audit.record(session, at=now, actor=actor, action="account_token_issued", login=login, token_id=token.id,
                 expires_at=token.expires_at.isoformat())
    return IssuedToken(token.id, login, secret, token.expires_at)


async def tokens_of(session: AsyncSession, login: str) -> list[TokenView]:
    acc = await _get(session, login)
    rows = await session.scalars(select(ApiToken).where(ApiToken.account_id == acc.id).order_by(ApiToken.id))
    return [TokenView(t.id, t.created_at, t.expires_at, t.created_by) for t in rows]


async def by_token(session: AsyncSession, secret: str, *, now: datetime) -> AccountView:
    """The account a token proves, or :class:`GongkaiError` (wrong, expired or disabled)."""
    row = await session.execute(select(Account, ApiToken.expires_at).join(
        ApiToken, ApiToken.account_id == Account.id).where(ApiToken.token_hash == _token_hash(secret.strip())))
    found = row.first()
    if found is None or found[1] <= now or found[0].disabled:
        raise GongkaiError(BAD_TOKEN, fix="请管理员用 gongkai user token 签发新令牌，或运行 gongkai login",
                           code="unauthenticated")
    return AccountView.of(found[0])


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Account)) or 0)
