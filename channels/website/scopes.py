"""What a listing covers (the whole site, one column, the gazette) and the queries behind it.

Listings are ordered by first publication, ``(first_published_at, id)``: a correction does not
move an item, so archive pages stay put. Archive pages are cut by rank among every item that was
ever public in the scope, retracted ones included (they are hidden, not removed), so a retraction
rewrites only the page that held the item and an addition only the last page.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import and_, func, or_, select
from pypinyin import lazy_pinyin
from sqlalchemy.ext.asyncio import AsyncSession

from content.kinds import PUBLIC_STATES, ItemState, RevisionStatus
from content.models import Item, Link, Revision

LIVE = (ItemState.PUBLISHED.value, ItemState.CORRECTED.value)
PUBLIC = tuple(s.value for s in PUBLIC_STATES)
GAZETTE_TITLE = "政府公报"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class ScopeKind(StrEnum):
    SITE = "site"
    COLUMN = "column"
    GAZETTE = "gazette"


def legacy_slug(name: str) -> str:
    """The hashed directory name columns had before readable slugs (kept as redirects)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]


@lru_cache(maxsize=4096)
def column_slug(name: str) -> str:
    """A stable, readable ASCII directory name for a (usually Chinese) column name: its pinyin
    (政策文件 → zheng-ce-wen-jian); the hashed name when nothing readable is left."""
    words = lazy_pinyin(name)  # characters without pinyin stay as they are
    slug = _NOT_SLUG.sub("-", "-".join(words).lower()).strip("-")
    return slug[:60].strip("-") or legacy_slug(name)


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    column: str = ""

    @classmethod
    def site(cls) -> Scope:
        return cls(ScopeKind.SITE)

    @classmethod
    def of_column(cls, name: str) -> Scope:
        return cls(ScopeKind.COLUMN, name)

    @classmethod
    def gazette(cls) -> Scope:
        return cls(ScopeKind.GAZETTE)

    @property
    def dir(self) -> str:
        """The scope's directory relative to the site root ('' or ending in '/')."""
        if self.kind is ScopeKind.COLUMN:
            return f"columns/{column_slug(self.column)}/"
        if self.kind is ScopeKind.GAZETTE:
            return "gazette/"
        return ""

    @property
    def index(self) -> str:
        return self.dir + "index.html"

    @property
    def rss(self) -> str:
        return self.dir + "rss.xml"

    @property
    def atom(self) -> str:
        return self.dir + "atom.xml"

    def archive(self, page: int) -> str:
        return f"{self.dir}page-{page}.html"


@dataclass(frozen=True)
class Ref:
    """Just enough of a related item to link to it."""

    id: int
    title: str
    state: str
    kind: str
    published_at: datetime | None = None  # first publication (the follow-up timeline shows it)

    @property
    def path(self) -> str:
        return f"items/{self.id}.html"

    @property
    def retracted(self) -> bool:
        return self.state == ItemState.RETRACTED


def _scoped(stmt, scope: Scope):  # noqa: ANN001, ANN202 - a Select
    if scope.kind is ScopeKind.COLUMN:
        return stmt.where(Item.column_name == scope.column)
    if scope.kind is ScopeKind.GAZETTE:
        return stmt.join(Revision, and_(Revision.item_id == Item.id,
                                        Revision.number == Item.published_revision)) \
            .where(Revision.normative.is_(True))
    return stmt


async def newest_live(session: AsyncSession, scope: Scope, n: int) -> list[int]:
    """The ``n`` most recently (first) published live items, newest first."""
    stmt = _scoped(select(Item.id).where(Item.state.in_(LIVE)), scope)
    rows = await session.scalars(stmt.order_by(Item.first_published_at.desc(), Item.id.desc()).limit(n))
    return list(rows)


async def count_public(session: AsyncSession, scope: Scope) -> int:
    stmt = _scoped(select(func.count()).select_from(Item).where(Item.state.in_(PUBLIC)), scope)
    return int(await session.scalar(stmt) or 0)


async def rank_of(session: AsyncSession, scope: Scope, first_published_at: datetime,
                  item_id: int) -> int:
    """How many public items of the scope come before this position (0-based rank)."""
    before = or_(Item.first_published_at < first_published_at,
                 and_(Item.first_published_at == first_published_at, Item.id < item_id))
    stmt = _scoped(select(func.count()).select_from(Item).where(Item.state.in_(PUBLIC), before), scope)
    return int(await session.scalar(stmt) or 0)


async def window(session: AsyncSession, scope: Scope, offset: int, size: int | None) -> list[tuple[int, str]]:
    """(id, state) of public items by rank, oldest first, from ``offset``."""
    stmt = _scoped(select(Item.id, Item.state).where(Item.state.in_(PUBLIC)), scope)
    stmt = stmt.order_by(Item.first_published_at, Item.id).offset(offset)
    if size is not None:
        stmt = stmt.limit(size)
    return [(i, s) for i, s in await session.execute(stmt)]


async def latest_retraction(session: AsyncSession, scope: Scope) -> datetime | None:
    stmt = _scoped(select(func.max(Item.retracted_at)).where(
        Item.state == ItemState.RETRACTED.value), scope)
    return await session.scalar(stmt)


async def columns(session: AsyncSession, states: tuple[str, ...] = LIVE) -> list[str]:
    rows = await session.scalars(select(Item.column_name).where(Item.state.in_(states))
                                 .group_by(Item.column_name).order_by(Item.column_name))
    return [c for c in rows if c]


async def public_ids(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(Item.id).where(Item.state.in_(PUBLIC)).order_by(Item.id)))


async def refs(session: AsyncSession, ids: set[int]) -> dict[int, Ref]:
    if not ids:
        return {}
    number = func.coalesce(Item.published_revision, Item.current_revision)
    rows = await session.execute(
        select(Item.id, Revision.title, Item.state, Item.kind, Item.first_published_at)
        .join(Revision, and_(Revision.item_id == Item.id, Revision.number == number))
        .where(Item.id.in_(ids)))
    return {i: Ref(i, t, s, k, at) for i, t, s, k, at in rows}


async def followers(session: AsyncSession, ids: set[int]) -> dict[int, tuple[int, ...]]:
    """Live follow-ups (rel ``follows``) of each item, oldest first. Two indexed look-ups: the
    links first, then their items (a join lets SQLite scan every live item instead)."""
    if not ids:
        return {}
    links = list(await session.execute(select(Link.to_item_id, Link.from_item_id).where(
        Link.to_item_id.in_(ids), Link.rel == "follows")))
    if not links:
        return {}
    live = {i: (at, i) for i, at in await session.execute(
        select(Item.id, Item.first_published_at).where(
            Item.id.in_({f for _, f in links}), Item.state.in_(LIVE)))}
    found: dict[int, list[int]] = defaultdict(list)
    for to_id, from_id in links:
        if from_id in live:
            found[to_id].append(from_id)
    return {k: tuple(sorted(v, key=live.__getitem__)) for k, v in found.items()}


async def former_scopes(session: AsyncSession, ids: set[int]) -> dict[int, set[Scope]]:
    """Column and gazette scopes that earlier published revisions (before a correction) were in."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Revision.item_id, Revision.column_name, Revision.normative)
        .where(Revision.item_id.in_(ids), Revision.status == RevisionStatus.SUPERSEDED.value))
    found: dict[int, set[Scope]] = defaultdict(set)
    for item_id, column, normative in rows:
        if column:
            found[item_id].add(Scope.of_column(column))
        if normative:
            found[item_id].add(Scope.gazette())
    return dict(found)


def _published_revision():  # noqa: ANN202 - a join condition
    return and_(Revision.item_id == Item.id, Revision.number == Item.published_revision)


async def facets(session: AsyncSession, scope: Scope,
                 tz: tzinfo) -> tuple[list[str], list[str], list[int]]:
    """The 主题分类, 发文机关 and years (of first publication, in ``tz``) of a scope's live items."""
    base = select(Revision.topic, Revision.issuer).select_from(Item)
    if scope.kind is not ScopeKind.GAZETTE:  # the gazette's scoping joins the revision itself
        base = base.join(Revision, _published_revision())
    base = _scoped(base.where(Item.state.in_(LIVE)), scope)
    rows = list(await session.execute(base.distinct()))
    span = _scoped(select(func.min(Item.first_published_at), func.max(Item.first_published_at))
                   .where(Item.state.in_(LIVE)), scope)
    first, last = (await session.execute(span)).one()
    years = list(range(last.astimezone(tz).year, first.astimezone(tz).year - 1, -1)) \
        if first and last else []
    return (sorted({t for t, _ in rows if t}), sorted({i for _, i in rows if i}), years)


async def pinned(session: AsyncSession, kind: str, since: datetime, n: int) -> list[int]:
    """Live items of ``kind`` first published at or after ``since``, newest first."""
    rows = await session.scalars(
        select(Item.id).where(Item.state.in_(LIVE), Item.kind == kind,
                              Item.first_published_at >= since)
        .order_by(Item.first_published_at.desc(), Item.id.desc()).limit(n))
    return list(rows)
