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

from sqlalchemy import Select, and_, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from content.errors import InputError
from content.kinds import ItemState, parse_kind
from content.models import Item, Revision
from content.textguard import refuse_controls

MAX_PER_PAGE = 200
MAX_TERMS = 8
MAX_TEXT = 100
TRIGRAM = 3


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
    total: int
    per_page: int
    before: int | None  # the cursor of the next (older) page, None on the last page
    after: int | None  # the cursor of the previous (newer) page, None on the first page


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


async def search(session: AsyncSession, filters: ItemFilters, *, before: int | None = None,
                 after: int | None = None, per_page: int = 50) -> Page:
    """One page of items matching ``filters``, newest first."""
    filters = check_filters(filters)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    base = (select(Item, Revision.title)
            .join(Revision, and_(Revision.item_id == Item.id, Revision.number == Item.current_revision)))
    conditions = _conditions(filters, dialect)
    query = base.where(*conditions)
    if after is not None:
        page_q = query.where(Item.id > after).order_by(Item.id.asc()).limit(per_page + 1)
    else:
        if before is not None:
            query = query.where(Item.id < before)
        page_q = query.order_by(Item.id.desc()).limit(per_page + 1)
    found = list(await session.execute(page_q))
    more = len(found) > per_page
    found = found[:per_page]
    if after is not None:
        found.reverse()
    rows = tuple(_row(item, title) for item, title in found)
    total = await _count(session, conditions, join=bool(filters.terms()))
    if after is not None:
        older = await _exists(session, conditions, Item.id < rows[-1].id) if rows else False
        newer = more
    else:
        older = more
        newer = before is not None and bool(rows) and await _exists(session, conditions, Item.id > rows[0].id)
    return Page(rows=rows, total=total, per_page=per_page,
                before=rows[-1].id if rows and older else None,
                after=rows[0].id if rows and newer else None)


def _row(item: Item, title: str) -> ItemRow:
    return ItemRow(id=item.id, kind=item.kind, state=item.state, title=title,
                   department=item.department, column=item.column_name, author=item.created_by,
                   revision=item.current_revision, updated_at=item.updated_at,
                   published_at=item.published_at)


async def _count(session: AsyncSession, conditions: list, *, join: bool) -> int:
    q: Select = select(func.count()).select_from(Item)
    if join:
        q = q.join(Revision, and_(Revision.item_id == Item.id, Revision.number == Item.current_revision))
    return int(await session.scalar(q.where(*conditions)) or 0)


async def _exists(session: AsyncSession, conditions: list, extra) -> bool:  # noqa: ANN001
    q = (select(Item.id)
         .join(Revision, and_(Revision.item_id == Item.id, Revision.number == Item.current_revision))
         .where(*conditions, extra).limit(1))
    return await session.scalar(q) is not None


def _conditions(filters: ItemFilters, dialect: str) -> list:
    found: list = []
    if filters.state:
        found.append(Item.state == filters.state)
    if filters.kind:
        found.append(Item.kind == filters.kind)
    if filters.department:
        found.append(Item.department == filters.department)
    if filters.column:
        found.append(Item.column_name == filters.column)
    if filters.author:
        found.append(Item.created_by == filters.author)
    zone = ZoneInfo(filters.zone)
    if filters.since:
        found.append(Item.updated_at >= datetime.combine(filters.since, time(), zone))
    if filters.until:
        found.append(Item.updated_at < datetime.combine(filters.until + timedelta(days=1), time(), zone))
    for term in filters.terms():
        found.append(_text_condition(term, dialect))
    return found


def _text_condition(term: str, dialect: str):  # noqa: ANN202
    like = (Revision.title.contains(term, autoescape=True)
            | Revision.body_md.contains(term, autoescape=True))
    if dialect != "sqlite" or len(term) < TRIGRAM:
        # PostgreSQL: LIKE '%term%' is answered from the pg_trgm GIN indexes (3+ characters)
        return or_(like)
    phrase = '"' + term.replace('"', '""') + '"'
    fts = literal_column("revisions_fts")
    matched = select(literal_column("rowid")).select_from(text("revisions_fts")).where(fts.op("MATCH")(phrase))
    return Revision.id.in_(matched)
