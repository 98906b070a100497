"""Rule R1: a policy's interpretation is out within N working days (default 3) of the policy's
actual publication. Computed on the working-day calendar; never raises for uncovered years."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.kinds import ItemState, Kind
from content.models import Item, Link, Revision
from schedules.calendar import WorkdayCalendar

LIVE = (ItemState.PUBLISHED.value, ItemState.CORRECTED.value)


@dataclass(frozen=True)
class Deadline:
    policy_id: int
    title: str
    published_at: datetime
    due: date  # last local day on which the interpretation is on time
    pending_interpretations: tuple[int, ...]  # linked but not yet published
    state: str  # open | overdue
    workdays_left: int
    uncertain_years: tuple[int, ...]  # years computed without official data


def interpretation_due(calendar: WorkdayCalendar, published_at: datetime, tz: ZoneInfo,
                       workdays: int = 3) -> date:
    return calendar.add_workdays(published_at.astimezone(tz).date(), workdays)


async def open_interpretation_deadlines(session: AsyncSession, calendar: WorkdayCalendar, *,
                                        tz: ZoneInfo, now: datetime, workdays: int = 3,
                                        lookback_days: int = 60) -> list[Deadline]:
    """Published policies without a published interpretation."""
    policies = list(await session.execute(
        select(Item.id, Item.first_published_at, Revision.title)
        .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.published_revision))
        .where(Item.kind == Kind.POLICY.value, Item.state.in_(LIVE),
               Item.first_published_at >= now - timedelta(days=lookback_days))
        .order_by(Item.first_published_at)))
    if not policies:
        return []
    links = list(await session.execute(
        select(Link.to_item_id, Item.id, Item.state).join(Item, Item.id == Link.from_item_id)
        .where(Link.rel == "interprets", Link.to_item_id.in_([p[0] for p in policies]))))
    today = now.astimezone(tz).date()
    result = []
    for policy_id, published_at, title in policies:
        mine = [(iid, st) for pid, iid, st in links if pid == policy_id]
        if any(st in LIVE for _, st in mine):
            continue
        assert published_at is not None  # the query keeps only published policies
        due = interpretation_due(calendar, published_at, tz, workdays)
        left = calendar.workdays_between(today, due)
        result.append(Deadline(
            policy_id, title, published_at, due,
            tuple(iid for iid, st in mine if st != ItemState.RETRACTED),
            "overdue" if today > due else "open", left,
            tuple(calendar.fallback_years(published_at.astimezone(tz).date(), due))))
    return result
