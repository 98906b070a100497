"""The service layer: one function per action, called by the CLI, the console and the API.

Placeholder of the contract in BRIEF.md until helper "core" lands its version (take core's on
merge): ``Who`` is the acting account, ``require(who, *roles)`` refuses with ``Forbidden``."""
from __future__ import annotations

from content.accounts import AccountView, Role
from content.errors import GongkaiError

Who = AccountView


class Forbidden(GongkaiError):
    code = "forbidden"


def require(who: Who | None, *roles: Role) -> Who:
    """``who`` when it holds one of ``roles``; :class:`Forbidden` naming the missing role."""
    if who is not None and not who.disabled and any(who.has(r) for r in roles):
        return who
    wanted = "或".join(f"“{r.label}”" for r in roles)
    login = who.login if who is not None else "未登录的用户"
    raise Forbidden(f"账号 {login} 没有{wanted}角色，不能执行此操作",
                    fix="请有该角色的同事操作，或请管理员用 gongkai user roles 授予角色")
