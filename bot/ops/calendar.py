"""The release calendar (发布计划) for a month or an ISO week: days (holidays, 调休 working days),
releases, statutory deadlines, and each channel's notes (a day's WeChat push quota use, the SMS
quiet hours). Every account may read it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ops import Who, any_role
from bot.ops import queue as queue_ops
from schedules import plan_calendar

if TYPE_CHECKING:
    from bot.service import Service
    from channels.plan_notes import DayNote


async def calendar(svc: Service, who: Who, *, month: str | None = None, week: str | None = None,
                   per_day: int | None = None, slots: bool = False) -> plan_calendar.PlanCalendar:
    """``month`` (2026-12) or ``week`` (2026-W49); the current month when neither is given.
    ``per_day``: list at most that many releases a day (``Day.more`` counts the rest; the week
    of that day lists them all). ``slots``: each day's posting slots as the queue judges them."""
    any_role(who, "查看发布计划")
    tz, now = svc.settings.tz, svc.clock.now()
    span = plan_calendar.parse_span(month=month, week=week, today=now.astimezone(tz).date())
    async with svc.store.sessions() as session:
        cal = await plan_calendar.build(session, svc.calendar, span, tz=tz, now=now, per_day=per_day)
    if slots:
        cal = plan_calendar.with_slots(cal, await queue_ops.slot_states(svc, span.first, span.last))
    notes: list[DayNote] = []
    for name in svc.enabled_channel_names():
        hook = getattr(svc.channel(name), "calendar_notes", None)
        if hook is not None:
            notes += await hook(span.first, span.last)
    return plan_calendar.with_notes(cal, notes)
