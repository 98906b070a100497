"""Announcing obligations to webhook subscribers: ``obligation.warning`` once when an open
obligation enters its rule's warning window (``warn_workdays`` working days before its due day,
as the duty board counts them), ``obligation.missed`` once when it is missed or met late.

Each event is recorded with a key (``obligation:<id>:warning`` / ``:missed``) that makes it
happen once, however many sweeps and nodes see the transition (see ``content.events.emit``).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content import events
from content.models import Obligation
from schedules.calendar import WorkdayCalendar

RECENT_DAYS = 30  # an obligation met late this recently is announced if it was not yet


#: the key of each stage's event: a warning before the due day, one on it, the miss
STAGE_KEYS = {"before": "warning", "due_day": "due-day", "missed": "missed"}


def key(row: Obligation, what: str) -> str:
    return f"obligation:{row.id}:{what}"


def stage_key(row: Obligation, stage: str) -> str:
    """The once-key of ``row``'s event for a warning stage (schedules.notices): the same as
    :func:`announce` uses, whichever of the two sees the stage first."""
    return key(row, STAGE_KEYS[stage])


async def announce(session: AsyncSession, calendar: WorkdayCalendar, rules: Mapping[str, Any], *,
                   tz: ZoneInfo, now: datetime) -> int:
    """Emit the warnings and misses not announced yet; returns how many were emitted."""
    from schedules.notices import HORIZON, stage_due  # the stages the duty contacts are told of
    from schedules.obligations import STATE_LABELS, State, to_json

    today = now.astimezone(tz).date()
    horizon = now + HORIZON  # enough for any lead (R6/R7 warn a month before the period ends)
    owed: list[tuple[str, Obligation]] = []  # (stage, obligation)
    for row in await session.scalars(select(Obligation).where(
            Obligation.state == State.OPEN.value, Obligation.due_at <= horizon)):
        if row.rule == "R10":  # a recurring occurrence is reminded by schedules.recurring (its own lead)
            continue
        stage = stage_due(row, rules.get(row.rule), calendar, tz, now)
        if stage in ("before", "due_day"):  # each warning stage once: before the day, and on it
            owed.append((stage, row))
    for row in await session.scalars(select(Obligation).where(
            (Obligation.state == State.MISSED.value)
            | ((Obligation.state == State.LATE.value) & (Obligation.updated_at >= now - timedelta(days=RECENT_DAYS))))):
        owed.append(("missed", row))
    done = await events.happened(session, [stage_key(row, stage) for stage, row in owed])
    todo = []
    for stage, row in owed:
        if stage_key(row, stage) in done:
            continue
        payload = {**to_json(row), "state_label": STATE_LABELS[State(row.state)], "stage": stage}
        if stage != "missed":
            payload["working_days_left"] = max(calendar.workdays_between(today, row.due_on), 0)
        todo.append(("obligation.missed" if stage == "missed" else "obligation.warning", payload,
                     stage_key(row, stage)))
    return sum(1 for made in await events.emit_once_many(session, todo, now=now) if made)
