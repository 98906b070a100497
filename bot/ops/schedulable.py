"""What the bundle builder (发布计划 → 新建) offers: the approved items not yet in a release,
newest first, optionally filtered by title, and the bundle a chosen item proposes (rule R2: a
policy with its approved interpretations, as ``post approve`` proposes it). Every account may
read it; creating the release is ``ops.releases.create``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.ops import Who, any_role
from bot.ops.items import _bundle
from content.kinds import ItemState
from content.models import Item, Revision

if TYPE_CHECKING:
    from bot.service import Service

LIMIT = 100


@dataclass(frozen=True)
class Candidate:
    id: int
    kind: str
    title: str
    department: str


@dataclass(frozen=True)
class Choices:
    candidates: tuple[Candidate, ...]  # approved items, newest first (at most LIMIT, plus the bundle)
    preselected: tuple[int, ...]  # the bundle of the item asked for, policy first
    waiting: tuple[int, ...]  # members of that bundle still under review
    more: bool  # more approved items match than are listed


async def choices(svc: Service, who: Who, *, item_id: int | None = None, query: str = "") -> Choices:
    any_role(who, "查看可排期的稿件")
    async with svc.store.sessions() as s:
        bundle: list[int] = []
        waiting: list[int] = []
        if item_id is not None:
            bundle, waiting = await _bundle(s, item_id)
        base = (select(Item.id, Item.kind, Revision.title, Item.department)
                .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision)))
        listed = base.where(Item.state == ItemState.APPROVED.value)
        if query.strip():
            listed = listed.where(Revision.title.contains(query.strip(), autoescape=True))
        rows = list(await s.execute(listed.order_by(Item.updated_at.desc(), Item.id.desc()).limit(LIMIT + 1)))
        more = len(rows) > LIMIT
        found = {r[0]: Candidate(*r) for r in rows[:LIMIT]}
        missing = [i for i in bundle if i not in found]
        if missing:
            found.update({r[0]: Candidate(*r) for r in await s.execute(base.where(Item.id.in_(missing)))})
    ordered = [found[i] for i in bundle if i in found] + [c for i, c in found.items() if i not in bundle]
    return Choices(tuple(ordered), tuple(i for i in bundle if i not in waiting), tuple(waiting), more)
