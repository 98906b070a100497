"""Mounting the console on the bot's web application: every page module's routes, the static
files, and the security headers on every console response."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from aiohttp import web

from bot.console import kit

if TYPE_CHECKING:
    from bot.service import Service

#: The page modules, one line each; a module's ``@view``/``@action`` handlers are mounted.
PAGES: tuple[str, ...] = (
    "bot.console.login",
    "bot.console.dashboard",
    "bot.console.password",
    "bot.console.audit",
    "bot.console.webhooks",
)


def routes() -> list[kit.Route]:
    return [route for name in PAGES for route in kit.routes_of(importlib.import_module(name))]


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently(kit.PREFIX + "/")


def install(app: web.Application, service: Service) -> None:
    console = kit.Console(service, kit.make_env(service))
    app[kit.CONSOLE_KEY] = console
    for route in routes():
        key = (route.method, route.path)
        if key in console.routes:
            raise RuntimeError(f"console route mounted twice: {route.method} {route.path}")
        console.routes[key] = route
        app.router.add_route(route.method, route.path, kit.wrap(route))
    app.router.add_get(kit.PREFIX, _to_dashboard)
    app.router.add_static(kit.PREFIX + "/static/", kit.STATIC, append_version=False)
    app.on_response_prepare.append(kit.security_headers)
