"""Topics that pushes are subscribed by: a column name, a department name, ``emergency``, ``all``."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.kinds import KINDS, PUBLIC_STATES, Kind
from content.models import Item
from content.views import ItemView

ALL = "all"
EMERGENCY = "emergency"


def release_topics(items: Iterable[ItemView]) -> set[str]:
    """The topics whose subscribers a release reaches: its items' columns and departments,
    ``all``, and ``emergency`` when an item is an emergency brief."""
    topics = {ALL}
    for item in items:
        topics.update(t for t in (item.column, item.department) if t)
        if item.kind == Kind.EMERGENCY:
            topics.add(EMERGENCY)
    return topics


@dataclass(frozen=True)
class Catalogue:
    """The topics one can subscribe to: ``all``, ``emergency``, the columns (every kind's default
    column and every column an item was filed under) and the departments items came from."""

    columns: tuple[str, ...]
    departments: tuple[str, ...]

    @property
    def known(self) -> frozenset[str]:
        return frozenset({ALL, EMERGENCY, *self.columns, *self.departments})

    def unknown(self, topics: Iterable[str]) -> list[str]:
        known = self.known
        return [t for t in topics if t not in known]


async def catalogue(session: AsyncSession, *, public_only: bool = False) -> Catalogue:
    """The topics of the store; ``public_only`` counts only items visible on the public site
    (what a public subscription page offers)."""
    query = select(Item.column_name, Item.department).distinct()
    if public_only:
        query = query.where(Item.state.in_([state.value for state in PUBLIC_STATES]))
    rows = list(await session.execute(query))
    columns = dict.fromkeys([k.default_column for k in KINDS.values()] + sorted(c for c, _ in rows if c))
    return Catalogue(tuple(columns), tuple(sorted({d for _, d in rows if d})))
