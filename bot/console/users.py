"""用户管理 (``/console/users/``): accounts, their roles, passwords and personal API tokens,
through ``bot.ops.users`` (the same functions as ``gongkai user``). Administrators only; a new
password or token is shown once, on the answer to the form, and never stored in a message."""
from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from bot.console import kit
from bot.ops import users
from content.accounts import Role
from content.errors import GongkaiError, InputError

ADMIN = (Role.ADMIN,)


def _roles(form: MultiDictProxy) -> tuple[Role, ...]:
    chosen = []
    for value in form.getall("roles", []):
        try:
            chosen.append(Role(str(value)))
        except ValueError:
            raise InputError(f"未知角色 {value}", field="roles", fix="从列出的角色中选择") from None
    if not chosen:
        raise InputError("至少需要选择一个角色", field="roles", fix="勾选该账号的角色")
    return tuple(dict.fromkeys(chosen))


def _user_url(login: str) -> str:
    from urllib.parse import quote

    return f"/console/users/{quote(login, safe='')}"


async def _list_page(request: web.Request, *, status: int = 200, error: str = "",
                     form: dict | None = None) -> web.Response:
    people = await users.listing(kit.svc(request), kit.who(request))
    return await kit.render(request, "users.html", status=status, people=people, roles=list(Role),
                            error=error, form=form or {})


@kit.view("/console/users/", roles=ADMIN)
async def user_list(request: web.Request) -> web.StreamResponse:
    return await _list_page(request)


@kit.action("/console/users/", roles=ADMIN)
async def user_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in ("login", "name", "department")}
    try:
        added = await users.add(kit.svc(request), kit.who(request), values["login"], name=values["name"],
                                roles=_roles(form), department=values["department"])
    except InputError as exc:
        return await _list_page(request, status=400, error=kit.say(exc),
                                form={**values, "roles": form.getall("roles", [])})
    return await kit.render(request, "secret_once.html", account=added.account, what="初始密码",
                            secret=added.password, note="请当面或以安全方式交给本人；本人登录后可在“修改密码”中更改。")


async def _detail(request: web.Request, login: str, *, status: int = 200, error: str = "") -> web.Response:
    service, who = kit.svc(request), kit.who(request)
    account = next((a for a in await users.listing(service, who) if a.login == login), None)
    if account is None:
        return await kit.render(request, "error.html", status=404, message=f"没有账号 {login}")
    tokens = await users.tokens(service, who, login)
    return await kit.render(request, "user.html", status=status, account=account, tokens=tokens,
                            roles=list(Role), error=error, url=_user_url(login))


@kit.view("/console/users/{login}", roles=ADMIN)
async def user_detail(request: web.Request) -> web.StreamResponse:
    return await _detail(request, request.match_info["login"])


@kit.action("/console/users/{login}/roles", roles=ADMIN)
async def user_roles(request: web.Request) -> web.StreamResponse:
    login = request.match_info["login"]
    form = await request.post()
    try:
        account = await users.roles(kit.svc(request), kit.who(request), login, _roles(form))
    except InputError as exc:
        return await _detail(request, login, status=400, error=kit.say(exc))
    raise await kit.redirect_with_flash(request, _user_url(login),
                                        f"已将 {account.login} 的角色改为：" + "、".join(r.label for r in account.roles))


@kit.action("/console/users/{login}/disable", roles=ADMIN)
async def user_disable(request: web.Request) -> web.StreamResponse:
    login = request.match_info["login"]
    try:
        await users.disable(kit.svc(request), kit.who(request), login)
    except InputError as exc:
        return await _detail(request, login, status=400, error=kit.say(exc))
    raise await kit.redirect_with_flash(request, _user_url(login), f"账号 {login} 已停用；其登录已失效。")


@kit.action("/console/users/{login}/enable", roles=ADMIN)
async def user_enable(request: web.Request) -> web.StreamResponse:
    login = request.match_info["login"]
    await users.enable(kit.svc(request), kit.who(request), login)
    raise await kit.redirect_with_flash(request, _user_url(login), f"账号 {login} 已启用。")


@kit.action("/console/users/{login}/password", roles=ADMIN)
async def user_password(request: web.Request) -> web.StreamResponse:
    login = request.match_info["login"]
    result = await users.passwd(kit.svc(request), kit.who(request), login)
    return await kit.render(request, "secret_once.html", account=result.account, what="新密码",
                            secret=result.password, note="旧密码已失效。请以安全方式交给本人。")


@kit.action("/console/users/{login}/token", roles=ADMIN)
async def user_token(request: web.Request) -> web.StreamResponse:
    login = request.match_info["login"]
    try:
        issued = await users.token(kit.svc(request), kit.who(request), login)
    except GongkaiError as exc:
        return await _detail(request, login, status=400, error=kit.say(exc))
    account = next(a for a in await users.listing(kit.svc(request), kit.who(request)) if a.login == login)
    return await kit.render(request, "secret_once.html", account=account, what="个人 API 令牌", secret=issued.secret,
                            note=f"有效期至 {kit.svc(request).renderer.local(issued.expires_at)}。"
                                 "用于命令行（环境变量 GONGKAI_TOKEN）和 HTTP API（Authorization: Bearer …）。")
