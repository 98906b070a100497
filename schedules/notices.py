"""Warnings before an obligation's due instant, and the record of a miss.

Stages, per obligation: ``before`` (by default 1 working day before the last working day on or
before the due day; a month before the period ends for R6/R7; ``warn_hours`` before for R9),
``due_day`` (the start of that last working day; ``due_hours`` before for R9) and ``missed``.
Only the latest stage reached is recorded (a bot that was down does not send stale warnings).

Each stage is one :class:`~content.cadence.ObligationNotice` row with a unique key (obligation,
stage), inserted with ON CONFLICT DO NOTHING: only the transaction that inserts it adds the duty
messages and the event, so a warning goes out once across nodes, sweeps and restarts.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content import events
from content.cadence import DutyMessage, ObligationNotice
from content.models import Obligation
from schedules.cadence import BLANK, add_months, describe_subject, last_workday, start_of, subject_names, warn_day
from schedules.calendar import WorkdayCalendar
from schedules import duty_messages, obligation_events, recurring
from schedules.obligations import RULE_LABELS, STATE_LABELS, State, to_json

STAGE_LABELS = {"before": "即将到期", "due_day": "今日到期", "missed": "已超期未完成"}
HORIZON = timedelta(days=100)  # open obligations due within this are looked at
RECENT = timedelta(days=30)  # the duty board shows a cadence miss or a late one this long
RECENT_NOTICES = timedelta(days=7)  # the warnings the duty board lists
BULK = 1000  # rows per statement
STALE = timedelta(days=3)  # a miss older than this when first seen is recorded without an SMS


@dataclass(frozen=True)
class Contact:
    department: str  # "*" = every department
    sms: str = ""
    wechat_openid: str = ""
    name: str = ""


def stages(row: Obligation, conf: Any, calendar: WorkdayCalendar,
           tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """When each warning stage of ``row`` begins, earliest first."""
    if row.rule == "R9":
        return [("before", row.due_at - timedelta(hours=getattr(conf, "warn_hours", 12))),
                ("due_day", row.due_at - timedelta(hours=getattr(conf, "due_hours", 2)))]
    last = last_workday(calendar, row.due_on)
    if row.rule in ("R6", "R7"):
        before = add_months(row.due_on + timedelta(days=1), -getattr(conf, "warn_months", 1))
        return [("before", start_of(before, tz)), ("due_day", start_of(last, tz))]
    found = []
    if warn := getattr(conf, "warn_workdays", 1):
        found.append(("before", start_of(warn_day(calendar, row.due_on, warn), tz)))
    return [*found, ("due_day", start_of(last, tz))]


def stage_due(row: Obligation, conf: Any, calendar: WorkdayCalendar, tz: ZoneInfo,
              now: datetime) -> str | None:
    """The stage ``row`` is in at ``now``: missed, the latest warning reached, or None."""
    if row.state == State.MISSED.value:
        return "missed"
    if row.state != State.OPEN.value:
        return None
    reached = [name for name, at in stages(row, conf, calendar, tz) if at <= now < row.due_at]
    return reached[-1] if reached else None


def notice_text(row: Obligation, stage: str, names: Mapping[int, str], tz: ZoneInfo) -> str:
    due = (row.due_at - timedelta(minutes=1)).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    what = describe_subject(row, names)
    head = f"【{row.rule}】{RULE_LABELS.get(row.rule, row.rule)}：{what}"
    if row.period == BLANK and row.subject_type == "column":  # a finding, not a deadline
        return f"{head}（{row.department or '未填部门'}）尚无任何稿件"
    period = f"，{row.period}" if row.subject_type != "item" and row.period != BLANK else ""
    return f"{head}（{row.department or '未填部门'}{period}）{STAGE_LABELS[stage]}，期限 {due}"


def duty_params(row: Obligation, stage: str, names: Mapping[int, str], tz: ZoneInfo) -> dict[str, str]:
    """What a duty message says, kept on the message for every channel's ``send_duty``: the
    duty SMS template's variables (rule, what, state, due: each short enough for the
    providers) and the fuller values a WeChat template's fields take (channels.wechat.duty)."""
    last = (row.due_at - timedelta(minutes=1)).astimezone(tz)
    subject = describe_subject(row, names)
    return {"rule": row.rule, "what": subject[:20], "state": STAGE_LABELS[stage], "due": last.strftime("%m-%d %H:%M"),
            "rule_label": RULE_LABELS.get(row.rule, row.rule), "subject": subject,
            "department": row.department or "", "stage": stage, "due_at": last.strftime("%Y年%m月%d日 %H:%M"),
            "obligation": str(row.id), "item": str(row.subject_id) if row.subject_type == "item" else ""}


def contact_messages(contact: Contact, department: str) -> list[tuple[str, str]]:
    """The (channel, address) pairs a contact is told on about ``department``'s obligations:
    by SMS and by WeChat template message, each when the contact has the address."""
    if contact.department not in ("*", "", department):
        return []
    return [(channel, address) for channel, address in (("sms", contact.sms), ("wechat", contact.wechat_openid))
            if address]


async def raise_notices(session: AsyncSession, calendar: WorkdayCalendar, rules: Mapping[str, Any],
                        contacts: Sequence[Contact], *, tz: ZoneInfo, now: datetime,
                        node: str) -> list[ObligationNotice]:
    """Record the warnings and misses due now that were not recorded yet, with one duty message
    per matching contact; returns the notices this call recorded (none for a stage another node
    or an earlier sweep recorded)."""
    missed_told = select(ObligationNotice.id).where(ObligationNotice.obligation_id == Obligation.id,
                                                   ObligationNotice.stage == "missed").exists()
    rows = list(await session.scalars(select(Obligation).where(
        ((Obligation.state == State.OPEN.value) & (Obligation.due_at <= now + HORIZON))
        | ((Obligation.state == State.MISSED.value) & ~missed_told))
        .order_by(Obligation.id)))  # one order on every node: concurrent inserts never deadlock
    if not rows:
        return []
    done: set[tuple[int, str]] = set()
    ids = [r.id for r in rows]
    for i in range(0, len(ids), 500):
        done |= set(await session.execute(select(ObligationNotice.obligation_id, ObligationNotice.stage)
                                          .where(ObligationNotice.obligation_id.in_(ids[i:i + 500]))))
    # a recurring release's occurrence (R10) is reminded once, while nothing is attached, its
    # schedule's own lead ahead (schedules.recurring): that is its one warning stage
    recurring_due = await recurring.reminders_due(session, calendar, rows, tz=tz, now=now)
    todo = []
    for row in rows:
        stage = stage_due(row, rules.get(row.rule), calendar, tz, now)
        if row.rule == "R10" and stage != "missed":
            stage = "before" if row.id in recurring_due else None
        if stage is not None and (row.id, stage) not in done:
            todo.append((row, stage))
    if not todo:
        return []
    names = await subject_names(session, [r for r, _ in todo])
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # every notice in a few statements, in obligation order; ON CONFLICT DO NOTHING leaves out
    # those another node (or an earlier sweep) recorded: nothing more is done for them
    wanted = [dict(obligation_id=row.id, stage=stage, rule=row.rule, department=row.department,
                   text=notice_text(row, stage, names, tz), node=node, created_at=now) for row, stage in todo]
    table = cast(Table, ObligationNotice.__table__)
    statement = insert(table).on_conflict_do_nothing(index_elements=["obligation_id", "stage"]) \
        .returning(table.c.id, table.c.obligation_id, table.c.stage)
    recorded: dict[tuple[int, str], int] = {}
    for start in range(0, len(wanted), BULK):
        recorded.update(((o, st), i) for i, o, st in await session.execute(statement, wanted[start:start + BULK]))
    made, messages, owed = [], [], []
    announced = await events.happened(session, [obligation_events.stage_key(row, stage)
                                                for row, stage in todo if (row.id, stage) in recorded])
    for (row, stage), values in zip(todo, wanted):
        if (notice_id := recorded.get((row.id, stage))) is None:
            continue
        made.append(ObligationNotice(id=notice_id, **values))
        params = duty_params(row, stage, names, tz)
        if stage == "missed" and now - row.due_at > STALE:
            contacts_now: Sequence[Contact] = ()  # missed long ago (a first start): recorded, not texted
        else:
            contacts_now = contacts
        pairs = dict.fromkeys(p for contact in contacts_now for p in contact_messages(contact, row.department))
        messages += [dict(notice_id=notice_id, channel=channel, address=address, state="pending", attempts=0,
                          params=params, remote_id="", created_at=now)
                     for channel, address in pairs]  # a contact listed twice is told once (the unique key)
        # webhooks: an obligation.warning per warning stage and one .missed, under the keys
        # schedules.obligation_events uses, so the two never announce one stage twice
        if obligation_events.stage_key(row, stage) in announced:
            continue  # schedules.obligation_events told the webhooks already
        owed.append(("obligation.missed" if stage == "missed" else "obligation.warning", {
            **to_json(row), "state_label": STATE_LABELS[State(row.state)], "stage": stage,
            "subject_name": names.get(row.subject_id) if row.subject_type != "item" else None},
            obligation_events.stage_key(row, stage)))
    for start in range(0, len(messages), BULK):
        await session.execute(insert(cast(Table, DutyMessage.__table__)), messages[start:start + BULK])
    await events.emit_once_many(session, owed, now=now)
    return made


async def recent(session: AsyncSession, *, since: datetime, limit: int = 50) -> list[ObligationNotice]:
    return list(await session.scalars(select(ObligationNotice).where(ObligationNotice.created_at >= since)
                                      .order_by(ObligationNotice.created_at.desc(), ObligationNotice.id.desc())
                                      .limit(limit)))


async def of_obligations(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[ObligationNotice]]:
    found: dict[int, list[ObligationNotice]] = {}
    for i in range(0, len(ids), 500):
        for n in await session.scalars(select(ObligationNotice).where(
                ObligationNotice.obligation_id.in_(ids[i:i + 500])).order_by(ObligationNotice.id)):
            found.setdefault(n.obligation_id, []).append(n)
    return found


def notice_json(n: ObligationNotice, messages: Sequence[DutyMessage] = ()) -> dict[str, Any]:
    return {"id": n.id, "obligation": n.obligation_id, "rule": n.rule, "stage": n.stage,
            "department": n.department, "text": n.text, "at": n.created_at,
            "messages": [duty_messages.to_json(m) for m in messages]}


__all__ = ["STATE_LABELS", "Contact", "notice_json", "raise_notices", "stage_due", "stages"]


async def attention(session: AsyncSession, calendar: WorkdayCalendar, rules: Mapping[str, Any], *,
                    tz: ZoneInfo, now: datetime) -> list[Obligation]:
    """For the duty board: open obligations in a warning stage, missed ones (a cadence's only for
    RECENT days: a week without an update stays in the record and the reports, not on the board),
    and those met late in the last RECENT days."""
    recent_ = now - RECENT
    rows = await session.scalars(select(Obligation).where(
        ((Obligation.state == State.OPEN.value) & (Obligation.due_at <= now + HORIZON))
        | ((Obligation.state == State.MISSED.value)
           & ((Obligation.subject_type == "item") | (Obligation.due_at >= recent_)))
        | ((Obligation.state == State.LATE.value) & (Obligation.met_at >= recent_)))
        .order_by(Obligation.due_at, Obligation.id))
    return [r for r in rows if r.state != State.OPEN.value
            or stage_due(r, rules.get(r.rule), calendar, tz, now) is not None]
