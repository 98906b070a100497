"""The service layer: every action staff can take, as one function the command line, the
console and the HTTP API all call. Each op is ``async def op(svc, who, …)``: it checks the
acting account's roles, runs one transaction and audits under ``who.login``; it returns a
frozen dataclass. Role checks live here, never in a page or a command."""
from __future__ import annotations

from content.accounts import ROLE_LABELS, AccountView, Role
from content.errors import Forbidden

Who = AccountView

__all__ = ["Forbidden", "Role", "Who", "require", "roles_text"]


def roles_text(roles: tuple[Role, ...] | list[Role]) -> str:
    return "或".join(f"“{ROLE_LABELS[r]}”" for r in roles)


def require(who: Who, *roles: Role, action: str = "执行此操作") -> None:
    """Go on if ``who`` holds one of ``roles`` (and is not disabled); otherwise raise
    :class:`Forbidden` naming the missing role. Nothing has been changed when it raises."""
    if who.disabled:
        raise Forbidden(f"账号 {who.login} 已停用，不能{action}",
                        fix="请管理员用 gongkai user enable 重新启用")
    if not any(who.has(r) for r in roles):
        raise Forbidden(f"账号 {who.login} 没有{roles_text(roles)}角色，不能{action}",
                        fix="请持有该角色的同事操作，或请管理员用 gongkai user roles 授予角色")


def any_role(who: Who, action: str = "查看") -> None:
    """Reading: any active account with a role may read items, releases and deliveries."""
    require(who, *Role, action=action)
