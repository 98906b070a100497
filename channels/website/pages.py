"""The site's HTML pages: contexts for the Jinja2 templates under ``content/templates/website``.

Links inside the site are relative (``root`` = ``../`` per directory level) so the site works
under any path prefix and straight from disk; only ``canonical`` and the feeds use the base URL.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from channels.website import disclosure
from channels.website.config import WebsiteSettings
from channels.website.scopes import GAZETTE_TITLE, Ref, Scope, ScopeKind, legacy_slug
from channels.website.versions import Version
from content.kinds import ItemState
from content.render import Renderer
from content.views import FileView, ItemView

RSS = "application/rss+xml"
ATOM = "application/atom+xml"
_ROOT_RELATIVE = re.compile(r'(\s(?:src|href)=")/(?!/)')
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)")


@dataclass(frozen=True)
class SiteInfo:
    title: str
    owner: str
    base_url: str  # without a trailing slash


@dataclass(frozen=True)
class Related:
    """Items an item page links to, by relation."""

    policies: tuple[Ref, ...] = ()         # what an interpretation interprets
    interpretations: tuple[Ref, ...] = ()  # live interpretations of a policy
    follows: tuple[Ref, ...] = ()          # earlier items this one follows up
    followers: tuple[Ref, ...] = ()        # live follow-ups of this item


def root_for(rel: str) -> str:
    return "../" * rel.count("/")


def rebase(html: str, prefix: str) -> str:
    """Point root-relative ``src``/``href`` (``/files/…``) at ``prefix`` (``../`` or a base URL)."""
    return _ROOT_RELATIVE.sub(lambda m: m.group(1) + prefix, html)


def with_alt(html: str) -> str:
    """Every image carries an alt attribute (empty = decorative) even if the source had none."""
    return _IMG_WITHOUT_ALT.sub('<img alt=""', html)


def cn_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def extra_images(view: ItemView) -> list[tuple[FileView, str]]:
    """Images not already placed in the body, each with its alt text (never empty)."""
    loose = [f for f in view.images if f.url_path not in view.body_html]
    return [(f, f.alt or f"{view.title}（图{n}）") for n, f in enumerate(loose, 1)]


def scope_title(scope: Scope, site: SiteInfo) -> str:
    if scope.kind is ScopeKind.COLUMN:
        return scope.column
    if scope.kind is ScopeKind.GAZETTE:
        return GAZETTE_TITLE
    return site.title


@dataclass(frozen=True)
class Facets:
    """What a column's list can be filtered by (no-JS form to the server's search)."""

    topics: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    years: tuple[int, ...] = ()


class Pages:
    def __init__(self, renderer: Renderer, site: SiteInfo,
                 settings: WebsiteSettings | None = None) -> None:
        self.renderer = renderer
        self.site = site
        self.settings = settings or WebsiteSettings()

    # -- common ---------------------------------------------------------------------------
    def _feeds(self, root: str, scopes: Sequence[Scope]) -> list[dict[str, str]]:
        feeds = []
        for scope in scopes:
            name = scope_title(scope, self.site)
            feeds.append({"type": RSS, "title": f"{name}（RSS）", "href": root + scope.rss})
            feeds.append({"type": ATOM, "title": f"{name}（Atom）", "href": root + scope.atom})
        return feeds

    def _context(self, rel: str, scopes: Sequence[Scope] = (), **extra: Any) -> dict[str, Any]:
        root = root_for(rel)
        context = {
            "site": self.site, "root": root, "canonical": f"{self.site.base_url}/{rel}",
            "feeds": self._feeds(root, [Scope.site(), *scopes]), "robots": None,
            "cn_date": cn_date, "file_size": file_size, "column_href": self.column_href,
            "footer": self.settings, "search_href": root + "search/", "query": "",
            "xxgk_href": root + disclosure.INDEX,
        }
        context.update(extra)
        return context

    @staticmethod
    def column_href(root: str, column: str) -> str:
        return root + Scope.of_column(column).index

    # -- pages ----------------------------------------------------------------------------
    def item(self, view: ItemView, related: Related, versions: Sequence[Version] = ()) -> str:
        """An item's page; ``versions`` are its earlier (corrected) versions to link to."""
        if view.state == ItemState.RETRACTED:
            return self.retracted(view)
        return self._item_page(view.path, view, related, versions=versions, current=None)

    def earlier_version(self, version: Version, current: ItemView) -> str:
        """The page of an earlier version, pointing to the current one."""
        if current.state == ItemState.RETRACTED:
            return self.retracted(current, version.path)
        return self._item_page(version.path, version.view, Related(), versions=(),
                               current=current, robots="noindex", version=version)

    def _item_page(self, rel: str, view: ItemView, related: Related, *,
                   versions: Sequence[Version], current: ItemView | None, **extra: Any) -> str:
        root = root_for(rel)
        scopes = [Scope.of_column(view.column)] if view.column else []
        return self.renderer.item(
            "website", view.kind, "html",
            **self._context(rel, scopes, item=view, related=related,
                            corrected=current is None and view.state == ItemState.CORRECTED,
                            body=with_alt(rebase(view.body_html, root)),
                            images=extra_images(view), versions=list(versions),
                            current=current, **extra))

    def retracted(self, view: ItemView, rel: str = "") -> str:
        return self.renderer.page("website/retracted.html", **self._context(
            rel or view.path, item=view, robots="noindex"))

    def listing(self, scope: Scope, entries: Sequence[ItemView], *, page: int | None,
                pages: int, facets: Facets = Facets()) -> str:
        rel = scope.index if page is None else scope.archive(page)
        root = root_for(rel)
        # the index shows the newest page_size items: archive pages are worth listing only
        # when they hold more than the index does
        archives = pages if pages > 1 else 0
        return self.renderer.page("website/listing.html", **self._context(
            rel, [scope] if scope.kind is not ScopeKind.SITE else [],
            scope=scope, title=scope_title(scope, self.site), entries=list(entries), page=page,
            pages=pages, gazette=scope.kind is ScopeKind.GAZETTE, facets=facets,
            index_href=root + scope.index,
            archive_hrefs=[(k, root + scope.archive(k)) for k in range(archives, 0, -1)],
            older_href=root + scope.archive(page - 1) if page and page > 1 else None))

    def home(self, entries: Sequence[ItemView], columns: Sequence[str],
             pinned: Sequence[ItemView] = ()) -> str:
        pinned_ids = {v.id for v in pinned}
        return self.renderer.page("website/home.html", **self._context(
            "index.html", entries=[e for e in entries if e.id not in pinned_ids],
            pinned=list(pinned), columns=list(columns)))

    def legacy_redirect(self, column: str) -> str:
        """The page left at a column's old hashed address, pointing to its readable one."""
        rel = f"columns/{legacy_slug(column)}/index.html"
        target = self.column_href(root_for(rel), column)
        return self.renderer.page("website/moved.html", **self._context(
            rel, title=column, target=target, robots="noindex"))

    def not_found(self) -> str:
        # served for any missing path, so every link in it is absolute from the site root
        context = self._context("404.html", robots="noindex")
        prefix = self.site.base_url.split("://", 1)[-1].partition("/")[2].rstrip("/")
        root = f"/{prefix}/" if prefix else "/"
        context.update(root=root, search_href=root + "search/", xxgk_href=root + disclosure.INDEX,
                       feeds=self._feeds(root, [Scope.site()]))
        return self.renderer.page("website/404.html", **context)

    def search_page(self) -> str:
        """The static search page (Pagefind in the browser) for when the site is served alone."""
        return self.renderer.page("website/search_static.html", **self._context(
            "search/index.html", robots="noindex"))

    def search_results(self, rel: str, *, query: str, filters: dict[str, str],
                       entries: Sequence[ItemView], total: int, page: int,
                       pages: int, facets: Facets, columns: Sequence[str],
                       notice: str = "") -> str:
        """The server-rendered results (no JavaScript needed) when the bot serves the site."""
        def page_query(number: int) -> str:
            return urlencode({"q": query, **filters, "page": number})

        return self.renderer.page("website/search_results.html", **self._context(
            rel, robots="noindex", query=query, filters=filters, entries=list(entries),
            total=total, page=page, pages=pages, facets=facets, columns=list(columns),
            page_query=page_query, notice=notice))

    def disclosure_index(self, columns: Sequence[str]) -> str:
        return self.renderer.page("website/disclosure_index.html", **self._context(
            disclosure.INDEX, entries=disclosure.ENTRIES, columns=list(columns)))

    def disclosure_page(self, page: disclosure.Page, columns: Sequence[str]) -> str:
        root = root_for(page.entry.path)
        return self.renderer.page("website/disclosure.html", **self._context(
            page.entry.path, entry=page.entry, body=rebase(page.html, root),
            columns=list(columns) if page.entry.key == "proactive" else []))

    def feed_entry(self, view: ItemView) -> str:
        """An item's HTML for a feed: absolute URLs (feed readers have no base)."""
        root = self.site.base_url + "/"
        return self.renderer.page(
            "website/feed_entry.html", item=view, root=root,
            corrected=view.state == ItemState.CORRECTED,
            body=with_alt(rebase(view.body_html, root)), images=extra_images(view),
            cn_date=cn_date, file_size=file_size)

    def asset(self, name: str) -> str:
        """A shipped (or overridden) file of the website templates, as it is."""
        env = self.renderer.env
        assert env.loader is not None
        return env.loader.get_source(env, f"website/{name}")[0]
