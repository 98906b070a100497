"""The item list: filters, search over the current titles and bodies that works for Chinese,
and keyset pagination that stays fast at 100,000 items.

Text is matched as substrings (Chinese has no spaces between words): on SQLite through the FTS5
trigram table ``revisions_fts``, on PostgreSQL through the pg_trgm GIN indexes (both made by
migration ``search_0001``). A term shorter than three characters has no trigram; it is matched
with a plain ``LIKE`` instead. Several terms separated by spaces must all occur.

Pages are cut by item id, newest first: ``before`` asks for the items older than an id, ``after``
for the newer ones (the previous page), so a page costs the same however deep it is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, column, func, literal_column, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from content.errors import InputError
from content.kinds import ItemState, parse_kind
from content.models import Item, Revision
from content.textguard import refuse_controls

MAX_PER_PAGE = 1000
MAX_TERMS = 8
MAX_TEXT = 100
TRIGRAM = 3
COUNT_CAP = 1000


@dataclass(frozen=True)
class ItemFilters:
    state: str | None = None
    kind: str | None = None
    department: str | None = None
    column: str | None = None
    author: str | None = None
    since: date | None = None  # last changed on or after this day (in ``zone``)
    until: date | None = None  # … on or before this day
    text: str = ""
    zone: str = "Asia/Shanghai"

    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for t in re.split(r"\s+", self.text.strip()) if t))


@dataclass(frozen=True)
class ItemRow:
    id: int
    kind: str
    state: str
    title: str
    department: str
    column: str
    author: str
    revision: int
    updated_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class Page:
    rows: tuple[ItemRow, ...]
    total: int  # at most COUNT_CAP + 1 for a text search (see ``more_than``)
    per_page: int
    before: int | None  # the cursor of the next (older) page, None on the last page
    after: int | None  # the cursor of the previous (newer) page, None on the first page

    @property
    def more_than(self) -> int | None:
        """COUNT_CAP when a text search matched more items than were counted."""
        return COUNT_CAP if self.total > COUNT_CAP else None


def check_filters(filters: ItemFilters) -> ItemFilters:
    """Refuse filters no item can match because they are malformed, naming the fix."""
    if filters.state is not None and filters.state not in {s.value for s in ItemState}:
        raise InputError(f"未知状态“{filters.state}”", field="state",
                         fix="可用：" + "、".join(s.value for s in ItemState))
    if filters.kind is not None:
        filters = _replace(filters, kind=parse_kind(filters.kind).value)
    if filters.since and filters.until and filters.since > filters.until:
        raise InputError("开始日期晚于结束日期", field="since", fix="交换两个日期")
    if len(filters.text) > MAX_TEXT:
        raise InputError(f"搜索词过长（{len(filters.text)} 字，上限 {MAX_TEXT}）", field="text",
                         fix="用几个关键词搜索")
    refuse_controls(filters.text, field="text")
    if len(filters.terms()) > MAX_TERMS:
        raise InputError(f"搜索词太多（上限 {MAX_TERMS} 个）", field="text", fix="减少关键词")
    return filters


def _replace(filters: ItemFilters, **changes: object) -> ItemFilters:
    from dataclasses import replace

    return replace(filters, **changes)  # type: ignore[arg-type]


_FTS = table("items_fts", column("rowid", Integer), column("title"), column("body"))


async def search(session: AsyncSession, filters: ItemFilters, *, before: int | None = None,
                 after: int | None = None, per_page: int = 50) -> Page:
    """One page of items matching ``filters``, newest first."""
    filters = check_filters(filters)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    terms = filters.terms()
    use_fts = dialect == "sqlite" and bool(terms)
    key = _FTS.c.rowid if use_fts else Item.id
    conditions = _conditions(filters, indexed=not use_fts) + (
        _fts_terms(terms) if use_fts else [_like(t) for t in terms])

    def query(*extra: ColumnElement[bool]) -> Select:
        q = select(Item, Revision.title)
        if use_fts:
            q = q.select_from(_FTS).join(Item, Item.id == _FTS.c.rowid)
        return q.join(Revision, _CURRENT).where(*conditions, *extra)

    if after is not None:
        found = list(await session.execute(query(key > after).order_by(key.asc()).limit(per_page + 1)))
        more = len(found) > per_page
        found = found[:per_page][::-1]
    else:
        extra = (key < before,) if before is not None else ()
        found = list(await session.execute(query(*extra).order_by(key.desc()).limit(per_page + 1)))
        more = len(found) > per_page
        found = found[:per_page]
    rows = tuple(_row(item, title) for item, title in found)
    counted = query().with_only_columns(Item.id) if terms else select(Item.id).where(*conditions)
    if terms:  # a common word matches most items: count up to a bound, the page says "more than"
        counted = counted.limit(COUNT_CAP + 1)
    total = int(await session.scalar(select(func.count()).select_from(counted.subquery())) or 0)
    if after is not None:
        older = bool(rows) and await _exists(session, query(key < rows[-1].id))
        newer = more
    else:
        older = more
        newer = before is not None and bool(rows) and await _exists(session, query(key > rows[0].id))
    return Page(rows=rows, total=total, per_page=per_page,
                before=rows[-1].id if rows and older else None,
                after=rows[0].id if rows and newer else None)


_CURRENT = and_(Revision.item_id == Item.id, Revision.number == Item.current_revision)


def _row(item: Item, title: str) -> ItemRow:
    return ItemRow(id=item.id, kind=item.kind, state=item.state, title=title,
                   department=item.department, column=item.column_name, author=item.created_by,
                   revision=item.current_revision, updated_at=item.updated_at,
                   published_at=item.published_at)


async def _exists(session: AsyncSession, query: Select) -> bool:
    return await session.scalar(query.with_only_columns(Item.id).limit(1)) is not None


def _conditions(filters: ItemFilters, *, indexed: bool) -> list[ColumnElement[bool]]:
    """Without ``indexed`` the columns are compared as expressions (``state || ''``), which no
    index answers: SQLite then has to walk the search index's matches newest first (and stops
    after a page) rather than walking, say, every published item and running the text query
    once for each."""
    found: list[ColumnElement[bool]] = []
    for value, col in ((filters.state, Item.state), (filters.kind, Item.kind),
                       (filters.department, Item.department), (filters.column, Item.column_name),
                       (filters.author, Item.created_by)):
        if value:
            found.append((col if indexed else col.concat("")) == value)
    zone = ZoneInfo(filters.zone)
    if filters.since:
        found.append(Item.updated_at >= datetime.combine(filters.since, time(), zone))
    if filters.until:
        found.append(Item.updated_at < datetime.combine(filters.until + timedelta(days=1), time(), zone))
    return found


def _like(term: str) -> ColumnElement[bool]:
    """PostgreSQL: ``LIKE '%term%'`` is answered from the pg_trgm GIN indexes (3+ characters)."""
    return or_(Revision.title.contains(term, autoescape=True),
               Revision.body_md.contains(term, autoescape=True))


def _fts_terms(terms: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """SQLite: the terms of three or more characters as one FTS5 query of quoted phrases (all
    must occur), the shorter ones as LIKE on the index's own copy of the text."""
    found: list[ColumnElement[bool]] = []
    long = [t for t in terms if len(t) >= TRIGRAM]
    if long:
        phrases = " ".join('"' + t.replace('"', '""') + '"' for t in long)
        found.append(literal_column("items_fts").op("MATCH")(phrases))
    for term in terms:
        if len(term) < TRIGRAM:
            found.append(or_(_FTS.c.title.contains(term, autoescape=True),
                             _FTS.c.body.contains(term, autoescape=True)))
    return found
