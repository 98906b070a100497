"""Recurring releases (rule R10): Chinese rules such as "每月第5个工作日 10:00",
"每季度首月第10个工作日 9:30" or "每月1日 9:00" parsed into a structured :class:`Rule`, the
instants they name on the working-day calendar, and one obligation (rule ``R10``, subject
``occurrence``) per occurrence.

An occurrence is met when the release made for the item attached to it fires (``met_at`` is
that instant) by the end of the occurrence's day (the obligation's due instant, as for every
rule). A reminder (``obligation.warning``) goes out once when nothing approved is attached
``lead`` working days ahead; the key is the one ``schedules.obligation_events`` uses for
warnings, so a warning is never sent twice, whichever sweep or node sees it first.
"""
from __future__ import annotations

import calendar as pycal
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content import events
from content.errors import InputError
from content.models import Obligation, Release
from content.recurring_models import Occurrence, Recurring
from schedules.calendar import WorkdayCalendar

RULE_ID = "R10"
SUBJECT = "occurrence"
HORIZON_DAYS = 100  # occurrences are made this far ahead (enough for any lead and a quarter)
EXAMPLES = "“每月第5个工作日 10:00”、“每季度首月第10个工作日 9:30”、“每月1日 9:00”"
DEFAULT_TIME = "09:00"

_RULE = re.compile(
    r"^每(?P<period>月|季度)(?P<first>首月)?\s*第?(?P<n>\d{1,2})(?P<unit>个工作日|日|号)"
    r"(?:\s*(?P<hh>\d{1,2})[:：](?P<mm>\d{2}))?$")


@dataclass(frozen=True)
class Rule:
    period: str  # month | quarter (the quarter's first month)
    day: str  # workday (the n-th working day) | calendar (the n-th of the month)
    n: int
    at: str  # HH:MM, local

    def to_json(self) -> dict[str, Any]:
        return {"period": self.period, "day": self.day, "n": self.n, "time": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        return cls(str(data["period"]), str(data["day"]), int(data["n"]), str(data["time"]))

    @property
    def label(self) -> str:
        period = "每月" if self.period == "month" else "每季度首月"
        day = f"第{self.n}个工作日" if self.day == "workday" else f"{self.n}日"
        return f"{period}{day} {self.at}"

    def months(self, year: int) -> list[int]:
        return list(range(1, 13)) if self.period == "month" else [1, 4, 7, 10]

    def date_in(self, year: int, month: int, cal: WorkdayCalendar) -> date:
        if self.day == "calendar":
            return date(year, month, min(self.n, pycal.monthrange(year, month)[1]))
        day, count = date(year, month, 1), 0
        while day.month == month:
            if cal.is_workday(day):
                count += 1
                if count == self.n:
                    return day
            day += timedelta(days=1)
        raise InputError(f"{year}年{month}月没有第{self.n}个工作日", field="rule", fix="使用较小的序号")

    def instant(self, on: date, tz: ZoneInfo) -> datetime:
        hh, mm = map(int, self.at.split(":"))
        return datetime.combine(on, time(hh, mm), tz)

    def occurrences(self, start: date, end: date, cal: WorkdayCalendar) -> list[date]:
        """Dates of the occurrences in [start, end]."""
        found = []
        year, month = start.year, start.month
        while date(year, month, 1) <= end:
            if month in self.months(year):
                day = self.date_in(year, month, cal)
                if start <= day <= end:
                    found.append(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found


def parse(text: str) -> Rule:
    """``text`` → :class:`Rule`; a clear Chinese error naming the problem otherwise."""
    raw = " ".join((text or "").split())
    m = _RULE.match(raw.replace("每季首月", "每季度首月"))
    if m is None:
        raise InputError(f"无法识别的周期规则“{text}”", field="--rule", fix=f"写成如 {EXAMPLES}")
    if m["first"] and m["period"] != "季度":
        raise InputError(f"“{text}”：只有“每季度”可以写“首月”", field="--rule", fix=f"写成如 {EXAMPLES}")
    n = int(m["n"])
    workday = m["unit"] == "个工作日"
    if n < 1 or (workday and n > 23) or (not workday and n > 31):
        limit = "1 至 23 个工作日" if workday else "1 至 31 日"
        raise InputError(f"“{text}”：序号 {n} 超出范围", field="--rule", fix=f"月内只能是 {limit}")
    hh, mm = (int(m["hh"]), int(m["mm"])) if m["hh"] else map(int, DEFAULT_TIME.split(":"))
    if hh > 23 or mm > 59:
        raise InputError(f"“{text}”：时间 {m['hh']}:{m['mm']} 无效", field="--rule", fix="时间写成 0:00 至 23:59")
    return Rule("month" if m["period"] == "月" else "quarter", "workday" if workday else "calendar",
                n, f"{hh:02d}:{mm:02d}")


def next_instants(rule: Rule, cal: WorkdayCalendar, tz: ZoneInfo, now: datetime, count: int = 3) -> list[datetime]:
    today = now.astimezone(tz).date()
    found = [rule.instant(d, tz) for d in rule.occurrences(today, today + timedelta(days=400), cal)]
    return [i for i in found if i > now][:count]


async def evaluate(session: AsyncSession, cal: WorkdayCalendar, *, tz: ZoneInfo, now: datetime) -> int:
    """Make the occurrences (and their R10 obligations) of every active schedule up to
    HORIZON_DAYS ahead, settle those whose release fired, and remind once when nothing is
    attached ``lead`` working days ahead. Idempotent; returns how many occurrences were made."""
    from schedules.obligations import due_instant

    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    today = now.astimezone(tz).date()
    made = 0
    for rec in await session.scalars(select(Recurring).where(Recurring.active.is_(True))):
        rule = Rule.from_json(rec.rule)
        for day in rule.occurrences(today, today + timedelta(days=HORIZON_DAYS), cal):
            due = rule.instant(day, tz)
            if due <= now:
                continue
            result = await session.execute(insert(Occurrence).values(
                recurring_id=rec.id, on_date=day, due_at=due, created_at=now)
                .on_conflict_do_nothing(index_elements=["recurring_id", "on_date"]))
            made += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    occurrences = list(await session.scalars(select(Occurrence).where(
        Occurrence.due_at >= now - timedelta(days=HORIZON_DAYS))))
    schedules = {r.id: r for r in await session.scalars(select(Recurring))}
    for occ in occurrences:
        rec = schedules[occ.recurring_id]
        await session.execute(insert(Obligation).values(
            rule=RULE_ID, department=rec.department, subject_type=SUBJECT, subject_id=occ.id,
            period=occ.on_date.isoformat(), starts_on=occ.created_at.astimezone(tz).date(),
            due_on=occ.on_date, due_at=due_instant(occ.on_date, tz), state="open",
            uncertain=bool(cal.fallback_years(occ.on_date)), created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["rule", "subject_type", "subject_id", "period"]))
    await _remind(session, cal, occurrences, tz=tz, now=now)
    return made


async def met(session: AsyncSession, row: Obligation) -> tuple[int | None, datetime | None]:
    """An R10 obligation is met when the release of its attached item fired."""
    occ = await session.get(Occurrence, row.subject_id)
    if occ is None or occ.release_id is None:
        return None, None
    rel = await session.get(Release, occ.release_id)
    if rel is None or rel.state != "published" or rel.fired_at is None:
        return None, None
    return occ.item_id, rel.fired_at


async def reminders_due(session: AsyncSession, cal: WorkdayCalendar, rows: Sequence[Obligation], *,
                        tz: ZoneInfo, now: datetime) -> dict[int, tuple[int, Recurring]]:
    """Of these R10 obligations, those to remind of now: still open, the occurrence ahead, its
    schedule's ``lead`` working days away or nearer, and nothing attached (a cancelled release
    leaves the occurrence without an item). Obligation id → (working days left, schedule)."""
    rows = [r for r in rows if r.rule == RULE_ID and r.subject_type == SUBJECT and r.state == "open"]
    if not rows:
        return {}
    occurrences = {o.id: o for o in await session.scalars(
        select(Occurrence).where(Occurrence.id.in_([r.subject_id for r in rows])))}
    schedules = {r.id: r for r in await session.scalars(select(Recurring).where(
        Recurring.id.in_({o.recurring_id for o in occurrences.values()})))}
    releases = {r.id: r for r in await session.scalars(select(Release).where(
        Release.id.in_({o.release_id for o in occurrences.values() if o.release_id is not None})))}
    today = now.astimezone(tz).date()
    due: dict[int, tuple[int, Recurring]] = {}
    for row in rows:
        occ = occurrences.get(row.subject_id)
        if occ is None or occ.due_at <= now:
            continue
        rel = releases.get(occ.release_id) if occ.release_id is not None else None
        if rel is not None and rel.state != "cancelled":
            continue  # attached
        rec = schedules[occ.recurring_id]
        left = cal.workdays_between(today, occ.on_date)
        if left <= rec.lead_workdays:
            due[row.id] = (max(left, 0), rec)
    return due


async def _remind(session: AsyncSession, cal: WorkdayCalendar, occurrences: list[Occurrence], *,
                  tz: ZoneInfo, now: datetime) -> int:
    """The webhooks' reminder (with the schedule and the working days left); the duty contacts
    are told by schedules.notices, which asks :func:`reminders_due` too."""
    from schedules.obligation_events import key
    from schedules.obligations import STATE_LABELS, State, to_json

    rows = list(await session.scalars(select(Obligation).where(
        Obligation.rule == RULE_ID, Obligation.subject_type == SUBJECT,
        Obligation.subject_id.in_([o.id for o in occurrences if o.due_at > now]))))
    due = await reminders_due(session, cal, rows, tz=tz, now=now)
    sent = 0
    for row in rows:
        if row.id not in due:
            continue
        left, rec = due[row.id]
        payload = {**to_json(row), "state_label": STATE_LABELS[State(row.state)],
                   "working_days_left": left, "recurring": {"id": rec.id, "name": rec.name},
                   "reason": "no_item_attached"}
        if await events.emit(session, "obligation.warning", payload, now=now, once=key(row, "warning")):
            sent += 1
    return sent
