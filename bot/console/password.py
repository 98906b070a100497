"""修改密码 (``/console/password``): the signed-in person changes their own password."""
from __future__ import annotations

from aiohttp import web

from bot.console import kit
from bot.ops import sessions as ops_sessions
from content.errors import InputError


@kit.view("/console/password")
async def password_page(request: web.Request) -> web.StreamResponse:
    return await kit.render(request, "password.html", error="", field="")


@kit.action("/console/password")
async def password_change(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    current, new, again = (str(form.get(k, "")) for k in ("current_password", "new_password", "again"))
    try:
        if new != again:
            raise InputError("两次输入的新密码不一致", field="again", fix="重新输入两次相同的新密码")
        await ops_sessions.change_own_password(kit.svc(request), kit.who(request), current, new,
                                               keep_session=request["session"].id)
    except InputError as exc:
        return await kit.render(request, "password.html", status=400, error=kit.say(exc), field=exc.field or "")
    raise await kit.redirect_with_flash(request, "/console/", "密码已修改；其他设备上的登录已退出。")
