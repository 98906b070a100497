"""工作台 (``/console/``): what needs the signed-in account now."""
from __future__ import annotations

from aiohttp import web

from bot.console import kit


@kit.view("/console/")
async def dashboard(request: web.Request) -> web.StreamResponse:
    return await kit.render(request, "dashboard.html")
