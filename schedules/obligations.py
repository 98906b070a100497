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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content.errors import InputError
from content.kinds import ItemState, Kind
from content.models import AuditEvent, Item, Link, Obligation, Revision
from schedules import obligation_events
from schedules.calendar import WorkdayCalendar

RECENT_LATE_DAYS = 30  # the duty board shows an obligation met late for this long
LOOKBACK_DAYS = 120  # items touched or published this recently are (re)considered


class State(StrEnum):
    OPEN = "open"
    MET = "met"
    LATE = "late"
    MISSED = "missed"
    WAIVED = "waived"


STATE_LABELS = {State.OPEN: "未到期", State.MET: "按时完成", State.LATE: "逾期完成",
                State.MISSED: "已超期未完成", State.WAIVED: "已豁免"}
RULE_LABELS = {"R1": "政策文件发布后解读", "R3": "重大决策会后解读", "R4": "清单调整后公开",
               "L26": "信息形成后20个工作日内公开", "R10": "定期发布"}
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


def due_instant(due_on: date, tz: ZoneInfo) -> datetime:
    """The end of ``due_on`` in ``tz`` (the next local midnight), in UTC."""
    return datetime.combine(due_on + timedelta(days=1), time(0), tz).astimezone(timezone.utc)


def _trigger(rule: str, kind: str, extra: Mapping[str, Any], published: datetime | None,
             tz: ZoneInfo) -> date | None:
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
               (Item.updated_at >= since) | (Item.first_published_at >= since)))
    found = []
    for item_id, kind, department, published, extra, author in rows:
        extra = extra or {}
        for rule, conf in rules.items():
            if not conf.enabled or (start := _trigger(rule, kind, extra, published, tz)) is None:
                continue
            waiver = None
            if rule == "R1" and extra.get("interpretation") == "none":
                waiver = (author, str(extra.get("interpretation_reason") or ""))
            found.append(Candidate(rule, item_id, department, start, waiver))
    return found


async def _met(session: AsyncSession, row: Obligation) -> tuple[int | None, datetime | None]:
    if row.rule == "R10":  # a recurring release's occurrence (schedules.recurring)
        from schedules import recurring

        return await recurring.met(session, row)
    if row.rule in ("R1", "R3"):
        first = (await session.execute(
            select(Item.id, Item.first_published_at).join(Link, Link.from_item_id == Item.id)
            .where(Link.rel == "interprets", Link.to_item_id == row.subject_id,
                   Item.first_published_at.is_not(None))
            .order_by(Item.first_published_at).limit(1))).first()
        return (first[0], first[1]) if first else (None, None)
    item = await session.get(Item, row.subject_id)
    if item is None or item.first_published_at is None:
        return None, None
    return item.id, item.first_published_at


def settle(row: Obligation, met_by: int | None, met_at: datetime | None, now: datetime) -> None:
    """The state from the facts: waived stays; met or late once met; missed after due."""
    if row.state == State.WAIVED:
        return
    if met_at is not None:
        row.met_by, row.met_at = met_by, met_at
        row.state = State.MET.value if met_at < row.due_at else State.LATE.value
    else:
        row.state = State.MISSED.value if now >= row.due_at else State.OPEN.value


async def evaluate(session: AsyncSession, calendar: WorkdayCalendar,
                   rules: Mapping[str, RuleConfig], *, tz: ZoneInfo, now: datetime) -> int:
    """Create the obligations owed and bring every unsettled one up to date; returns how many
    were created. Safe to run any number of times, from any number of nodes."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = 0
    for c in await candidates(session, rules, tz=tz, now=now):
        due_on = calendar.add_workdays(c.starts_on, rules[c.rule].workdays)
        values: dict[str, Any] = dict(
            rule=c.rule, department=c.department, subject_type="item", subject_id=c.subject_id,
            period=c.starts_on.isoformat(), starts_on=c.starts_on, due_on=due_on,
            due_at=due_instant(due_on, tz), state=State.OPEN.value,
            uncertain=bool(calendar.fallback_years(c.starts_on, due_on)),
            created_at=now, updated_at=now)
        if c.waiver is not None:
            values.update(state=State.WAIVED.value, waived_by=c.waiver[0], waived_at=now,
                          waive_reason=c.waiver[1])
        result = await session.execute(
            insert(Obligation).values(**values)
            .on_conflict_do_nothing(index_elements=["rule", "subject_type", "subject_id", "period"]))
        created += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    for row in await session.scalars(select(Obligation).where(Obligation.state.in_(UNSETTLED))
                                     .with_for_update(skip_locked=True)):
        before = (row.state, row.met_by, row.met_at)
        settle(row, *await _met(session, row), now)
        if (row.state, row.met_by, row.met_at) != before:
            row.updated_at = now
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
    session.add(AuditEvent(at=now, actor=actor, action="obligation_waived", item_id=row.subject_id,
                           reason=reason, detail={"obligation": row.id, "rule": row.rule}))
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
