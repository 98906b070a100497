"""``/search/``: the site's search answered from the store when the bot serves the site, as a
server-rendered page that needs no JavaScript (the search form on every page points here; a
static site served alone has Pagefind's ``search/index.html`` at the same address)."""
from __future__ import annotations

import math

from aiohttp import web

from channels.website import scopes
from channels.website.pages import Facets, Pages, SiteInfo
from channels.website.scopes import Scope
from channels.website.search import MAX_QUERY, Query, search
from content.views import load_views

PATH = "/search/"
REL = "search/index.html"  # where the page sits in the site, for its relative links
YEAR_MESSAGE = "年份应为四位数字，例如 2026；已按全部年份查找"


def parse(params) -> tuple[Query, dict[str, str], str]:  # noqa: ANN001 - a MultiDict
    """The query, the filters to echo back, and a notice about a value that was ignored."""
    text = params.get("q", "").strip()[:MAX_QUERY]
    filters = {k: params.get(k, "").strip()[:MAX_QUERY] for k in ("column", "topic", "issuer", "year")}
    notice, year = "", None
    if filters["year"]:
        if filters["year"].isdigit() and len(filters["year"]) == 4:
            year = int(filters["year"])
        else:
            notice, filters["year"] = YEAR_MESSAGE, ""
    page = params.get("page", "1")
    query = Query(text=text, column=filters["column"], topic=filters["topic"],
                  issuer=filters["issuer"], year=year,
                  page=int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1)
    return query, {k: v for k, v in filters.items() if v}, notice


class SiteSearch:
    def __init__(self, service) -> None:  # noqa: ANN001
        self.service = service
        settings = service.settings
        website = settings.channels.website
        self.size = website.page_size
        self.pages = Pages(service.renderer, SiteInfo(website.site_title, website.site_owner,
                                                      settings.base_url), website)

    async def handle(self, request: web.Request) -> web.Response:
        if request.path != PATH:
            raise web.HTTPMovedPermanently(request.rel_url.with_path(PATH).with_query(request.query))
        query, filters, notice = parse(request.query)
        tz = self.service.settings.tz
        async with self.service.store.sessions() as session:
            hits = await search(session, query, tz, self.size)
            entries = await load_views(session, hits.ids)
            topics, issuers, years = await scopes.facets(session, Scope.site(), tz)
            facets = Facets(tuple(topics), tuple(issuers), tuple(years))
            columns = await scopes.columns(session)
        html = self.pages.search_results(
            REL, query=query.text, filters=filters, entries=entries, total=hits.total,
            page=query.page, pages=max(math.ceil(hits.total / self.size), 1), facets=facets,
            columns=columns, notice=notice)
        return web.Response(text=html, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-cache"})


def install(app: web.Application, service) -> None:  # noqa: ANN001
    if not service.settings.channels.website.enabled:
        return
    handler = SiteSearch(service).handle
    app.router.add_get(PATH, handler)
    app.router.add_get(PATH.rstrip("/"), handler)
