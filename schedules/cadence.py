"""Cadence obligations: how often something must appear (rules R5, R6, R7 and C6).

* R5 ``site``: at least one new item on the site per period (an ISO week by default; a
  province may set ``period_days = 10``), due at the end of the period's last day in the
  configured zone; met by the first item first published within the period, missed after it.
* R5 ``column``: each column whose name matches a key of ``[rules.R5.columns]`` is updated
  within its freshness (动态/要闻 2 weeks, 通知公告/政策文件 6 months, 人事/规划 1 year by
  default), counted from its last publication. An obligation is stored only once a column is
  at risk (its warning day is reached), so a busy column costs no rows; met by the next
  publication, late if that comes after the due day. A column in ``live_columns`` that has
  never had an item is a blank column: stored at once as missed (inspection indicator I3).
* C6 ``account``: each enabled new-media channel (WeChat, Weibo) has a delivery ``sent``
  within ``every`` (2 weeks by default), stored the same way as a column.
* R6 ``department``: the register's departments hold ``press_conferences_per_quarter`` press
  conferences a quarter (by ``held_on``); R7: the head speaks at one a year (``head_spoke`` or
  named among ``speakers``). Met when the last needed conference is published.

Like schedules.obligations, every row has the unique key (rule, subject, period) and is
inserted with ON CONFLICT DO NOTHING, so any number of nodes and sweeps store each once.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content.cadence import CadenceSubject
from content.kinds import PUBLIC_STATES, ItemState, Kind
from content.models import Delivery, Item, Obligation, ReleaseItem, Revision
from schedules.calendar import WorkdayCalendar
from schedules.obligations import UNSETTLED, State, due_instant, save, settled, store_new

CADENCE_RULES = ("R5", "R6", "R7", "C6")
BLANK = "blank"
SPAN = re.compile(r"^\s*(\d{1,4})\s*(d|w|m|y|天|日|周|个月|月|年)\s*$", re.I)
PUBLIC = tuple(s.value for s in PUBLIC_STATES)
SUBJECT_LABELS = {"site": "网站", "column": "栏目", "account": "新媒体账号", "department": "部门",
                  "item": "稿件"}
ACCOUNT_LABELS = {"wechat": "微信公众号", "weibo": "政务微博"}


@dataclass(frozen=True)
class Department:
    name: str
    head: str = ""
    press_conferences_per_quarter: int = 2


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (31 Aug + 6 m = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = (date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


def add_span(day: date, span: str) -> date:
    """``day`` plus a span written as 14d, 2w, 6m, 1y (or 14天, 2周, 6个月, 1年)."""
    match = SPAN.match(span)
    if match is None:
        raise ValueError(span)
    n, unit = int(match.group(1)), match.group(2).lower()
    if unit in ("d", "天", "日"):
        return day + timedelta(days=n)
    if unit in ("w", "周"):
        return day + timedelta(weeks=n)
    return add_months(day, n * (12 if unit in ("y", "年") else 1))


def freshness(column: str, spans: Mapping[str, str]) -> str | None:
    """The freshness of ``column``: its own key, else the longest key it contains (工作动态 → 动态)."""
    if column in spans:
        return spans[column]
    keys = sorted((k for k in spans if k and k in column), key=len, reverse=True)
    return spans[keys[0]] if keys else None


def period_of(day: date, days: int, anchor: date) -> tuple[date, date, str]:
    """The period containing ``day``: first day, last day and its label (2026-W41 for ISO weeks,
    else ``2026-10-01/10d``)."""
    start = anchor + timedelta(days=((day - anchor).days // days) * days)
    if days == 7 and anchor.weekday() == 0:
        year, week, _ = start.isocalendar()
        label = f"{year}-W{week:02d}"
    else:
        label = f"{start.isoformat()}/{days}d"
    return start, start + timedelta(days=days - 1), label


def quarter_of(day: date) -> tuple[date, date, str]:
    q = (day.month - 1) // 3
    start = date(day.year, 3 * q + 1, 1)
    return start, add_months(start, 3) - timedelta(days=1), f"{day.year}-Q{q + 1}"


def last_workday(calendar: WorkdayCalendar, day: date) -> date:
    """``day`` if it is a working day, else the working day before it."""
    return day if calendar.is_workday(day) else calendar.add_workdays(day, -1)


def warn_day(calendar: WorkdayCalendar, due_on: date, warn_workdays: int) -> date:
    """The first day a rolling obligation is warned of: ``warn_workdays`` working days before
    the last working day on or before ``due_on``."""
    last = last_workday(calendar, due_on)
    return calendar.add_workdays(last, -warn_workdays) if warn_workdays else last


def start_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(timezone.utc)


class Evaluation:
    """One evaluation of the cadence rules in one transaction."""

    def __init__(self, session: AsyncSession, calendar: WorkdayCalendar, rules: Mapping[str, Any],
                 departments: Sequence[Department], accounts: Sequence[str], *, tz: ZoneInfo,
                 now: datetime) -> None:
        self.s, self.calendar, self.rules, self.tz, self.now = session, calendar, rules, tz, now
        self.departments = [d for d in departments if d.name]
        self.accounts = [a for a in accounts if a in rules["C6"].channels]
        self.today = now.astimezone(tz).date()
        self.wanted: list[dict[str, Any]] = []
        self.subjects: dict[tuple[str, str], int] = {}
        self.risky: list[tuple[str, str, str, str, date, date]] = []  # at-risk rolling subjects
        self.blank: list[str] = []  # configured columns never published in
        self.last_sent: dict[str, datetime] = {}  # account → last delivery sent
        self.conferences: dict[str, list[tuple[date, datetime, int, dict[str, Any]]]] = defaultdict(list)
        self.press_since: date | None = None  # how far back the conferences were read
        self.weeks: dict[str, dict[str, tuple[int | None, datetime | None]]] = {}  # R5 per department

    def on(self, rule: str) -> bool:
        conf = self.rules.get(rule)
        return bool(conf is not None and conf.enabled)

    # ------------------------------------------------------------------ subjects
    async def subject(self, type_: str, name: str) -> int:
        key = (type_, name)
        if key not in self.subjects:
            insert = pg_insert if self.s.get_bind().dialect.name == "postgresql" else sqlite_insert
            await self.s.execute(insert(CadenceSubject).values(type=type_, name=name)
                                 .on_conflict_do_nothing(index_elements=["type", "name"]))
            self.subjects[key] = (await self.s.scalar(select(CadenceSubject.id).where(
                CadenceSubject.type == type_, CadenceSubject.name == name)))  # type: ignore[assignment]
        return self.subjects[key]

    async def ensure_subjects(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Store the missing subjects in one statement (any node may store the same at once)."""
        missing = sorted({p for p in pairs if p not in self.subjects})
        if not missing:
            return
        insert = pg_insert if self.s.get_bind().dialect.name == "postgresql" else sqlite_insert
        await self.s.execute(insert(CadenceSubject).on_conflict_do_nothing(index_elements=["type", "name"]),
                             [{"type": t, "name": n} for t, n in missing])
        await self.load_subjects()

    async def load_subjects(self) -> None:
        for id_, type_, name in await self.s.execute(select(CadenceSubject.id, CadenceSubject.type,
                                                            CadenceSubject.name)):
            self.subjects[(type_, name)] = id_

    def want(self, rule: str, department: str, subject: tuple[str, int], period: str, starts_on: date,
             due_on: date, due_at: datetime | None = None) -> None:
        self.wanted.append(dict(
            rule=rule, department=department, subject_type=subject[0], subject_id=subject[1],
            period=period, starts_on=starts_on, due_on=due_on,
            due_at=due_at or due_instant(due_on, self.tz), state=State.OPEN.value,
            uncertain=bool(self.calendar.fallback_years(starts_on, due_on)),
            created_at=self.now, updated_at=self.now))

    # ------------------------------------------------------------------ candidates
    async def site(self) -> None:
        conf = self.rules["R5"]
        first = await self.s.scalar(select(func.min(Item.id)))
        if first is None:
            return
        born = (await self.s.get(Item, first)).created_at.astimezone(self.tz).date()  # type: ignore[union-attr]
        sid = await self.subject("site", "网站")
        start, _, _ = period_of(self.today, conf.period_days, conf.anchor)
        for k in range(conf.backfill_periods, -1, -1):
            p_start, p_end, label = period_of(start - timedelta(days=k * conf.period_days),
                                              conf.period_days, conf.anchor)
            if p_end >= born:
                self.want("R5", conf.department, ("site", sid), label, p_start, p_end)
        if conf.per_department and self.departments:  # each department of the register, weekly too
            await self.ensure_subjects([("department", d.name) for d in self.departments])
            for dept in self.departments:
                p_start, p_end, label = period_of(self.today, conf.period_days, conf.anchor)
                self.want("R5", dept.name, ("department", self.subjects[("department", dept.name)]),
                          label, p_start, p_end)

    async def latest_by_column(self) -> dict[str, datetime]:
        """Each column's last first publication. A GROUP BY would read the whole index (a second
        on a million items); this skips from one column name to the next in the index
        ix_items_column_first instead, and asks each column's maximum there: two index seeks a
        column, on SQLite and PostgreSQL alike."""
        names = select(func.min(Item.column_name)).cte("names", recursive=True)
        names = names.union_all(select(select(func.min(Item.column_name))
                                       .where(Item.column_name > names.c.min).scalar_subquery())
                                .where(names.c.min.is_not(None)))
        latest = select(func.max(Item.first_published_at)).where(Item.column_name == names.c.min) \
            .scalar_subquery()
        rows = await self.s.execute(select(names.c.min, latest).where(names.c.min.is_not(None)))
        return {name: at for name, at in rows if at is not None}

    async def columns(self, latest: Mapping[str, datetime]) -> None:
        conf = self.rules["R5"]
        for name, at in latest.items():
            span = freshness(name, conf.columns)
            if span is None:
                continue
            self.rolling("R5", conf, "column", name, at.astimezone(self.tz).date(), span)
        for name in conf.live_columns:
            if name not in latest:  # a blank column: a finding at once
                self.blank.append(name)

    def rolling(self, rule: str, conf: Any, type_: str, name: str, last: date, span: str) -> None:
        due_on = add_span(last, span)
        if self.today >= warn_day(self.calendar, due_on, conf.warn_workdays):
            self.risky.append((rule, conf.department, type_, name, last, due_on))

    async def accounts_(self) -> None:
        conf = self.rules["C6"]
        if not self.accounts:
            return
        rows = await self.s.execute(select(Delivery.channel, func.max(Delivery.settled_at))
                                    .where(Delivery.state == "sent", Delivery.channel.in_(self.accounts))
                                    .group_by(Delivery.channel))
        self.last_sent = {c: at for c, at in rows if at is not None}
        for name in self.accounts:
            at = self.last_sent.get(name)
            if at is None:  # never sent: the account's clock starts at its first evaluation
                sid = await self.subject("account", name)
                self.want("C6", conf.department, ("account", sid), BLANK, self.today,
                          add_span(self.today, conf.every))
            else:
                self.rolling("C6", conf, "account", name, at.astimezone(self.tz).date(), conf.every)

    async def press(self) -> None:
        since = date(self.today.year - 1, 1, 1)
        rows = await self.s.execute(
            select(Item.id, Item.department, Item.first_published_at, Revision.extra)
            .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
            .where(Item.kind == Kind.PRESS_CONFERENCE.value, Item.first_published_at >= start_of(since, self.tz),
                   Item.state != ItemState.RETRACTED.value))
        for item_id, department, published, extra in rows:
            extra = extra or {}
            held = extra.get("held_on")
            day = date.fromisoformat(held) if isinstance(held, str) and held else \
                published.astimezone(self.tz).date()
            self.conferences[department].append((day, published, item_id, extra))
        self.press_since = since
        # the current quarter and year: each period's row is made by the first evaluation in it
        q_start, q_end, label = quarter_of(self.today)
        year = self.today.year
        await self.ensure_subjects([("department", d.name) for d in self.departments])
        for dept in self.departments:
            sid = await self.subject("department", dept.name)
            if self.on("R6") and dept.press_conferences_per_quarter > 0:
                self.want("R6", dept.name, ("department", sid), label, q_start, q_end)
            if self.on("R7") and dept.head:
                self.want("R7", dept.name, ("department", sid), str(year), date(year, 1, 1),
                          date(year, 12, 31))

    # ------------------------------------------------------------------ storing
    async def store(self) -> int:
        await self.ensure_subjects([(t, n) for _, _, t, n, _, _ in self.risky]
                                   + [("column", n) for n in self.blank])
        for rule, department, type_, name, last, due_on in self.risky:
            sid = await self.subject(type_, name)
            self.want(rule, department, (type_, sid), last.isoformat(), last, due_on)
        for name in self.blank:
            sid = await self.subject("column", name)
            self.want("R5", self.rules["R5"].department, ("column", sid), BLANK, self.today, self.today,
                      due_at=self.now)
        if not self.wanted:
            return 0
        keys = {(w["rule"], w["subject_type"], w["subject_id"], w["period"]) for w in self.wanted}
        have: set[tuple[Any, ...]] = set()
        periods = {k[3] for k in keys}
        for chunk in _chunks(sorted(periods), 500):
            have |= set(tuple(r) for r in await self.s.execute(
                select(Obligation.rule, Obligation.subject_type, Obligation.subject_id, Obligation.period)
                .where(Obligation.rule.in_(CADENCE_RULES), Obligation.period.in_(chunk))))
        new = []
        for values in self.wanted:
            key = (values["rule"], values["subject_type"], values["subject_id"], values["period"])
            if key not in have:
                have.add(key)
                new.append(values)
        return await store_new(self.s, new)

    # ------------------------------------------------------------------ settling
    async def settle(self, latest: Mapping[str, datetime]) -> None:
        names = {v: k for k, v in self.subjects.items()}
        rows = await self.s.scalars(
            select(Obligation).where(Obligation.rule.in_(CADENCE_RULES),
                                     Obligation.subject_type != "item",
                                     Obligation.state.in_(UNSETTLED))
            .order_by(Obligation.id).with_for_update(skip_locked=True))
        changes: list[tuple[Obligation, dict[str, Any]]] = []
        for row in rows:
            kind_name = names.get(row.subject_id)
            if kind_name is None or kind_name[0] != row.subject_type:
                await self.load_subjects()
                names = {v: k for k, v in self.subjects.items()}
                kind_name = names.get(row.subject_id, (row.subject_type, ""))
            met: tuple[int | None, datetime | None] = (None, None)
            if row.rule == "R5" and row.subject_type in ("site", "department"):
                if row.state != State.OPEN.value:
                    continue  # a week without an update stays missed: nothing can change it
                if row.subject_type == "site":
                    met = await self._site_met(row)
                else:
                    met = (await self._department_weeks(row)).get(kind_name[1], (None, None))
                if met[1] is not None and met[1] >= row.due_at:
                    met = (None, None)
            elif row.subject_type == "column":
                met = await self._column_met(row, kind_name[1], latest)
            elif row.subject_type == "account":
                met = await self._account_met(row, kind_name[1])
            elif row.rule in ("R6", "R7"):
                if self.press_since is None or row.starts_on < self.press_since:
                    continue
                met = self._press_met(row, kind_name[1])
            if (values := settled(row, *met, self.now)) is not None:
                changes.append((row, values))
        await save(self.s, changes)

    async def _site_met(self, row: Obligation) -> tuple[int | None, datetime | None]:
        first = (await self.s.execute(
            select(Item.id, Item.first_published_at)
            .where(Item.state.in_(PUBLIC), Item.first_published_at >= start_of(row.starts_on, self.tz),
                   Item.first_published_at < row.due_at)
            .order_by(Item.first_published_at).limit(1))).first()
        return (first[0], first[1]) if first else (None, None)

    async def _department_weeks(self, row: Obligation) -> dict[str, tuple[int | None, datetime | None]]:
        """The first item of each department in ``row``'s period (one query per period)."""
        if row.period not in self.weeks:
            first = select(Item.department, func.min(Item.first_published_at).label("at")) \
                .where(Item.state.in_(PUBLIC), Item.first_published_at >= start_of(row.starts_on, self.tz),
                       Item.first_published_at < row.due_at).group_by(Item.department).subquery()
            found: dict[str, tuple[int | None, datetime | None]] = {}
            for dept, item_id, at in await self.s.execute(
                    select(first.c.department, func.min(Item.id), first.c.at)
                    .join(Item, (Item.department == first.c.department) & (Item.first_published_at == first.c.at))
                    .group_by(first.c.department, first.c.at)):
                found[dept] = (item_id, at)
            self.weeks[row.period] = found
        return self.weeks[row.period]

    async def _column_met(self, row: Obligation, name: str,
                          latest: Mapping[str, datetime]) -> tuple[int | None, datetime | None]:
        after = start_of(row.starts_on + timedelta(days=1), self.tz) if row.period != BLANK \
            else datetime.min.replace(tzinfo=timezone.utc)
        last = latest.get(name)
        if last is None or last < after:
            return None, None
        first = (await self.s.execute(
            select(Item.id, Item.first_published_at)
            .where(Item.column_name == name, Item.first_published_at >= after)
            .order_by(Item.first_published_at).limit(1))).first()
        return (first[0], first[1]) if first else (None, None)

    async def _account_met(self, row: Obligation, name: str) -> tuple[int | None, datetime | None]:
        after = start_of(row.starts_on + timedelta(days=1), self.tz) if row.period != BLANK \
            else start_of(row.starts_on, self.tz)
        last = self.last_sent.get(name)
        if last is None or last < after:
            return None, None
        first = (await self.s.execute(
            select(ReleaseItem.item_id, Delivery.settled_at)
            .join(ReleaseItem, ReleaseItem.release_id == Delivery.release_id)
            .where(Delivery.channel == name, Delivery.state == "sent", Delivery.settled_at >= after)
            .order_by(Delivery.settled_at, ReleaseItem.position).limit(1))).first()
        return (first[0], first[1]) if first else (None, None)

    def _press_met(self, row: Obligation, department: str) -> tuple[int | None, datetime | None]:
        held = sorted((published, item_id, extra) for day, published, item_id, extra
                      in self.conferences.get(department, ()) if row.starts_on <= day <= row.due_on)
        if row.rule == "R6":
            need = next((d.press_conferences_per_quarter for d in self.departments
                         if d.name == department), 2)
            if len(held) >= need > 0:
                published, item_id, _ = held[need - 1]
                return item_id, published
            return None, None
        head = next((d.head for d in self.departments if d.name == department), "")
        for published, item_id, extra in held:
            speakers = extra.get("speakers") or []
            if extra.get("head_spoke") is True or (head and head in speakers):
                return item_id, published
        return None, None


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)] or [[]]


async def evaluate(session: AsyncSession, calendar: WorkdayCalendar, rules: Mapping[str, Any],
                   departments: Sequence[Department], accounts: Sequence[str], *, tz: ZoneInfo,
                   now: datetime) -> int:
    """Create the cadence obligations owed now and settle every unsettled one; returns how many
    were created. Idempotent, and safe from any number of nodes."""
    ev = Evaluation(session, calendar, rules, departments, accounts, tz=tz, now=now)
    await ev.load_subjects()
    latest: dict[str, datetime] = {}
    if ev.on("R5"):
        await ev.site()
        latest = await ev.latest_by_column()
        await ev.columns(latest)
    if ev.on("C6"):
        await ev.accounts_()
    if ev.on("R6") or ev.on("R7"):
        await ev.press()
    created = await ev.store()
    await ev.settle(latest or await ev.latest_by_column())
    return created


async def subject_names(session: AsyncSession, rows: Sequence[Obligation]) -> dict[int, str]:
    """The names of the cadence subjects of ``rows`` (site, column, account, department)."""
    ids = {r.subject_id for r in rows if r.subject_type not in ("item", "occurrence")}
    if not ids:
        return {}
    return dict((await session.execute(select(CadenceSubject.id, CadenceSubject.name)
                                       .where(CadenceSubject.id.in_(ids)))).all())


def indicator(row: Obligation) -> str | None:
    """The inspection indicator a cadence obligation stands for (README, "Rule and indicator
    ids"): I2 column freshness, I4 blank column, I5 new-media account."""
    if row.rule == "R5" and row.subject_type == "column":
        return "I4" if row.period == BLANK else "I2"
    return "I5" if row.rule == "C6" else None


def describe_subject(row: Obligation, names: Mapping[int, str]) -> str:
    """The subject in Chinese: 稿件 12, 栏目“工作动态”, 微信公众号, 部门“市发展改革委”, 网站."""
    if row.subject_type == "item":
        return f"稿件 {row.subject_id}"
    if row.subject_type == "occurrence":  # R10: a recurring release's occurrence (schedules.recurring)
        return f"定期发布场次 {row.subject_id}"
    name = names.get(row.subject_id, "")
    if row.subject_type == "site":
        return "网站"
    if row.subject_type == "account":
        return ACCOUNT_LABELS.get(name, name)
    label = SUBJECT_LABELS.get(row.subject_type, row.subject_type)
    blank = "（空白栏目）" if row.period == BLANK and row.subject_type == "column" else ""
    return f"{label}“{name}”{blank}"


__all__ = ["CADENCE_RULES", "Department", "add_months", "add_span", "describe_subject",
           "evaluate", "freshness", "indicator", "period_of", "quarter_of", "subject_names"]
