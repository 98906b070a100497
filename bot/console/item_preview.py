"""预览 (``/console/items/{id}/preview``): each enabled channel side by side as its audience sees
it, every one made by that channel's own ``render()`` through ``bot.ops.items.preview``: the
website page in a sandboxed frame, the WeChat article in a phone-width frame with its shortened
title and digest, the Weibo text with its count, the SMS text with its signature and billed parts."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

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


#: The website page is shown from its own address under the item (so that its relative links,
#: ``../style.css`` and ``../files/…``, resolve to ``preview_asset``), sandboxed: no script (none
#: allowed by the policy nor by the sandbox), no form, no navigation of the console. It keeps the
#: console's origin only so that its style sheet and images load with the session.
SITE_PAGE_HEADERS = {
    "Content-Security-Policy": "sandbox allow-same-origin; default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
}


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
                            split_header=split_header)


@kit.view("/console/items/{item_id:\\d+}/site/items/{page:\\d+}.html")
async def site_page(request: web.Request) -> web.StreamResponse:
    """The website channel's rendering of the item, exactly as ``render()`` made it."""
    item_id = int(request.match_info["item_id"])
    if int(request.match_info["page"]) != item_id:
        raise web.HTTPNotFound()
    preview = await ops.preview(kit.svc(request), kit.who(request), item_id, "website")
    text = preview.renditions[0].text if preview.renditions else ""
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=SITE_PAGE_HEADERS)


#: The WeChat article as WeChat shows it: its inline styles are what the article carries.
ARTICLE_HEADERS = {
    **SITE_PAGE_HEADERS,
    "Content-Security-Policy": "sandbox allow-same-origin; default-src 'none'; style-src 'unsafe-inline'; "
                               "img-src 'self' data: https: http:; frame-ancestors 'self'",
}
PHONE_PAGE = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
              '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
              '<body style="margin:0;padding:12px;font-family:sans-serif">{}</body></html>')


@kit.view("/console/items/{item_id:\\d+}/wechat/{n:\\d+}.html")
async def wechat_article(request: web.Request) -> web.StreamResponse:
    """Article ``n`` of the WeChat channel's rendering (its HTML, after the header lines)."""
    item_id, n = int(request.match_info["item_id"]), int(request.match_info["n"])
    preview = await ops.preview(kit.svc(request), kit.who(request), item_id, "wechat")
    if not 1 <= n <= len(preview.renditions):
        raise web.HTTPNotFound()
    _head, html = split_header(preview.renditions[n - 1].text)
    return web.Response(text=PHONE_PAGE.format(html), content_type="text/html", charset="utf-8",
                        headers=ARTICLE_HEADERS)


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
