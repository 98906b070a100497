"""预览 (``/console/items/{id}/preview``): each enabled channel side by side as its audience sees
it, every one made by that channel's own ``render()`` through ``bot.ops.items.preview``: the
website page in a sandboxed frame, the WeChat article in a phone-width frame with its shortened
title and digest, the Weibo text with its count, the SMS text with its signature and billed parts."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from markupsafe import Markup

from bot.console import kit
from bot.console.item_form import MIME, file_response
from bot.ops import items as ops
from channels.base import Rendition
from content.errors import GongkaiError


@dataclass(frozen=True)
class Shown:
    channel: str
    label: str
    renditions: tuple[Rendition, ...]
    error: str = ""


def split_header(text: str) -> tuple[list[str], str]:
    """A WeChat rendition is its header lines (标题、作者、摘要…), a blank line, the article HTML."""
    head, _, html = text.partition("\n\n")
    return head.splitlines(), html


def with_base(page: str, base: str) -> str:
    """The website page with a ``<base>`` so that its relative links (style, images) resolve
    under ``base`` while it is shown inside the console."""
    tag = f'<base href="{base}">'
    if "<head>" in page:
        return page.replace("<head>", "<head>" + tag, 1)
    return tag + page


@kit.view("/console/items/{item_id:\\d+}/preview")
async def item_preview(request: web.Request) -> web.StreamResponse:
    from channels import catalogue

    item_id = int(request.match_info["item_id"])
    service, who = kit.svc(request), kit.who(request)
    detail = await ops.get(service, who, item_id)
    shown = []
    for name in service.enabled_channel_names():
        label = catalogue.label(name)
        try:
            preview = await ops.preview(service, who, item_id, name)
            shown.append(Shown(name, label, preview.renditions))
        except GongkaiError as exc:
            shown.append(Shown(name, label, (), kit.say(exc)))
    return await kit.render(request, "items/preview.html", item=detail.item, cur=detail.current, shown=shown,
                            split_header=split_header,
                            site_page=lambda text: with_base(text, f"/console/items/{item_id}/site/items/"),
                            Markup=Markup)


@kit.view("/console/items/{item_id:\\d+}/site/{tail:.*}")
async def preview_asset(request: web.Request) -> web.StreamResponse:
    """What a previewed website page loads: the site's style sheet and the item's stored images
    (not yet on the public site before publication). Nothing else is served here."""
    service = kit.svc(request)
    tail = request.match_info["tail"]
    if tail.startswith("files/") and "/" not in tail[6:]:
        path = service.files.path(tail[6:])
        if path.is_file() and path.suffix.lower() in MIME:
            return file_response(path, path.name)
        raise web.HTTPNotFound()
    if tail.endswith(".css") and ".." not in tail:
        root = service.settings.site_path.resolve()
        path = (root / tail).resolve()
        if path.is_relative_to(root) and path.is_file():
            return web.Response(body=path.read_bytes(), content_type="text/css", charset="utf-8",
                                headers={"X-Content-Type-Options": "nosniff"})
    raise web.HTTPNotFound()
