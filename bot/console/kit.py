"""What a console page module uses: ``@view`` (GET, renders) and ``@action`` (POST, CSRF checked
before anything else), ``render``, ``redirect_with_flash`` and ``forbidden``.

A page module is a plain module of handlers::

    @view("/console/audit/", roles=(Role.ADMIN, Role.AUDITOR))
    async def audit_log(request):
        return render(request, "audit.html", rows=...)

``bot.console.app`` lists the modules and mounts every decorated handler. Before a handler runs:
the session cookie is looked up (none or expired → GET redirects to the login page, POST gets
403), for POST the form's ``_csrf`` must match the session's token (missing or wrong → 403, the
handler never runs), and the account must hold one of ``roles`` (empty = any signed-in
account). The handler then finds the account in ``request["who"]`` and the service in
``request["svc"]``. These route roles decide which pages open; the ops functions the handlers
call check roles again for every action.
"""
from __future__ import annotations

import hashlib
import secrets
import warnings
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from content.accounts import ROLE_LABELS, AccountView, Role
from content.errors import Forbidden, GongkaiError, NotFound
from content.sessions import csrf_of, csrf_ok

if TYPE_CHECKING:
    from bot.service import Service

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/console"
COOKIE = "gk_session"
PRE_COOKIE = "gk_pre"  # before sign-in: the login form's CSRF token is derived from it
ROUTE_ATTR = "__console_route__"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    roles: tuple[Role, ...] = ()
    public: bool = False  # reachable without signing in (the login page)


@dataclass(frozen=True)
class NavEntry:
    label: str
    path: str
    roles: tuple[Role, ...]  # empty = every signed-in account


#: The console's menu, in order: label, path, and the roles that open it when no page module
#: has mounted that path yet (once mounted, the page's own ``roles`` decide).
NAV: tuple[NavEntry, ...] = (
    NavEntry("工作台", "/console/", ()),
    NavEntry("稿件", "/console/items/", ()),
    NavEntry("发布计划", "/console/plan/", ()),
    NavEntry("发布记录", "/console/releases/", ()),
    NavEntry("订阅用户", "/console/subscribers/", (Role.ADMIN, Role.AUDITOR)),
    NavEntry("渠道", "/console/channels/", ()),
    NavEntry("审计日志", "/console/audit/", (Role.ADMIN, Role.AUDITOR)),
    NavEntry("用户管理", "/console/users/", (Role.ADMIN,)),
    NavEntry("Webhook", "/console/webhooks/", (Role.ADMIN, Role.AUDITOR)),
)


def _mark(method: str, path: str, roles: Iterable[Role], public: bool) -> Callable[[Handler], Handler]:
    if not path.startswith(PREFIX):
        raise ValueError(f"console routes live under {PREFIX}/: {path}")

    def decorate(fn: Handler) -> Handler:
        routes = list(getattr(fn, ROUTE_ATTR, ()))
        routes.append(Route(method, path, fn, tuple(roles), public))
        setattr(fn, ROUTE_ATTR, tuple(routes))
        return fn

    return decorate


def view(path: str, *, roles: Iterable[Role] = (), public: bool = False) -> Callable[[Handler], Handler]:
    """A GET page; ``roles``: any one of them opens it (empty = every signed-in account)."""
    return _mark("GET", path, roles, public)


def action(path: str, *, roles: Iterable[Role] = (), public: bool = False) -> Callable[[Handler], Handler]:
    """A POST form target; the CSRF token is checked before the handler runs."""
    return _mark("POST", path, roles, public)


def routes_of(module: ModuleType) -> list[Route]:
    found: list[Route] = []
    for value in vars(module).values():
        found += getattr(value, ROUTE_ATTR, ())
    return found


# ------------------------------------------------------------------------------ the console state
@dataclass
class Console:
    service: Service
    env: Environment
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    static_versions: dict[str, str] = field(default_factory=dict)

    def nav_for(self, who: AccountView) -> list[NavEntry]:
        shown = []
        for entry in NAV:
            mounted = self.routes.get(("GET", entry.path))
            roles = mounted.roles if mounted is not None else entry.roles
            if not roles or any(who.has(r) for r in roles):
                shown.append(entry)
        return shown

    def static_url(self, name: str) -> str:
        version = self.static_versions.get(name)
        if version is None:
            path = STATIC / name
            version = hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"
            self.static_versions[name] = version
        return f"{PREFIX}/static/{name}?v={version}"


CONSOLE_KEY: web.AppKey[Console] = web.AppKey("console", Console)


def make_env(service: Service) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)

    def local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return service.renderer.local(value, fmt) if value else ""

    from bot import labels
    from schedules import obligations

    env.filters["local"] = local
    env.globals["labels"] = labels
    env.globals["Role"] = Role
    env.globals["local_time"] = local
    env.globals["rule_label"] = lambda code: obligations.RULE_LABELS.get(code, code)
    env.globals["obligation_state"] = lambda code: obligations.STATE_LABELS[obligations.State(code)]
    env.filters["role_label"] = lambda r: ROLE_LABELS.get(Role(r), str(r))
    env.filters["roles_label"] = lambda rs: "、".join(ROLE_LABELS.get(Role(r), str(r)) for r in rs)
    return env


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE_KEY]


def svc(request: web.Request) -> Service:
    return console_of(request).service


def who(request: web.Request) -> AccountView:
    return request["who"]


def address(request: web.Request) -> str:
    return request.remote or "-"


# ------------------------------------------------------------------------------------ rendering
async def render(request: web.Request, template: str, *, status: int = 200, **ctx: Any) -> web.Response:
    """Render ``template`` with the page context (account, menu, CSRF token, flash messages)."""
    from bot.ops import sessions as ops_sessions

    console = console_of(request)
    account: AccountView | None = request.get("who")
    current = request.get("session")
    flash = await ops_sessions.take_flash(console.service, current.id) if current is not None else []
    page = console.env.get_template(template).render(
        who=account, nav=console.nav_for(account) if account else [], csrf=request.get("csrf", ""),
        csrf_input=csrf_field(request.get("csrf", "")),
        flash=flash, path=request.path, static=console.static_url, demo=console.service.settings.bot.demo,
        now=console.service.clock.now(), status=status, **ctx)
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def say(exc: GongkaiError) -> str:
    """An error as a page shows it: the message and the fix, without the command-line field name."""
    return f"{exc.message}（{exc.fix}）" if exc.fix else exc.message


def csrf_field(token: str) -> Markup:
    return Markup('<input type="hidden" name="_csrf" value="{}">').format(token)


async def redirect_with_flash(request: web.Request, location: str, text: str, kind: str = "ok") -> web.HTTPSeeOther:
    """A 303 to ``location`` that shows ``text`` there once (kind: ok | error | info). Return or
    raise the result."""
    from bot.ops import sessions as ops_sessions

    current = request.get("session")
    if current is not None:
        await ops_sessions.flash(svc(request), current.id, kind, text)
    return web.HTTPSeeOther(location)


async def forbidden(request: web.Request, reason: str) -> web.Response:
    return await render(request, "forbidden.html", status=403, reason=reason)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def login_url(request: web.Request) -> str:
    return f"{PREFIX}/login?next={quote(request.path_qs, safe='/')}"


def pre_token(request: web.Request) -> tuple[str, str | None]:
    """The login form's CSRF token and, when the browser has no pre-sign-in cookie yet, the new
    cookie value to set."""
    pre = request.cookies.get(PRE_COOKIE, "")
    fresh = None
    if len(pre) < 20:
        pre = fresh = secrets.token_urlsafe(24)
    return csrf_of(pre), fresh


def cookie_secure(service: Service) -> bool:
    return service.settings.console_url.startswith("https://")


# --------------------------------------------------------------------------------- the wrapper
def _keep(request: web.Request, **values: Any) -> None:
    """The contract is ``request["who"]`` (and svc, session, csrf, secret): plain keys on
    purpose, without aiohttp's nudge toward RequestKey objects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        for key, value in values.items():
            request[key] = value


def wrap(route: Route) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        from bot.ops import sessions as ops_sessions

        service = svc(request)
        _keep(request, svc=service)
        is_post = route.method == "POST"
        if route.public:
            if is_post:
                form = await request.post()
                pre = request.cookies.get(PRE_COOKIE, "")
                if not pre or not csrf_ok(pre, str(form.get("_csrf", ""))):
                    return await forbidden(request, "表单已失效（缺少或不符的安全令牌），请刷新页面后重试")
            return await route.handler(request)
        secret = request.cookies.get(COOKIE, "")
        current = await ops_sessions.current(service, secret)
        if current is None:
            if is_post:
                return await forbidden(request, "未登录或登录已过期，请重新登录")
            raise web.HTTPSeeOther(login_url(request))
        _keep(request, who=current.account, session=current, csrf=current.csrf, secret=secret)
        if is_post:
            form = await request.post()
            if not csrf_ok(secret, str(form.get("_csrf", ""))):
                return await forbidden(request, "表单已失效（缺少或不符的安全令牌），请刷新页面后重试")
        if route.roles and not any(current.account.has(r) for r in route.roles):
            return await forbidden(request, "此页面需要以下角色之一：" + "、".join(r.label for r in route.roles))
        try:
            return await route.handler(request)
        except Forbidden as exc:
            return await forbidden(request, say(exc))
        except GongkaiError as exc:
            if not is_post:
                status = 404 if isinstance(exc, NotFound) else 400
                return await render(request, "error.html", status=status, message=say(exc))
            back = request.headers.get("Referer", "")
            path = back.split("://", 1)[-1].partition("/")[2] if "://" in back else ""
            raise await redirect_with_flash(request, safe_next("/" + path if path else None),
                                            say(exc), "error") from None

    handler.__name__ = getattr(route.handler, "__name__", "console_handler")
    return handler


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every console response (pages, redirects, errors, static files)."""
    if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith(PREFIX + "/static/"):
            response.headers["Cache-Control"] = "no-store"
