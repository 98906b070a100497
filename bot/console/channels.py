"""渠道 (``/console/channels/``): each channel's state, alerts and panels (``bot.ops.channels``)."""
from __future__ import annotations

from aiohttp import web

from bot.console import kit
from bot.ops import channels as ops_channels


@kit.view("/console/channels/")
async def channel_list(request: web.Request) -> web.StreamResponse:
    views = await ops_channels.overview(kit.svc(request), kit.who(request))
    return await kit.render(request, "channels.html", channels=views)
