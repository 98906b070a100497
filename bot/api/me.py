"""``GET /me``: the account the token proves (to check a token works)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from bot.api.registry import Call
from bot.api.routes import API


class Me(BaseModel):
    """令牌所属的账号"""

    login: str
    name: str
    department: str
    roles: list[str] = Field(description="author 撰稿、reviewer 保密审查、approver 审核签发、admin 管理员、auditor 只读")


@API.add("GET", "/me", op_id="me", summary="令牌所属的账号与角色", tag="账号", answer=Me, roles="任何账号")
async def me(call: Call) -> Me:
    who = call.who
    return Me(login=who.login, name=who.name, department=who.department, roles=[r.value for r in who.roles])
