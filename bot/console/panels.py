"""Channel pages in the console: what each channel declares in ``Extension.panels`` (e.g. the
SMS channel's 订阅用户) mounted as console routes behind the same session, CSRF and role
checks as the console's own pages. Channel code cannot import ``bot``: each handler receives a
:class:`channels.extension.ConsoleHost` (this module's :class:`Bridge`)."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

from bot.console import kit
from channels import catalogue
from channels.extension import ConsolePages, PanelPage, resolve
from content.accounts import Role


class Bridge:
    """The console as a channel's page handler sees it."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def host(self, request: web.Request) -> Any:
        return kit.svc(request)

    def who(self, request: web.Request) -> Any:
        return kit.who(request)

    async def render(self, request: web.Request, template: str, *, status: int = 200, **ctx: Any) -> web.Response:
        return await kit.render(request, f"{self.channel}/{template}", status=status, **ctx)

    async def redirect(self, request: web.Request, location: str, text: str, kind: str = "ok") -> web.HTTPSeeOther:
        return await kit.redirect_with_flash(request, location, text, kind)


def declared() -> list[ConsolePages]:
    """The panels that are sets of pages (the others are functions the 渠道 page calls)."""
    found = (resolve(panel.target) for ext in catalogue.extensions() for panel in ext.panels)
    return [target for target in found if isinstance(target, ConsolePages)]


def _handler(page: PanelPage, bridge: Bridge) -> kit.Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await page.handler(request, bridge)

    handler.__name__ = getattr(page.handler, "__name__", "panel")
    return handler


def routes() -> list[kit.Route]:
    out = []
    for pages in declared():
        bridge = Bridge(pages.channel)
        for page in pages.pages:
            out.append(kit.Route(page.method.upper(), f"{kit.PREFIX}/{page.path.lstrip('/')}", _handler(page, bridge),
                                 tuple(Role(r) for r in page.roles)))
    return out


def add_templates(env: Environment) -> None:
    """Each channel's page templates, found as ``<channel>/<name>`` (they extend base.html)."""
    found = {pages.channel: FileSystemLoader(pages.templates) for pages in declared()}
    if found:
        loaders: list[BaseLoader] = [env.loader] if env.loader is not None else []
        env.loader = ChoiceLoader([*loaders, PrefixLoader(found)])
