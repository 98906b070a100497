"""Search of the public site answered from the store: the fallback that works without
JavaScript when the bot serves the site (the static site's own index is Pagefind's, see
``search_index``). Matching is by substring (SQL ``LIKE``), which suits Chinese text with no
word breaks: every whitespace-separated term must occur in the title, summary or body."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.website.scopes import LIVE
from content.models import Item, Revision

MAX_TERMS = 5
MAX_QUERY = 100


@dataclass(frozen=True)
class Query:
    text: str = ""
    column: str = ""
    topic: str = ""
    issuer: str = ""
    year: int | None = None
    page: int = 1

    @property
    def terms(self) -> list[str]:
        return self.text[:MAX_QUERY].split()[:MAX_TERMS]

    @property
    def empty(self) -> bool:
        return not (self.terms or self.column or self.topic or self.issuer or self.year)


@dataclass(frozen=True)
class Hits:
    total: int
    ids: list[int]


def _filtered(stmt, query: Query, tz: tzinfo):  # noqa: ANN001, ANN202 - a Select
    stmt = stmt.join(Revision, and_(Revision.item_id == Item.id,
                                    Revision.number == Item.published_revision)) \
        .where(Item.state.in_(LIVE))
    for term in query.terms:
        # % and _ in a search term are literal (as in `subscribers list --search`)
        stmt = stmt.where(or_(Revision.title.contains(term, autoescape=True),
                              Revision.summary.contains(term, autoescape=True),
                              Revision.body_html.contains(term, autoescape=True)))
    if query.column:
        stmt = stmt.where(Item.column_name == query.column)
    if query.topic:
        stmt = stmt.where(Revision.topic == query.topic)
    if query.issuer:
        stmt = stmt.where(Revision.issuer == query.issuer)
    if query.year:
        start = datetime(query.year, 1, 1, tzinfo=tz)
        end = datetime(query.year + 1, 1, 1, tzinfo=tz)
        stmt = stmt.where(Item.first_published_at >= start, Item.first_published_at < end)
    return stmt


async def search(session: AsyncSession, query: Query, tz: tzinfo, size: int) -> Hits:
    """Live items matching ``query``, newest first, one page of ``size``."""
    if query.empty:
        return Hits(0, [])
    total = await session.scalar(_filtered(select(func.count()).select_from(Item), query, tz))
    rows = await session.scalars(
        _filtered(select(Item.id), query, tz)
        .order_by(Item.first_published_at.desc(), Item.id.desc())
        .offset((max(query.page, 1) - 1) * size).limit(size))
    return Hits(int(total or 0), list(rows))
