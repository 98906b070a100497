"""The release calendar (发布计划) as data: for a month or an ISO week in the configured zone,
each day's working-day status (holidays, 调休 working days), the releases due that day with
their items and channels, and the statutory deadlines (obligations) due that day.

Two range queries on indexed instants (``releases.due_at``, ``obligations.due_at``) and one
query each for the members and subjects of what they found, so a page answers in the same
time with 100 or 100,000 items. A month view lists at most ``per_day`` releases a day (a slim
query of ids and instants counts the rest, ``Day.more``; the week view lists them all).
Channels add their own lines (``channels.plan_notes``)."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.errors import InputError
from content.models import Item, Obligation, Release, ReleaseItem, Revision
from schedules.calendar import DayInfo, Source, WorkdayCalendar
from schedules.obligations import RULE_LABELS, STATE_LABELS, State

WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
SHOWN_STATES = ("pending", "held", "published")  # a cancelled release is not on the calendar


class View(StrEnum):
    MONTH = "month"
    WEEK = "week"


@dataclass(frozen=True)
class Span:
    """The days a page shows: a month (whole weeks, Monday first, around it) or an ISO week."""

    view: View
    key: str  # 2026-12 or 2026-W49
    first: date  # first day shown
    last: date  # last day shown
    month: int | None = None  # the month a month view is about (days outside it are greyed)
    title: str = ""
    prev_key: str = ""
    next_key: str = ""

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=k) for k in range((self.last - self.first).days + 1)]

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the shown days in ``tz``, as UTC instants."""
        start = datetime.combine(self.first, time(0), tz).astimezone(timezone.utc)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
        return start, end


def month_span(year: int, month: int) -> Span:
    if not 1900 <= year <= 2999 or not 1 <= month <= 12:
        raise InputError(f"没有 {year} 年 {month} 月", field="month", fix="写成 2026-12 这样的年月")
    first_of_month = date(year, month, 1)
    next_month = date(year + month // 12, month % 12 + 1, 1)
    first = first_of_month - timedelta(days=first_of_month.weekday())
    last_of_month = next_month - timedelta(days=1)
    last = last_of_month + timedelta(days=6 - last_of_month.weekday())
    prev_month = first_of_month - timedelta(days=1)
    return Span(View.MONTH, f"{year:04d}-{month:02d}", first, last, month, f"{year} 年 {month} 月",
                f"{prev_month.year:04d}-{prev_month.month:02d}", f"{next_month.year:04d}-{next_month.month:02d}")


def week_span(year: int, week: int) -> Span:
    try:
        first = date.fromisocalendar(year, week, 1)
    except ValueError:
        weeks = date(year, 12, 28).isocalendar().week if 1 <= year <= 9999 else 52
        raise InputError(f"{year} 年没有第 {week} 周", field="week",
                         fix=f"写成 {year}-W01 到 {year}-W{weeks:02d} 之间的周") from None
    last = first + timedelta(days=6)
    prev, nxt = (first - timedelta(days=7)).isocalendar(), (first + timedelta(days=7)).isocalendar()
    title = f"{year} 年第 {week} 周（{first.month}月{first.day}日–{last.month}月{last.day}日）"
    return Span(View.WEEK, f"{year:04d}-W{week:02d}", first, last, None, title,
                f"{prev.year:04d}-W{prev.week:02d}", f"{nxt.year:04d}-W{nxt.week:02d}")


def parse_span(*, month: str | None = None, week: str | None = None, today: date) -> Span:
    """The span a page asks for (``month=2026-12`` or ``week=2026-W49``); this month by default.
    A malformed value is an InputError naming the accepted form."""
    if week:
        found = _WEEK.fullmatch(week.strip())
        if found is None:
            raise InputError(f"无法识别的周“{week}”", field="week", fix="写成 2026-W49 这样的 ISO 周")
        return week_span(int(found[1]), int(found[2]))
    if month:
        found = _MONTH.fullmatch(month.strip())
        if found is None:
            raise InputError(f"无法识别的年月“{month}”", field="month", fix="写成 2026-12 这样的年月")
        return month_span(int(found[1]), int(found[2]))
    return month_span(today.year, today.month)


def week_of(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class Member:
    id: int
    kind: str
    state: str
    title: str


@dataclass(frozen=True)
class ReleaseEntry:
    id: int
    state: str  # pending | held | published
    purpose: str
    due_at: datetime
    fired_at: datetime | None
    channels: tuple[str, ...]
    push: str  # the WeChat push target key, "none" without one
    hold_reason: str
    items: tuple[Member, ...]


@dataclass(frozen=True)
class DeadlineEntry:
    id: int
    rule: str
    rule_label: str
    subject_id: int
    subject_title: str
    department: str
    due_on: date
    due_at: datetime
    state: str
    state_label: str
    uncertain: bool


@dataclass(frozen=True)
class Day:
    day: date
    info: DayInfo
    in_focus: bool  # inside the month a month view is about (always true in a week view)
    today: bool
    releases: tuple[ReleaseEntry, ...] = ()
    deadlines: tuple[DeadlineEntry, ...] = ()
    notes: tuple[Any, ...] = ()  # channels.plan_notes.DayNote, added by the bot
    more: int = 0  # releases due that day beyond those listed (a month view lists a few a day)
    slots: tuple[Any, ...] = ()  # bot.ops.queue.SlotState: the channels' posting slots that day

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.day.weekday()]

    @property
    def holiday(self) -> bool:
        """A day off that is not an ordinary weekend (国庆节, 春节 …)."""
        return not self.info.workday and self.info.reason not in ("周末",) and not self.info.reason.startswith("周末")

    @property
    def adjusted(self) -> bool:
        """A weekend day that is a working day (调休上班)."""
        return self.info.workday and self.day.weekday() >= 5

    @property
    def uncertain(self) -> bool:
        return self.info.source is Source.FALLBACK


@dataclass(frozen=True)
class PlanCalendar:
    span: Span
    tz: ZoneInfo
    days: tuple[Day, ...]
    weeks: tuple[tuple[Day, ...], ...] = field(default=())

    @property
    def release_count(self) -> int:
        return sum(len(d.releases) + d.more for d in self.days)

    def as_json(self) -> dict[str, Any]:
        """The shape of the API's calendar and of ``--json``: English keys, ISO dates and instants."""
        span = self.span
        return {"view": span.view.value, "key": span.key, "first": span.first.isoformat(),
                "last": span.last.isoformat(), "prev": span.prev_key, "next": span.next_key,
                "timezone": self.tz.key, "days": [_day_json(d) for d in self.days]}


def _day_json(d: Day) -> dict[str, Any]:
    return {"date": d.day.isoformat(), "workday": d.info.workday, "reason": d.info.reason,
            "holiday": d.holiday, "adjusted_workday": d.adjusted, "uncertain": d.uncertain,
            "in_focus": d.in_focus, "more": d.more,
            "releases": [{"id": r.id, "state": r.state, "purpose": r.purpose, "due_at": r.due_at.isoformat(),
                          "fired_at": r.fired_at.isoformat() if r.fired_at else None,
                          "channels": list(r.channels), "push": r.push, "hold_reason": r.hold_reason or None,
                          "items": [{"id": m.id, "kind": m.kind, "state": m.state, "title": m.title}
                                    for m in r.items]} for r in d.releases],
            "deadlines": [{"id": o.id, "rule": o.rule, "subject_id": o.subject_id, "title": o.subject_title,
                           "department": o.department, "due_on": o.due_on.isoformat(),
                           "due_at": o.due_at.isoformat(), "state": o.state, "uncertain": o.uncertain}
                          for o in d.deadlines],
            "notes": [{"channel": n.channel, "text": n.text, "level": str(n.level), "detail": n.detail,
                       "every_day": n.day is None} for n in d.notes]}


def _shown(start: datetime, end: datetime) -> Any:
    return (Release.state.in_(SHOWN_STATES)) & (Release.due_at >= start) & (Release.due_at < end)


async def releases_between(session: AsyncSession, start: datetime, end: datetime,
                           ids: list[int] | None = None) -> list[ReleaseEntry]:
    """Columns, not ORM objects: a month can hold a thousand releases (``ids``: only these)."""
    where = _shown(start, end) if ids is None else _shown(start, end) & Release.id.in_(ids)
    rels = list(await session.execute(
        select(Release.id, Release.state, Release.purpose, Release.due_at, Release.fired_at,
               Release.channels, Release.options, Release.hold_reason)
        .where(where).order_by(Release.due_at, Release.id)))
    members: dict[int, list[Member]] = defaultdict(list)
    if rels:
        rows = await session.execute(
            select(ReleaseItem.release_id, Item.id, Item.kind, Item.state, Revision.title)
            .join(Item, Item.id == ReleaseItem.item_id)
            .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
            .where(ReleaseItem.release_id.in_([r.id for r in rels]))
            .order_by(ReleaseItem.release_id, ReleaseItem.position))
        for release_id, item_id, kind, state, title in rows:
            members[release_id].append(Member(item_id, kind, state, title))
    return [ReleaseEntry(r.id, r.state, r.purpose, r.due_at, r.fired_at, tuple(r.channels or ()),
                         str((r.options or {}).get("push") or "none"), r.hold_reason or "",
                         tuple(members[r.id])) for r in rels]


async def deadlines_between(session: AsyncSession, start: datetime, end: datetime) -> list[DeadlineEntry]:
    rows = list(await session.scalars(
        select(Obligation).where(Obligation.due_at > start, Obligation.due_at <= end)
        .order_by(Obligation.due_at, Obligation.id)))
    titles: dict[int, str] = {}
    if rows:
        titles = {i: t for i, t in await session.execute(
            select(Item.id, Revision.title)
            .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
            .where(Item.id.in_({o.subject_id for o in rows})))}
    return [DeadlineEntry(o.id, o.rule, RULE_LABELS.get(o.rule, o.rule), o.subject_id,
                          titles.get(o.subject_id, ""), o.department, o.due_on, o.due_at, o.state,
                          STATE_LABELS.get(State(o.state), o.state) if o.state in State._value2member_map_
                          else o.state, o.uncertain) for o in rows]


async def first_of_each_day(session: AsyncSession, start: datetime, end: datetime, tz: ZoneInfo,
                            per_day: int) -> tuple[list[int], dict[date, int]]:
    """The ids of the first ``per_day`` releases of each local day, and how many more each day
    has, from one slim query of (id, instant): no rows, members or titles for the rest."""
    shown: list[int] = []
    counts: dict[date, int] = defaultdict(int)
    for release_id, due in await session.execute(
            select(Release.id, Release.due_at).where(_shown(start, end)).order_by(Release.due_at, Release.id)):
        day = due.astimezone(tz).date()
        counts[day] += 1
        if counts[day] <= per_day:
            shown.append(release_id)
    return shown, {d: n - per_day for d, n in counts.items() if n > per_day}


async def build(session: AsyncSession, workdays: WorkdayCalendar, span: Span, *, tz: ZoneInfo,
                now: datetime, per_day: int | None = None) -> PlanCalendar:
    """The calendar of ``span``: every day with its status, releases and deadlines (with
    ``per_day``, at most that many releases a day and the count of the rest). An obligation is
    due at the end of its ``due_on`` (the next local midnight), so it is listed on ``due_on``."""
    start, end = span.bounds(tz)
    ids, more = (await first_of_each_day(session, start, end, tz, per_day)) if per_day else (None, {})
    by_day: dict[date, list[ReleaseEntry]] = defaultdict(list)
    for rel in await releases_between(session, start, end, ids):
        by_day[rel.due_at.astimezone(tz).date()].append(rel)
    due: dict[date, list[DeadlineEntry]] = defaultdict(list)
    for ob in await deadlines_between(session, start, end):
        due[ob.due_on].append(ob)
    today = now.astimezone(tz).date()
    days = tuple(Day(d, workdays.info(d), span.month is None or d.month == span.month, d == today,
                     tuple(by_day[d]), tuple(due[d]), more=more.get(d, 0)) for d in span.days)
    return PlanCalendar(span, tz, days, _weeks(days))


def _weeks(days: tuple[Day, ...]) -> tuple[tuple[Day, ...], ...]:
    return tuple(days[k:k + 7] for k in range(0, len(days), 7))


def with_notes(cal: PlanCalendar, notes: list[Any]) -> PlanCalendar:
    """``cal`` with the channels' notes on their days (a note without a day goes on every day)."""
    every = tuple(n for n in notes if n.day is None)
    dated: dict[date, list[Any]] = defaultdict(list)
    for note in notes:
        if note.day is not None:
            dated[note.day].append(note)
    days = tuple(replace(d, notes=tuple(dated[d.day]) + every) for d in cal.days)
    return PlanCalendar(cal.span, cal.tz, days, _weeks(days))


def with_slots(cal: PlanCalendar, slots: dict[date, tuple[Any, ...]]) -> PlanCalendar:
    """``cal`` with each day's posting slots (``bot.ops.queue.slot_states``)."""
    days = tuple(replace(d, slots=slots.get(d.day, ())) for d in cal.days)
    return PlanCalendar(cal.span, cal.tz, days, _weeks(days))
