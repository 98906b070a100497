"""SiteBuilder: the static site (pages, feeds, files) built from the store.

``rebuild_all`` writes everything; ``rebuild_for(ids)`` writes only what a change to those items
touches: their pages and those of related items (policy ↔ interpretations, follow-ups), the home
page and site feeds, and for each column (and the gazette) the item is or was in: the index, the
feeds and the archive pages holding it. Every file is written atomically and only when its bytes
change (see ``writer``). A rebuild renders everything first and writes it in one burst, files
and item pages before the lists and feeds that link to them. Rebuilds in one process are
serialised so an older snapshot never overwrites a newer one.
"""
from __future__ import annotations

import asyncio
import math
import os
from collections import defaultdict
from datetime import timedelta
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from time import perf_counter

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.website.config import WebsiteSettings
from channels.website import disclosure, feeds, scopes, versions
from channels.website.pages import Facets, Pages, Related, SiteInfo, scope_title
from channels.website.scopes import LIVE, PUBLIC, Ref, Scope, ScopeKind
from channels.website.writer import Batch, SiteWriter
from content.clock import Clock, SystemClock
from content.db import Store
from content.files import FileStore
from content.kinds import ItemState, Kind
from content.models import Attachment, Item
from content.render import Renderer
from content.views import ItemView, load_views

ITEM_BATCH = 200


@dataclass(frozen=True)
class BuildStats:
    written: int
    unchanged: int
    seconds: float
    paths: tuple[str, ...] = ()  # what was written, relative to the site dir
    removed: int = 0             # files of retracted items taken off the site


class Move(StrEnum):
    """How a changed item affects a listing it is, or was, part of."""

    ENTER = "enter"  # newly in it: ranks after it may shift, rewrite from its page to the end
    STAY = "stay"    # same place: rewrite the page holding it
    LEAVE = "leave"  # moved out (correction changed its column): later ranks shift


class SiteBuilder:
    def __init__(self, store: Store, renderer: Renderer, site_dir: Path, files: FileStore,
                 base_url: str, settings: WebsiteSettings, *, fsync: bool = True,
                 clock: Clock | None = None) -> None:
        self.store = store
        self.site_dir = Path(site_dir)
        self.files = files
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.fsync = fsync
        self.pages = Pages(renderer, SiteInfo(settings.site_title, settings.site_owner, self.base_url),
                           settings)
        self.clock = clock or SystemClock()
        self.tz = renderer.tz
        self._disclosure: list[disclosure.Page] | None = None
        self._fixed_for: tuple[str, ...] | None = None  # the columns the fixed pages list
        self._facets: dict[str, tuple[int, Facets]] = {}  # column: (count, values), _facets_of
        self.known: dict[int, Ref] = {}  # titles of items seen, for previews
        self._lock = asyncio.Lock()

    def item_url(self, item_id: int) -> str:
        return f"{self.base_url}/items/{item_id}.html"

    def is_empty(self) -> bool:
        return not (self.site_dir / "index.html").exists()

    # -- entry points ---------------------------------------------------------------------
    async def rebuild_all(self) -> BuildStats:
        started = perf_counter()
        async with self._lock:
            self._fixed_for, self._facets = None, {}
            writer, batch = self._writer(), Batch()
            async with self.store.sessions() as session:
                ids = await scopes.public_ids(session)
                for start in range(0, len(ids), ITEM_BATCH):
                    views = await load_views(session, ids[start:start + ITEM_BATCH])
                    related = await self._related(session, views)
                    earlier = await versions.earlier(session, views)
                    await asyncio.to_thread(self._flush_items, batch, writer, views, related, earlier)
                for column in await scopes.columns(session, PUBLIC):
                    await self._write_scope(session, batch, Scope.of_column(column), everything=True)
                    batch.flush(writer)
                await self._write_scope(session, batch, Scope.gazette(), everything=True)
                await self._write_site(session, batch)
            batch.flush(writer)
        return self._stats(writer, started)

    async def rebuild_for(self, item_ids: Sequence[int]) -> BuildStats:
        started = perf_counter()
        async with self._lock:
            writer, batch = self._writer(), Batch()
            async with self.store.sessions() as session:
                changed = [v for v in await load_views(session, list(dict.fromkeys(item_ids)))
                           if v.state in PUBLIC]
                ids = {v.id for v in changed}
                followers = await scopes.followers(session, ids)
                linked: set[int] = set()
                for v in changed:
                    linked.update(v.interprets, v.interpretations, v.follows, followers.get(v.id, ()))
                others = [v for v in await load_views(session, sorted(linked - ids)) if v.state in PUBLIC]
                views = changed + others
                self._write_items(batch, views, await self._related(session, views),
                                  await versions.earlier(session, views))
                moves = await self._moves(session, changed)
                if not (self.site_dir / Scope.gazette().index).exists():
                    moves.setdefault(Scope.gazette(), [])
                for scope, moved in moves.items():
                    await self._write_scope(session, batch, scope, moved=moved)
                await self._write_site(session, batch)
                unused = await self._retracted_files(session, changed)
            batch.flush(writer)
            removed = self._remove(unused)
        return self._stats(writer, started, removed)

    def render_item(self, view: ItemView, related: Related) -> str:
        return self.pages.item(view, related)

    def preview_related(self, view: ItemView, bundle: Sequence[ItemView]) -> Related:
        """Related links for a page rendered without the store (``post preview``): titles come
        from the bundle, then from items this builder has seen; members of the bundle that
        interpret a policy are listed on it, as they will be once released together."""
        known = dict(self.known)
        known.update({v.id: _ref(v) for v in bundle})

        def ref(item_id: int) -> Ref:
            return known.get(item_id) or Ref(item_id, f"稿件 {item_id}", ItemState.PUBLISHED.value, "")

        interpretations = list(dict.fromkeys(
            [*view.interpretations, *(v.id for v in bundle if view.id in v.interprets)]))
        return Related(policies=tuple(ref(i) for i in view.interprets),
                       interpretations=tuple(ref(i) for i in interpretations),
                       follows=tuple(ref(i) for i in view.follows))

    # -- item pages -----------------------------------------------------------------------
    async def _related(self, session: AsyncSession, views: Sequence[ItemView]) -> dict[int, Related]:
        followers = await scopes.followers(session, {v.id for v in views})
        wanted: set[int] = set()
        for v in views:
            wanted.update(v.interprets, v.interpretations, v.follows, followers.get(v.id, ()))
        refs = {i: r for i, r in (await scopes.refs(session, wanted)).items() if r.state in PUBLIC}
        self.known.update(refs)

        def pick(ids: Iterable[int]) -> tuple[Ref, ...]:
            return tuple(refs[i] for i in ids if i in refs)

        return {v.id: Related(policies=pick(v.interprets), interpretations=pick(v.interpretations),
                              follows=pick(v.follows), followers=pick(followers.get(v.id, ())))
                for v in views}

    def _write_items(self, batch: Batch, views: Sequence[ItemView], related: dict[int, Related],
                     earlier: dict[int, tuple[versions.Version, ...]]) -> None:
        for view in views:
            self.known[view.id] = _ref(view)
            older = earlier.get(view.id, ())
            for version in older:
                if view.state in LIVE:
                    for f in (*version.view.images, *version.view.attachments):
                        batch.copy(self.files.path(f.name), f"files/{f.name}")
                batch.write(version.path, self.pages.earlier_version(version, view))
            if view.state in LIVE:
                for f in (*view.images, *view.attachments):
                    batch.copy(self.files.path(f.name), f"files/{f.name}")
            batch.write(view.path, self.pages.item(view, related.get(view.id, Related()), older))

    def _flush_items(self, batch: Batch, writer: SiteWriter, views: Sequence[ItemView],
                     related: dict[int, Related],
                     earlier: dict[int, tuple[versions.Version, ...]]) -> None:
        self._write_items(batch, views, related, earlier)
        batch.flush(writer)

    async def _retracted_files(self, session: AsyncSession, views: Sequence[ItemView]) -> list[str]:
        """Images and attachments of retracted items that no live item still shows."""
        names = {f.name for v in views if v.state == ItemState.RETRACTED
                 for f in (*v.images, *v.attachments)}
        if not names:
            return []
        still_used = set(await session.scalars(
            select(Attachment.sha256).join(Item, and_(Item.id == Attachment.item_id,
                                                      Item.published_revision == Attachment.revision))
            .where(Attachment.sha256.in_({n.split(".", 1)[0] for n in names}), Item.state.in_(LIVE))))
        return sorted(n for n in names if n.split(".", 1)[0] not in still_used)

    def _remove(self, names: Iterable[str]) -> int:
        """Take files off the site (after the pages that showed them are replaced)."""
        removed = 0
        for name in names:
            try:
                os.unlink(self.site_dir / "files" / name)
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    # -- listings -------------------------------------------------------------------------
    async def _moves(self, session: AsyncSession,
                     views: Sequence[ItemView]) -> dict[Scope, list[tuple[ItemView, Move]]]:
        former = await scopes.former_scopes(session, {v.id for v in views})
        moves: dict[Scope, list[tuple[ItemView, Move]]] = defaultdict(list)
        for v in views:
            current = {Scope.of_column(v.column)} if v.column else set()
            if v.normative:
                current.add(Scope.gazette())
            before = former.get(v.id, set())
            fresh = v.state == ItemState.PUBLISHED and v.published_at == v.first_published_at
            for scope in current:
                moves[scope].append((v, Move.ENTER if fresh or scope not in before else Move.STAY))
            for scope in before - current:
                moves[scope].append((v, Move.LEAVE))
        return moves

    async def _write_scope(self, session: AsyncSession, batch: Batch, scope: Scope, *,
                           moved: Sequence[tuple[ItemView, Move]] = (),
                           everything: bool = False) -> None:
        size = self.settings.page_size
        total = await scopes.count_public(session, scope)
        last = math.ceil(total / size)
        pages: set[int] = set(range(1, last + 1)) if everything else set()
        tail_from, leaving = None, 0
        for view, move in moved:
            if view.first_published_at is None:
                continue
            page = await scopes.rank_of(session, scope, view.first_published_at, view.id) // size + 1
            if move is Move.STAY:
                pages.add(page)
            else:
                tail_from = page if tail_from is None else min(tail_from, page)
                leaving += move is Move.LEAVE
        if tail_from is not None:
            pages.update(range(tail_from, math.ceil((total + leaving) / size) + 1))
        for page in sorted(pages):
            rows = await scopes.window(session, scope, (page - 1) * size, size)
            live = [i for i, state in reversed(rows) if state in LIVE]
            entries = await load_views(session, live)
            batch.write(scope.archive(page), self.pages.listing(scope, entries, page=page, pages=last))
            await asyncio.sleep(0)
        newest = await load_views(session, await scopes.newest_live(
            session, scope, max(size, self.settings.feed_size)))
        facets = Facets()
        if scope.kind is ScopeKind.COLUMN:
            facets = await self._facets_of(session, scope, moved, total)
            batch.write(f"columns/{scopes.legacy_slug(scope.column)}/index.html",
                        self.pages.legacy_redirect(scope.column))
        batch.write(scope.index, self.pages.listing(scope, newest[:size], page=None, pages=last,
                                                    facets=facets))
        await self._write_feeds(session, batch, scope, newest[:self.settings.feed_size])

    async def _facets_of(self, session: AsyncSession, scope: Scope,
                         moved: Sequence[tuple[ItemView, Move]], total: int) -> Facets:
        """A column's filter values. Kept between rebuilds: items newly published here only add
        their values; anything else (a correction, a retraction, a move, or items another node
        published: the column's count tells) asks the store again."""
        known = self._facets.get(scope.column)
        entered = [v for v, move in moved if move is Move.ENTER and v.state == ItemState.PUBLISHED]
        if known is None or len(entered) != len(moved) or known[0] + len(entered) != total:
            topics, issuers, all_years = await scopes.facets(session, scope, self.tz)
            facets = Facets(tuple(topics), tuple(issuers), tuple(all_years))
        else:
            facets, years = known[1], {int(self.pages.renderer.local(v.first_published_at, "%Y"))
                                       for v in entered if v.first_published_at}
            facets = Facets(
                tuple(sorted({*facets.topics, *(v.topic for v in entered if v.topic)})),
                tuple(sorted({*facets.issuers, *(v.issuer for v in entered if v.issuer)})),
                tuple(sorted({*facets.years, *years}, reverse=True)))
        self._facets[scope.column] = (total, facets)
        return facets

    async def _write_site(self, session: AsyncSession, batch: Batch) -> None:
        site = Scope.site()
        newest = await load_views(session, await scopes.newest_live(
            session, site, max(self.settings.home_size, self.settings.feed_size)))
        columns = await scopes.columns(session)
        since = self.clock.now() - timedelta(hours=self.settings.emergency_pin_hours)
        pinned = await load_views(session, await scopes.pinned(
            session, Kind.EMERGENCY.value, since, self.settings.home_size))
        batch.write("index.html", self.pages.home(newest[:self.settings.home_size], columns,
                                                   pinned))
        await self._write_feeds(session, batch, site, newest[:self.settings.feed_size])
        self._write_fixed(batch, columns)

    def _write_fixed(self, batch: Batch, columns: Sequence[str]) -> None:
        """Pages that do not list items: the 政府信息公开 entries, 404, search, assets. They
        change only with the set of columns (or the settings and templates, read at start)."""
        if self._fixed_for == tuple(columns):
            return
        self._fixed_for = tuple(columns)
        if self._disclosure is None:
            self._disclosure = disclosure.load(self.settings.disclosure, self.settings.site_owner)
        batch.write(disclosure.INDEX, self.pages.disclosure_index(columns))
        for entry in self._disclosure:
            batch.write(entry.entry.path, self.pages.disclosure_page(entry, columns))
        batch.write("404.html", self.pages.not_found())
        batch.write("search/index.html", self.pages.search_page())
        batch.write("search.js", self.pages.asset("search.js"))
        batch.write("style.css", self.pages.asset("style.css"))

    async def _write_feeds(self, session: AsyncSession, batch: Batch, scope: Scope,
                           views: Sequence[ItemView]) -> None:
        title = scope_title(scope, self.pages.site)
        if scope.kind is not ScopeKind.SITE:
            title = f"{title} - {self.settings.site_title}"
        spec = feeds.FeedSpec(
            title=title, description=f"{title}：最新公开信息",
            page_url=f"{self.base_url}/{scope.index}", rss_url=f"{self.base_url}/{scope.rss}",
            atom_url=f"{self.base_url}/{scope.atom}", owner=self.settings.site_owner,
            hub=self.settings.websub_hub)
        built = feeds.build(spec, views, item_url=lambda v: self.item_url(v.id),
                            entry_html=self.pages.feed_entry,
                            retracted_at=await scopes.latest_retraction(session, scope))
        batch.write(scope.rss, built.rss)
        batch.write(scope.atom, built.atom)

    # -- helpers --------------------------------------------------------------------------
    def _writer(self) -> SiteWriter:
        self.site_dir.mkdir(parents=True, exist_ok=True)
        return SiteWriter(self.site_dir, fsync=self.fsync)

    @staticmethod
    def _stats(writer: SiteWriter, started: float, removed: int = 0) -> BuildStats:
        return BuildStats(written=len(writer.written), unchanged=writer.unchanged,
                          seconds=perf_counter() - started, paths=tuple(writer.written),
                          removed=removed)


def _ref(view: ItemView) -> Ref:
    return Ref(view.id, view.title, view.state, view.kind)
