"""Signing in (``/console/login``) and out (``/console/logout``)."""
from __future__ import annotations

from aiohttp import web

from bot.console import kit
from bot.ops import sessions as ops_sessions
from bot.sample import PEOPLE
from content import accounts
from content.errors import GongkaiError

async def _demo_people(request: web.Request) -> list[accounts.AccountView]:
    """In demo mode, the people one may sign in as (shown with the demo password)."""
    service = kit.svc(request)
    if not service.settings.bot.demo:
        return []
    async with service.store.sessions() as s:
        people = [a for a in await accounts.list_accounts(s) if not a.disabled and a.has_password]
    sample = [login for login, _name, _role in PEOPLE]
    chosen = sorted((a for a in people if a.login in sample), key=lambda a: sample.index(a.login))
    return chosen or people


async def _page(request: web.Request, *, next_: str | None, error: str = "", login: str = "",
                status: int = 200, note: str = "") -> web.Response:
    token, fresh = kit.pre_token(request)
    response = await kit.render(
        request, "login.html", status=status, login_csrf=token, error=error, login=login, note=note,
        next=kit.safe_next(next_),
        people=await _demo_people(request),
        demo_password=accounts.DEMO_PASSWORD)
    if fresh is not None:
        response.set_cookie(kit.PRE_COOKIE, fresh, httponly=True, samesite="Lax", path=kit.PREFIX,
                            secure=kit.cookie_secure(kit.svc(request)))
    return response


@kit.view("/console/login", public=True)
async def login_page(request: web.Request) -> web.StreamResponse:
    service = kit.svc(request)
    if await ops_sessions.current(service, request.cookies.get(kit.COOKIE, "")) is not None:
        raise web.HTTPSeeOther(kit.safe_next(request.query.get("next")))
    note = "您已退出登录。" if request.query.get("bye") else ""
    return await _page(request, next_=request.query.get("next"), note=note)


@kit.action("/console/login", public=True)
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password, next_ = (str(form.get(k, "")) for k in ("login", "password", "next"))
    try:
        signed = await ops_sessions.login(kit.svc(request), name, password, address=kit.address(request))
    except ops_sessions.LoginThrottled as exc:
        return await _page(request, next_=next_, error=exc.message, login=name, status=429)
    except GongkaiError as exc:
        return await _page(request, next_=next_, error=exc.message, login=name, status=401)
    response = web.HTTPSeeOther(kit.safe_next(next_))
    response.set_cookie(kit.COOKIE, signed.secret, httponly=True, samesite="Lax", path="/",
                        secure=kit.cookie_secure(kit.svc(request)))
    response.del_cookie(kit.PRE_COOKIE, path=kit.PREFIX)
    raise response


@kit.action("/console/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    await ops_sessions.logout(kit.svc(request), kit.who(request), request["secret"], address=kit.address(request))
    response = web.HTTPSeeOther(kit.PREFIX + "/login?bye=1")
    response.del_cookie(kit.COOKIE, path="/")
    raise response
