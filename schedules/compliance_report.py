"""The compliance report: what a disclosure office is assessed on, over any period.

Per department and rule, the obligations whose due day falls in the period (whatever rule ids
the obligations table holds), met on time, late (with the lateness), missed, waived and the
on-time rate; the ISO weeks without a new item on the site; the columns not updated within
their freshness limit (and configured columns with nothing in them); the new-media accounts with
no delivery sent within their limit; press conferences held per quarter against the target.

Computed here from the store, returned as typed rows; formatting is the caller's business.
An obligation is never deleted, so a report run a year later still shows what was missed.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from content.kinds import ItemState, Kind
from content.models import Delivery, Item, Obligation, Release, Revision
from schedules.calendar import WorkdayCalendar

LIVE = (ItemState.PUBLISHED.value, ItemState.CORRECTED.value)
NEW_MEDIA = ("wechat", "weibo")

#: Default freshness limits, in days, by a word in the column's name (inspection rules 3 and 5).
COLUMN_DAYS = {"动态": 14, "要闻": 14, "通知公告": 183, "政策文件": 183, "人事": 365, "规划": 365}
#: The columns whose staleness counts toward the inspection's "≥5 columns" veto (rule 3).
KEY_COLUMN_WORDS = ("动态", "要闻", "通知公告", "政策文件")

RULE_LABELS = {
    "R1": "政策文件发布后解读", "R2": "政策与解读同步发布", "R3": "重大决策会后解读",
    "R4": "清单调整后公开", "R5": "网站每周更新", "R6": "每季度新闻发布会", "R7": "主要负责人出席发布会",
    "R8": "突发事件第一时间发布", "R9": "重大突发事件24小时内发布会", "R10": "月度季度定期发布",
    "R11": "意见征集采纳情况公开", "C6": "政务新媒体定期更新", "L26": "信息形成后20个工作日内公开",
}


def rule_label(rule: str) -> str:
    return RULE_LABELS.get(rule.upper(), rule)


@dataclass(frozen=True)
class Limits:
    """The numbers the report judges by (configured under ``[reports]``)."""

    column_days: Mapping[str, int] = field(default_factory=lambda: dict(COLUMN_DAYS))
    default_column_days: int = 183
    account_days: int = 14
    press_target: int = 2  # for a department that held one but is not listed
    press_targets: Mapping[str, int] = field(default_factory=dict)  # the listed departments' targets
    columns: tuple[str, ...] = ()  # columns the site must have: blank ones are reported

    def column_limit(self, column: str) -> int:
        if column in self.column_days:
            return self.column_days[column]
        matches = [days for word, days in self.column_days.items() if word in column]
        return min(matches) if matches else self.default_column_days


@dataclass(frozen=True)
class RuleRow:
    department: str
    rule: str
    obligations: int
    met: int
    late: int
    missed: int
    waived: int
    open: int
    late_workdays: int  # total working days late, over the late ones counted in working days
    late_hours: float  # total clock hours late, over the late ones counted in clock hours
    max_late_workdays: int
    on_time_rate: float | None  # met / (met + late + missed); None when nothing is settled

    @property
    def label(self) -> str:
        return rule_label(self.rule)


@dataclass(frozen=True)
class Lateness:
    """One obligation met late or missed, with how late (as of the report for a missed one)."""

    obligation_id: int
    department: str
    rule: str
    subject_type: str
    subject_id: int
    state: str  # late | missed
    due_on: date
    due_at: datetime
    met_at: datetime | None
    unit: str  # workdays | hours: how the rule counts
    workdays: int
    hours: float
    subject_name: str = ""  # the item's title, or the column, account or department named


@dataclass(frozen=True)
class QuietWeek:
    year: int
    week: int
    monday: date
    sunday: date


@dataclass(frozen=True)
class ColumnRow:
    column: str
    last_update: datetime | None
    days_since: int | None
    limit_days: int
    stale: bool
    blank: bool
    key: bool  # a 动态/要闻/通知公告/政策文件 column


@dataclass(frozen=True)
class AccountRow:
    channel: str
    last_sent_at: datetime | None
    days_since: int | None
    limit_days: int
    stale: bool


@dataclass(frozen=True)
class PressRow:
    department: str
    quarter: str  # 2026Q1
    held: int
    target: int
    ended: bool  # the quarter is over (by the report's end): a shortfall is final

    @property
    def short(self) -> bool:
        return self.held < self.target


@dataclass(frozen=True)
class ComplianceReport:
    start: date
    end: date
    department: str | None
    as_of: datetime  # the end of the period, or now when the period has not ended
    rules: tuple[RuleRow, ...]
    lateness: tuple[Lateness, ...]
    weeks_checked: int
    quiet_weeks: tuple[QuietWeek, ...]
    columns: tuple[ColumnRow, ...]
    accounts: tuple[AccountRow, ...]
    press: tuple[PressRow, ...]

    @property
    def stale_columns(self) -> tuple[ColumnRow, ...]:
        return tuple(c for c in self.columns if c.stale)

    @property
    def stale_accounts(self) -> tuple[AccountRow, ...]:
        return tuple(a for a in self.accounts if a.stale)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(timezone.utc)


def _end_of_day(due_on: date, tz: ZoneInfo) -> datetime:
    return day_start(due_on + timedelta(days=1), tz)


async def compute(session: AsyncSession, calendar: WorkdayCalendar, limits: Limits, *,
                  start: date, end: date, department: str | None, channels: Sequence[str],
                  tz: ZoneInfo, now: datetime) -> ComplianceReport:
    """The report for the days ``start``…``end`` (inclusive, in ``tz``); ``channels`` are the
    enabled channels (the new-media ones among them are checked)."""
    as_of = min(_end_of_day(end, tz), now)
    rules, lateness = await _obligations(session, calendar, start=start, end=end,
                                         department=department, tz=tz, as_of=as_of)
    weeks, quiet = await _quiet_weeks(session, start=start, end=end, department=department,
                                      tz=tz, as_of=as_of)
    return ComplianceReport(
        start=start, end=end, department=department, as_of=as_of, rules=rules, lateness=lateness,
        weeks_checked=weeks, quiet_weeks=quiet,
        columns=await _columns(session, limits, department=department, as_of=as_of),
        accounts=await _accounts(session, limits, channels, as_of=as_of),
        press=await _press(session, limits, start=start, end=end, department=department, tz=tz,
                           as_of=as_of))


# ----------------------------------------------------------------------------- obligations
class WorkdayCounter:
    """``calendar.workdays_between`` for many pairs of days: each day is asked of the calendar
    once, then counts are differences of a running total."""

    def __init__(self, calendar: WorkdayCalendar) -> None:
        self.calendar = calendar
        self.first: date | None = None
        self.totals: list[int] = []  # working days in (first, first + k]

    def _upto(self, day: date) -> int:
        if self.first is None:
            self.first, self.totals = day, [0]
        if day < self.first:
            ahead = (self.first - day).days
            extra, running = [], 0
            for k in range(1, ahead + 1):
                running += self.calendar.is_workday(day + timedelta(days=k))
                extra.append(running)
            self.totals = [0] + extra + [t + running for t in self.totals[1:]]
            self.first = day
        index = (day - self.first).days
        while len(self.totals) <= index:
            nxt = self.first + timedelta(days=len(self.totals))
            self.totals.append(self.totals[-1] + self.calendar.is_workday(nxt))
        return self.totals[index]

    def between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        self._upto(min(start, end))  # the earlier day first: prepending shifts the totals
        return self._upto(end) - self._upto(start)


async def _obligations(session: AsyncSession, calendar: WorkdayCalendar, *, start: date,
                       end: date, department: str | None, tz: ZoneInfo,
                       as_of: datetime) -> tuple[tuple[RuleRow, ...], tuple[Lateness, ...]]:
    query = (select(Obligation.id, Obligation.rule, Obligation.department, Obligation.subject_type,
                    Obligation.subject_id, Obligation.state, Obligation.due_on, Obligation.due_at,
                    Obligation.met_at)
             .where(Obligation.due_at > day_start(start, tz),
                    Obligation.due_at <= _end_of_day(end, tz) + timedelta(days=1))
             .order_by(Obligation.due_at, Obligation.id))
    if department:
        query = query.where(Obligation.department == department)
    counter = WorkdayCounter(calendar)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    late_wd: dict[tuple[str, str], list[int]] = defaultdict(list)
    late_h: dict[tuple[str, str], float] = defaultdict(float)
    found: list[Lateness] = []
    for oid, rule, dept, stype, sid, state, due_on, due_at, met_at in await session.execute(query):
        if not start <= due_on <= end:
            continue
        if state == "open" and due_at <= as_of:
            state = "missed"  # not yet swept: past due and unmet is missed
        key = (dept, rule)
        counts[key][state] += 1
        if state not in ("late", "missed"):
            continue
        if state == "late" and met_at is None:
            continue
        until: datetime = met_at if state == "late" and met_at is not None else as_of
        hours_rule = due_at != _end_of_day(due_on, tz)
        wd = max(counter.between(due_on, until.astimezone(tz).date()), 0)
        hours = max((until - due_at).total_seconds() / 3600, 0.0)
        found.append(Lateness(oid, dept, rule, stype, sid, state, due_on, due_at, met_at,
                              "hours" if hours_rule else "workdays", wd, round(hours, 1)))
        if state == "late":
            if hours_rule:
                late_h[key] += hours
            else:
                late_wd[key].append(wd)
    names = await subject_names(session, {(x.subject_type, x.subject_id) for x in found})
    found = [replace(x, subject_name=names.get((x.subject_type, x.subject_id), "")) for x in found]
    rows = []
    for (dept, rule), c in sorted(counts.items(), key=lambda kv: (kv[0][0], _rule_order(kv[0][1]))):
        settled = c["met"] + c["late"] + c["missed"]
        rows.append(RuleRow(
            department=dept, rule=rule, obligations=sum(c.values()), met=c["met"], late=c["late"],
            missed=c["missed"], waived=c["waived"], open=c["open"],
            late_workdays=sum(late_wd[(dept, rule)]), late_hours=round(late_h[(dept, rule)], 1),
            max_late_workdays=max(late_wd[(dept, rule)], default=0),
            on_time_rate=round(c["met"] / settled, 4) if settled else None))
    return tuple(rows), tuple(found)


CADENCE_SUBJECTS = table("cadence_subjects", column("id"), column("name"))  # rules R5, R6, R7, C6


def _has_cadence_subjects(session: Session) -> bool:
    return inspect(session.connection()).has_table("cadence_subjects")


async def subject_names(session: AsyncSession, subjects: set[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """What each obligation is owed for, by name: an item's current title; a column, account or
    department from the cadence rules' subject table, where the store has one."""
    names: dict[tuple[str, int], str] = {}
    items = sorted(i for t, i in subjects if t == "item")
    others = sorted(i for t, i in subjects if t != "item")
    for k in range(0, len(items), 500):
        rows = await session.execute(
            select(Item.id, Revision.title)
            .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
            .where(Item.id.in_(items[k:k + 500])))
        names.update((("item", i), title) for i, title in rows)
    has_table: bool = await session.run_sync(_has_cadence_subjects) if others else False
    if has_table:
        found: dict[int, str] = {}
        for k in range(0, len(others), 500):
            rows = await session.execute(select(CADENCE_SUBJECTS.c.id, CADENCE_SUBJECTS.c.name)
                                         .where(CADENCE_SUBJECTS.c.id.in_(others[k:k + 500])))
            found.update((i, name) for i, name in rows)
        names.update(((t, i), found[i]) for t, i in subjects if t != "item" and i in found)
    return names


def _rule_order(rule: str) -> tuple[str, int, str]:
    head = rule.rstrip("0123456789")
    tail = rule[len(head):]
    return (head, int(tail) if tail else 0, rule)


# ----------------------------------------------------------------------------------- weeks
def iso_weeks(start: date, end: date) -> list[tuple[date, date]]:
    """The ISO weeks (Monday, Sunday) that overlap ``start``…``end``."""
    monday = start - timedelta(days=start.weekday())
    weeks = []
    while monday <= end:
        weeks.append((monday, monday + timedelta(days=6)))
        monday += timedelta(days=7)
    return weeks


async def _quiet_weeks(session: AsyncSession, *, start: date, end: date, department: str | None,
                       tz: ZoneInfo, as_of: datetime) -> tuple[int, tuple[QuietWeek, ...]]:
    """Finished ISO weeks of the period with no item first published on the site in them."""
    checked, quiet = 0, []
    for monday, sunday in iso_weeks(start, end):
        until = day_start(sunday + timedelta(days=1), tz)
        if until > as_of:
            break  # the week has not ended yet
        checked += 1
        query = (select(Item.id).where(Item.state.in_(LIVE), Item.first_published_at >= day_start(monday, tz),
                                       Item.first_published_at < until).limit(1))
        if department:
            query = query.where(Item.department == department)
        if (await session.execute(query)).first() is None:
            year, week, _ = monday.isocalendar()
            quiet.append(QuietWeek(year, week, monday, sunday))
    return checked, tuple(quiet)


# --------------------------------------------------------------------------------- columns
def _days(since: datetime | None, as_of: datetime) -> int | None:
    return None if since is None else max((as_of - since).days, 0)


async def column_updates(session: AsyncSession, *, department: str | None,
                         as_of: datetime) -> dict[str, datetime]:
    """Each column's newest first publication up to ``as_of`` (live items)."""
    query = (select(Item.column_name, func.max(Item.first_published_at))
             .where(Item.state.in_(LIVE), Item.first_published_at <= as_of)
             .group_by(Item.column_name))
    if department:
        query = query.where(Item.department == department)
    return {name: last for name, last in await session.execute(query) if name and last is not None}


def judge_columns(limits: Limits, updates: Mapping[str, datetime | None],
                  as_of: datetime) -> tuple[ColumnRow, ...]:
    rows = []
    for name in sorted(set(updates) | set(limits.columns)):
        last = updates.get(name)
        limit = limits.column_limit(name)
        days = _days(last, as_of)
        rows.append(ColumnRow(name, last, days, limit, stale=last is None or (days or 0) > limit,
                              blank=last is None, key=any(w in name for w in KEY_COLUMN_WORDS)))
    return tuple(rows)


async def _columns(session: AsyncSession, limits: Limits, *, department: str | None,
                   as_of: datetime) -> tuple[ColumnRow, ...]:
    updates: dict[str, datetime | None] = dict(
        await column_updates(session, department=department, as_of=as_of))
    return judge_columns(limits, updates, as_of)


# -------------------------------------------------------------------------------- accounts
async def last_sent(session: AsyncSession, channel: str, *, as_of: datetime) -> datetime | None:
    """The last publication a channel's account sent (a delivery sent, or resolved as sent by
    an operator), up to ``as_of``."""
    base = (select(Delivery.settled_at, Delivery.state, Delivery.progress)
            .join(Release, Release.id == Delivery.release_id)
            .where(Delivery.channel == channel, Release.purpose == "publish",
                   Delivery.settled_at.is_not(None), Delivery.settled_at <= as_of))
    sent = (await session.execute(
        base.where(Delivery.state == "sent").order_by(Delivery.settled_at.desc()).limit(1))).first()
    best = sent[0] if sent else None
    for settled, _state, progress in await session.execute(base.where(Delivery.state == "resolved")):
        if (progress or {}).get("operator_decision") == "sent" and (best is None or settled > best):
            best = settled
    return best


async def _accounts(session: AsyncSession, limits: Limits, channels: Sequence[str], *,
                    as_of: datetime) -> tuple[AccountRow, ...]:
    rows = []
    for channel in channels:
        if channel not in NEW_MEDIA:
            continue
        last = await last_sent(session, channel, as_of=as_of)
        days = _days(last, as_of)
        rows.append(AccountRow(channel, last, days, limits.account_days,
                               stale=last is None or (days or 0) > limits.account_days))
    return tuple(rows)


# ------------------------------------------------------------------------ press conferences
def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarters(start: date, end: date) -> list[str]:
    found: list[str] = []
    day = date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
    while day <= end:
        found.append(quarter_of(day))
        day = date(day.year + (day.month + 2) // 12, (day.month + 2) % 12 + 1, 1)
    return found


async def _press(session: AsyncSession, limits: Limits, *, start: date, end: date,
                 department: str | None, tz: ZoneInfo, as_of: datetime) -> tuple[PressRow, ...]:
    """Press conferences held (published items of the press-conference kind, dated by
    ``held_on``, else the date written on them, else their publication) per department and
    quarter, against the target, for the listed departments and any that held one; and the
    departments an R6 obligation names."""
    query = (select(Item.department, Item.first_published_at, Revision.issued, Revision.extra)
             .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
             .where(Item.kind == Kind.PRESS_CONFERENCE.value, Item.state.in_(LIVE)))
    if department:
        query = query.where(Item.department == department)
    held: dict[tuple[str, str], int] = defaultdict(int)
    departments = set(limits.press_targets)
    for dept, published, issued, extra in await session.execute(query):
        on = (extra or {}).get("held_on")
        day = date.fromisoformat(on) if isinstance(on, str) and on else issued or (
            published.astimezone(tz).date() if published else None)
        if day is None or not start <= day <= end:
            continue
        held[(dept, quarter_of(day))] += 1
        departments.add(dept)
    r6 = select(Obligation.department).where(func.upper(Obligation.rule) == "R6").distinct()
    departments.update(d for d in await session.scalars(r6) if d)
    if department:
        departments &= {department}
    last = min(end, as_of.astimezone(tz).date())
    return tuple(PressRow(d, q, held[(d, q)], limits.press_targets.get(d, limits.press_target),
                          quarter_end(q) <= last)
                 for d in sorted(departments) for q in quarters(start, end))


def quarter_end(quarter: str) -> date:
    year, q = int(quarter[:4]), int(quarter[-1])
    return date(year + q // 4, q * 3 % 12 + 1, 1) - timedelta(days=1)
