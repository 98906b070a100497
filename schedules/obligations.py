"""Obligations: statutory deadlines stored as rows (rules R1, R3, R4 of the seed; L26 for the
条例's 20 working days).

Each is owed for one item (the subject), counted from a triggering date on the working-day
calendar and due at the end of its last working day in the configured zone. Evaluation is
idempotent (a unique key on rule, subject and period, inserted with ON CONFLICT DO NOTHING), so
any number of sweeps on any number of nodes create each obligation once. A row is never deleted:
after its due instant it is ``late`` (met after due) or ``missed`` (still unmet).

An obligation is met at the first publication (``first_published_at``, the instant the release
fired and the website delivery was queued) of: a published interpretation linked to the subject
(R1, R3), or the subject itself (R4, L26).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Table, Text, bindparam, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from content.cadence_fields import occurred_instant
from content.errors import InputError
from content.kinds import ItemState, Kind
from content.models import AuditEvent, Item, Link, Obligation, Revision
from schedules import obligation_events
from schedules.calendar import WorkdayCalendar

RECENT_LATE_DAYS = 30  # the duty board shows an obligation met late for this long
LOOKBACK_DAYS = 120  # items touched or published this recently are (re)considered
CHUNK = 500  # ids per IN (...) query
BULK = 1000  # rows per statement when many are stored at once
KEY = ("rule", "subject_type", "subject_id", "period")  # the unique key of an obligation
SETTLED = ("state", "met_by", "met_at", "updated_at")  # what evaluating an obligation changes
TABLE: Table = Obligation.__table__  # type: ignore[assignment]  # many rows at once: no ORM objects
#: The kinds that start a deadline by themselves (R1, R3, R4, R9); L26 and R11 go by front matter.
TRIGGER_KINDS = (Kind.POLICY.value, Kind.DECISION.value, Kind.LIST_CHANGE.value, Kind.EMERGENCY.value)


class State(StrEnum):
    OPEN = "open"
    MET = "met"
    LATE = "late"
    MISSED = "missed"
    WAIVED = "waived"


STATE_LABELS = {State.OPEN: "未到期", State.MET: "按时完成", State.LATE: "逾期完成",
                State.MISSED: "已超期未完成", State.WAIVED: "已豁免"}
RULE_LABELS = {"R1": "政策文件发布后解读", "R3": "重大决策会后解读", "R4": "清单调整后公开",
               "L26": "信息形成后20个工作日内公开", "R5": "网站与栏目更新",
               "R6": "每季度新闻发布会", "R7": "主要负责人每年出席发布会",
               "R9": "重大突发事件24小时内发布会", "R11": "征求意见采纳情况反馈",
               "C6": "政务新媒体更新", "R10": "定期发布"}
#: The rules owed for one item, evaluated here; the cadence rules are in schedules.cadence.
ITEM_RULES = ("R1", "R3", "R4", "L26", "R9", "R11")
#: The link from the item that meets an item rule to its subject.
MEETING_LINK = {"R1": "interprets", "R3": "interprets", "R11": "feedback_for", "R9": "follows"}
UNSETTLED = (State.OPEN.value, State.MISSED.value)


class RuleConfig(Protocol):
    enabled: bool
    workdays: int
    warn_workdays: int


@dataclass(frozen=True)
class Candidate:
    rule: str
    subject_id: int
    department: str
    starts_on: date
    waiver: tuple[str, str] | None = None  # (actor, reason) from front matter
    due_at: datetime | None = None  # a clock-hours rule (R9): the instant itself
    period: str = ""  # empty = starts_on, ISO


def due_instant(due_on: date, tz: ZoneInfo) -> datetime:
    """The end of ``due_on`` in ``tz`` (the next local midnight), in UTC."""
    return datetime.combine(due_on + timedelta(days=1), time(0), tz).astimezone(timezone.utc)


def _trigger(rule: str, kind: str, extra: Mapping[str, Any], published: datetime | None,
             tz: ZoneInfo) -> date | None:
    if rule in ("R9", "R11"):
        return None  # see _timed
    if rule == "R1":
        return published.astimezone(tz).date() if kind == Kind.POLICY and published else None
    name = {"R3": "meeting_date", "R4": "changed_on", "L26": "formed_on"}[rule]
    if rule == "R3" and kind != Kind.DECISION or rule == "R4" and kind != Kind.LIST_CHANGE:
        return None
    value = extra.get(name)
    return date.fromisoformat(value) if isinstance(value, str) and value else None


async def candidates(session: AsyncSession, rules: Mapping[str, RuleConfig], *, tz: ZoneInfo,
                     now: datetime) -> list[Candidate]:
    since = now - timedelta(days=LOOKBACK_DAYS)
    rows = await session.execute(
        select(Item.id, Item.kind, Item.department, Item.first_published_at, Revision.extra,
               Revision.created_by)
        .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
        .where(Item.state != ItemState.RETRACTED.value,
               (Item.updated_at >= since) | (Item.first_published_at >= since),
               # only what can start a deadline: these kinds, or a date any kind may carry
               Item.kind.in_(TRIGGER_KINDS)
               | cast(Revision.extra, Text).contains("formed_on")
               | cast(Revision.extra, Text).contains("consultation_closes"))
        .order_by(Item.id))  # one insert order on every node
    found = []
    for item_id, kind, department, published, extra, author in rows:
        extra = extra or {}
        for rule, conf in rules.items():
            if rule not in ITEM_RULES or not conf.enabled:
                continue
            if rule in ("R9", "R11"):
                if (timed := _timed(rule, conf, kind, item_id, department, extra, tz)) is not None:
                    found.append(timed)
                continue
            if (start := _trigger(rule, kind, extra, published, tz)) is None:
                continue
            waiver = None
            if rule == "R1" and extra.get("interpretation") == "none":
                waiver = (author, str(extra.get("interpretation_reason") or ""))
            found.append(Candidate(rule, item_id, department, start, waiver))
    return found


def _timed(rule: str, conf: Any, kind: str, item_id: int, department: str,
           extra: Mapping[str, Any], tz: ZoneInfo) -> Candidate | None:
    """R9: a major emergency's press-conference notice, due ``hours`` clock hours after
    ``occurred_at``; R11: a consultation's feedback, due working days after it closes."""
    if rule == "R11":
        closes = extra.get("consultation_closes")
        return Candidate(rule, item_id, department, date.fromisoformat(closes)) \
            if isinstance(closes, str) and closes else None
    occurred = extra.get("occurred_at")
    if kind != Kind.EMERGENCY or not isinstance(occurred, str) or not occurred \
            or extra.get("severity") not in conf.severities:
        return None
    at = occurred_instant(occurred, tz).astimezone(timezone.utc)
    return Candidate(rule, item_id, department, at.astimezone(tz).date(),
                     due_at=at + timedelta(hours=conf.hours), period=at.isoformat(timespec="minutes"))


async def _existing(session: AsyncSession, subject_ids: list[int]) -> set[tuple[str, int, str]]:
    """The (rule, item, period) keys already stored for these items."""
    have: set[tuple[str, int, str]] = set()
    ids = sorted(set(subject_ids))
    for start in range(0, len(ids), CHUNK):
        have.update((r, i, p) for r, i, p in await session.execute(
            select(Obligation.rule, Obligation.subject_id, Obligation.period).where(
                Obligation.subject_type == "item", Obligation.subject_id.in_(ids[start:start + CHUNK]))))
    return have


async def _met_all(session: AsyncSession, rows: Sequence[tuple[str, int]]
                   ) -> dict[tuple[str, int], tuple[int | None, datetime | None]]:
    """What met each (rule, item) of ``rows`` (see _met), in a few queries for all of them."""
    found: dict[tuple[str, int], tuple[int | None, datetime | None]] = {}
    linked = [(rule, subject) for rule, subject in rows if rule in MEETING_LINK]
    ids = sorted({subject for _, subject in linked})
    first: dict[tuple[int, str], tuple[datetime, int]] = {}
    for start in range(0, len(ids), CHUNK):
        for to_id, rel, kind, item_id, at in await session.execute(
                select(Link.to_item_id, Link.rel, Item.kind, Item.id, Item.first_published_at)
                .join(Item, Item.id == Link.from_item_id)
                .where(Link.to_item_id.in_(ids[start:start + CHUNK]), Link.rel.in_(set(MEETING_LINK.values())),
                       Item.first_published_at.is_not(None), Item.state != ItemState.RETRACTED.value)):
            if at is None:
                continue
            for key in ((to_id, rel), (to_id, f"{rel}:{kind}")):
                if key not in first or (at, item_id) < first[key]:
                    first[key] = (at, item_id)
    for rule, subject in linked:
        rel = MEETING_LINK[rule]
        key = (subject, f"{rel}:{Kind.PRESS_CONFERENCE.value}" if rule == "R9" else rel)
        if key in first:
            found[(rule, subject)] = (first[key][1], first[key][0])
    own = sorted({subject for rule, subject in rows if rule not in MEETING_LINK})
    published: dict[int, datetime] = {}
    for start in range(0, len(own), CHUNK):
        published.update((i, at) for i, at in await session.execute(  # type: ignore[misc]
            select(Item.id, Item.first_published_at).where(
                Item.id.in_(own[start:start + CHUNK]), Item.first_published_at.is_not(None))))
    for rule, subject in rows:
        if rule not in MEETING_LINK and subject in published:
            found[(rule, subject)] = (subject, published[subject])
    return found


async def _met(session: AsyncSession, row: Obligation) -> tuple[int | None, datetime | None]:
    if row.rule == "R10":  # a recurring release's occurrence (schedules.recurring)
        from schedules import recurring

        return await recurring.met(session, row)
    if row.rule in MEETING_LINK:
        query = (select(Item.id, Item.first_published_at).join(Link, Link.from_item_id == Item.id)
                 .where(Link.rel == MEETING_LINK[row.rule], Link.to_item_id == row.subject_id,
                        Item.first_published_at.is_not(None), Item.state != ItemState.RETRACTED.value))
        if row.rule == "R9":  # a press-conference notice following the emergency
            query = query.where(Item.kind == Kind.PRESS_CONFERENCE.value)
        first = (await session.execute(query.order_by(Item.first_published_at).limit(1))).first()
        return (first[0], first[1]) if first else (None, None)
    item = await session.get(Item, row.subject_id)
    if item is None or item.first_published_at is None:
        return None, None
    return item.id, item.first_published_at


def settled(row: Obligation, met_by: int | None, met_at: datetime | None,
            now: datetime) -> dict[str, Any] | None:
    """The state from the facts: waived stays; met or late once met; missed after due. Returns
    the row's new values (``updated_at`` now), or None when nothing changes."""
    return _settled(row.state, row.due_at, (row.met_by, row.met_at), (met_by, met_at), now)


def _settled(state: str, due_at: datetime, before: tuple[int | None, datetime | None],
             met: tuple[int | None, datetime | None], now: datetime) -> dict[str, Any] | None:
    if state == State.WAIVED:
        return None
    if met[1] is not None:
        new = State.MET.value if met[1] < due_at else State.LATE.value
    else:
        new, met = State.MISSED.value if now >= due_at else State.OPEN.value, before
    if (new, *met) == (state, *before):
        return None
    return dict(state=new, met_by=met[0], met_at=met[1], updated_at=now)


def _filled(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with the same keys each (a statement for many rows binds one set of columns)."""
    keys = set().union(*rows)
    return [{k: r.get(k) for k in keys} for r in rows]


async def store_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the obligations ``rows`` (column values), in their order, a thousand per statement;
    one already stored (by an earlier sweep or another node at the same time) is skipped by ON
    CONFLICT DO NOTHING on the unique key. Returns how many were inserted."""
    table = TABLE
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).on_conflict_do_nothing(index_elements=list(KEY)).returning(table.c.id)
    created = 0
    for start in range(0, len(rows), BULK):
        created += len(list(await session.scalars(statement, _filled(rows[start:start + BULK]))))
    return created


async def save(session: AsyncSession, changes: Sequence[tuple[Obligation, dict[str, Any]]]) -> None:
    """Write the new values of loaded rows (from :func:`settled`) a thousand per statement, and
    keep the loaded objects as the database now has them (nothing left to flush row by row)."""
    if not changes:
        return
    table = TABLE
    statement = update(table).where(table.c.id == bindparam("_id")).values(
        {name: bindparam(f"_{name}") for name in SETTLED})
    params = [{"_id": row.id, **{f"_{name}": values[name] for name in SETTLED}} for row, values in changes]
    for start in range(0, len(params), BULK):
        await session.execute(statement, params[start:start + BULK])
    for row, values in changes:
        for name in SETTLED:
            set_committed_value(row, name, values[name])


async def evaluate(session: AsyncSession, calendar: WorkdayCalendar,
                   rules: Mapping[str, RuleConfig], *, tz: ZoneInfo, now: datetime) -> int:
    """Create the obligations owed and bring every unsettled one up to date; returns how many
    were created. Safe to run any number of times, from any number of nodes."""
    found = await candidates(session, rules, tz=tz, now=now)
    have = await _existing(session, [c.subject_id for c in found])
    new: list[dict[str, Any]] = []
    for c in found:
        if (c.rule, c.subject_id, c.period or c.starts_on.isoformat()) in have:
            continue  # stored already: no statement (a sweep costs reads, not writes)
        if c.due_at is not None:  # clock hours
            due_at, due_on = c.due_at, c.due_at.astimezone(tz).date()
        else:
            due_on = calendar.add_workdays(c.starts_on, rules[c.rule].workdays)
            due_at = due_instant(due_on, tz)
        values: dict[str, Any] = dict(
            rule=c.rule, department=c.department, subject_type="item", subject_id=c.subject_id,
            period=c.period or c.starts_on.isoformat(), starts_on=c.starts_on, due_on=due_on,
            due_at=due_at, state=State.OPEN.value,
            uncertain=bool(calendar.fallback_years(c.starts_on, due_on)),
            created_at=now, updated_at=now)
        if c.waiver is not None:
            values.update(state=State.WAIVED.value, waived_by=c.waiver[0], waived_at=now,
                          waive_reason=c.waiver[1])
        new.append(values)
    # a new row is stored settled already (as the pass below would leave it): no UPDATE after
    met = await _met_all(session, [(v["rule"], v["subject_id"]) for v in new])
    for v in new:
        v.update(_settled(v["state"], v["due_at"], (None, None), met.get((v["rule"], v["subject_id"]), (None, None)),
                          now) or {})
    created = await store_new(session, new)
    rows = list(await session.scalars(select(Obligation).where(
        Obligation.state.in_(UNSETTLED), Obligation.subject_type == "item")
        .with_for_update(skip_locked=True)))
    met = await _met_all(session, [(row.rule, row.subject_id) for row in rows])
    changes = [(row, change) for row in rows
               if (change := settled(row, *met.get((row.rule, row.subject_id), (None, None)), now)) is not None]
    for row in await session.scalars(select(Obligation).where(  # R10 occurrences (schedules.recurring)
            Obligation.state.in_(UNSETTLED), Obligation.rule == "R10").with_for_update(skip_locked=True)):
        if (change := settled(row, *await _met(session, row), now)) is not None:
            changes.append((row, change))
    await save(session, changes)
    await obligation_events.announce(session, calendar, rules, tz=tz, now=now)
    return created


async def waive(session: AsyncSession, obligation_id: int, *, reason: str, actor: str,
                now: datetime) -> Obligation:
    reason = reason.strip()
    if not reason:
        raise InputError("豁免必须说明理由", field="reason", fix='加上 --reason "理由"')
    if not actor:
        raise InputError("豁免须记录操作人", field="as", fix="用 --as 姓名 或设置环境变量 GONGKAI_USER")
    row = await session.get(Obligation, obligation_id)
    if row is None:
        raise InputError(f"时限义务 {obligation_id} 不存在", fix="用 gongkai obligations 查看编号")
    if row.state != State.OPEN and row.state != State.MISSED:
        raise InputError(f"时限义务 {obligation_id} 已是“{STATE_LABELS[State(row.state)]}”，不能豁免",
                         fix="只能豁免未到期或已超期未完成的时限义务")
    row.state, row.waived_by, row.waived_at, row.waive_reason = State.WAIVED.value, actor, now, reason
    row.updated_at = now
    session.add(AuditEvent(at=now, actor=actor, action="obligation_waived",
                           item_id=row.subject_id if row.subject_type == "item" else None,
                           reason=reason, detail={"obligation": row.id, "rule": row.rule,
                                                  "subject_type": row.subject_type,
                                                  "subject_id": row.subject_id, "period": row.period}))
    return row


async def listing(session: AsyncSession, *, state: str | None = None,
                  rule: str | None = None) -> list[Obligation]:
    query = select(Obligation).order_by(Obligation.due_at, Obligation.id)
    if state:
        query = query.where(Obligation.state == state)
    if rule:
        query = query.where(func.upper(Obligation.rule) == rule.upper())
    return list(await session.scalars(query))


async def attention(session: AsyncSession, calendar: WorkdayCalendar,
                    rules: Mapping[str, RuleConfig], *, tz: ZoneInfo,
                    now: datetime) -> list[Obligation]:
    """For the duty board: open ones within their rule's warning lead, every missed one (until
    met or waived), and those met late in the last RECENT_LATE_DAYS days."""
    today = now.astimezone(tz).date()
    rows = await session.scalars(
        select(Obligation).where(
            Obligation.state.in_(UNSETTLED)
            | ((Obligation.state == State.LATE.value)
               & (Obligation.met_at >= now - timedelta(days=RECENT_LATE_DAYS))))
        .order_by(Obligation.due_at, Obligation.id))
    result = []
    for row in rows:
        lead = rules[row.rule].warn_workdays if row.rule in rules else 0
        if row.state != State.OPEN or calendar.workdays_between(today, row.due_on) <= lead:
            result.append(row)
    return result


def to_json(row: Obligation) -> dict[str, Any]:
    return {"id": row.id, "rule": row.rule, "department": row.department,
            "subject": {"type": row.subject_type, "id": row.subject_id}, "period": row.period,
            "starts_on": row.starts_on, "due_on": row.due_on, "due_at": row.due_at,
            "state": row.state, "uncertain": row.uncertain, "met_by": row.met_by,
            "met_at": row.met_at, "waived_by": row.waived_by, "waived_at": row.waived_at,
            "waive_reason": row.waive_reason}
