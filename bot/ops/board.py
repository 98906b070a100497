"""The duty board: what needs attention now. One implementation for ``gongkai status`` and the
console's 工作台: the scheduler's health, releases coming up (and this week's), held bundles,
deliveries that need someone, statutory deadlines, items waiting for review or returned to their
author, retractions to approve, calendar and channel alerts."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from content import review_chain, workflow
from content.accounts import AccountView
from content.review_chain import StepState
from content.kinds import ItemState
from content.models import AuditEvent, Delivery, Item, Release, ReleaseItem, ReviewRequest, Revision
from schedules import cadence, duty_messages, notices, obligations
from schedules.calendar import fallback_warning
from schedules.ticker import TickerHealth, read_health

if TYPE_CHECKING:
    from bot.service import Service

UPCOMING_LIMIT = 20
ATTENTION_LIMIT = 50
MY_STEPS_LIMIT = 200
READY_STATES = (ItemState.SCHEDULED.value, ItemState.APPROVED.value, ItemState.PUBLISHED.value,
                ItemState.CORRECTED.value, ItemState.RETRACTED.value)


@dataclass(frozen=True)
class Returned:
    """An item a reviewer sent back to its author, with the comment."""

    item_id: int
    title: str
    by: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class Awaiting:
    """An item whose current revision waits for review."""

    item_id: int
    title: str
    author: str
    since: datetime  # the item's last change (its submission)


@dataclass(frozen=True)
class MyStep:
    """A review step the signed-in account may take now."""

    item: Awaiting
    step: StepState


@dataclass(frozen=True)
class NotReady:
    """A publication due within the warning lead whose items are not all approved: it will be held."""

    release_id: int
    due_at: datetime
    items: tuple[tuple[int, str], ...]  # (item id, state)


@dataclass(frozen=True)
class Board:
    now: datetime
    beat: TickerHealth
    upcoming: list[Release]  # pending, soonest first
    this_week: list[Release]  # due from today 00:00 to Sunday 24:00 (local), any state
    held: list[Release]
    not_ready: list[NotReady]
    troubled: list[Delivery]  # failed / unknown / paused / retry
    in_flight: int
    draining: list[outbox.DrainEstimate]
    awaiting_review: list[Awaiting]
    deadlines: list[obligations.Obligation]
    returned: list[Returned]
    retractions: list[ReviewRequest]
    calendar_warnings: list[str]
    alerts: list[str]
    my_steps: list[MyStep]  # the review steps ``who`` may take next (empty without an account)
    subject_names: dict = field(default_factory=dict)  # obligation subjects' names (columns, accounts)
    notices: list = field(default_factory=list)  # warnings and misses told in the last 7 days
    duty_messages: dict = field(default_factory=dict)  # notice id → its duty messages (SMS, WeChat)

    def overdue_minutes(self, release: Release) -> int | None:
        """A release a minute or more past its instant and still pending was not sent."""
        late = self.now - release.due_at
        return int(late.total_seconds() // 60) if late >= timedelta(minutes=1) else None



async def gather(svc: Service, who: AccountView | str | None = None, *, with_alerts: bool = True) -> Board:
    """Everything on the board; ``who`` (an account or a login) adds the items returned to them."""
    now = svc.clock.now()
    login = who.login if isinstance(who, AccountView) else (who or "").strip()
    warn = timedelta(hours=svc.settings.schedule.warn_hours_before)
    tz = svc.settings.tz
    today = now.astimezone(tz).date()
    week_start = datetime.combine(today, time(0), tz)
    week_end = datetime.combine(today + timedelta(days=7 - today.weekday()), time(0), tz)
    async with svc.store.sessions() as s:
        beat = await read_health(s, now)
        upcoming = list(await s.scalars(select(Release).where(Release.state == "pending")
                                        .order_by(Release.due_at).limit(UPCOMING_LIMIT)))
        this_week = list(await s.scalars(select(Release).where(
            Release.due_at >= week_start, Release.due_at < week_end).order_by(Release.due_at).limit(200)))
        held = list(await s.scalars(select(Release).where(Release.state == "held").order_by(Release.due_at)))
        not_ready = []
        for rel in upcoming:
            if rel.due_at - now > warn or rel.purpose != "publish":
                continue
            rows = list(await s.execute(
                select(Item.id, Item.state).join(ReleaseItem, ReleaseItem.item_id == Item.id)
                .where(ReleaseItem.release_id == rel.id, Item.state.not_in(READY_STATES))))
            if rows:
                not_ready.append(NotReady(rel.id, rel.due_at, tuple((i, st) for i, st in rows)))
        troubled = list(await s.scalars(select(Delivery).where(
            Delivery.state.in_(outbox.ATTENTION)).order_by(Delivery.id.desc()).limit(ATTENTION_LIMIT)))
        in_flight = int(await s.scalar(select(func.count(Delivery.id)).where(
            Delivery.state.in_(outbox.IN_FLIGHT))) or 0)
        draining = await outbox.drain_estimates(s, now)
        awaiting = [Awaiting(i, t, a, at) for i, t, a, at in await s.execute(
            select(Item.id, Revision.title, Revision.created_by, Item.updated_at)
            .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
            .where(Revision.status == "submitted").order_by(Item.id))]
        my_steps = []
        if isinstance(who, AccountView):
            by_id = {a.item_id: a for a in awaiting}
            for chain in await review_chain.waiting_for(s, who, svc.chains, MY_STEPS_LIMIT):
                if chain.item_id in by_id and chain.next is not None:
                    my_steps.append(MyStep(by_id[chain.item_id], chain.next))
        deadlines = await notices.attention(s, svc.calendar, dict(svc.settings.rules), tz=tz, now=now)
        names = await cadence.subject_names(s, deadlines)
        warned = await notices.recent(s, since=now - notices.RECENT_NOTICES)
        told = await duty_messages.of_notices(s, [n.id for n in warned])
        returned = await returned_to(s, login) if login else []
        retractions = await workflow.pending_retractions(s)
    calendar_warnings = [fallback_warning(y) for y in svc.calendar.fallback_years(today, today + timedelta(days=30))]
    alerts = await svc.alerts() if with_alerts else []
    return Board(now, beat, upcoming, this_week, held, not_ready, troubled, in_flight, draining, awaiting,
                 deadlines, returned, retractions, calendar_warnings, alerts, my_steps, names, warned, told)


async def returned_to(session: AsyncSession, author: str) -> list[Returned]:
    """Items whose current revision ``author`` wrote and a reviewer returned, with the comment."""
    rows = list(await session.execute(
        select(Item.id, Revision.title).join(Revision, (Revision.item_id == Item.id)
                                             & (Revision.number == Item.current_revision))
        .where(Item.state == ItemState.RETURNED.value, Revision.created_by == author).order_by(Item.id)))
    result = []
    for item_id, title in rows:
        event = await session.scalar(select(AuditEvent).where(
            AuditEvent.item_id == item_id, AuditEvent.action == "returned").order_by(AuditEvent.id.desc()))
        if event is not None:
            result.append(Returned(item_id, title, event.actor, event.reason, event.at))
    return result


def to_json(board: Board) -> dict[str, Any]:
    """The board as ``gongkai status --json`` (and the API) give it: English keys, ISO times."""
    beat = board.beat
    return {
        "now": board.now, "ticker": {"running": beat.running, "state": beat.state.value,
                                     "heartbeat_age_seconds": beat.age_seconds, "node": beat.node,
                                     "since": beat.since},
        "upcoming": [{"id": x.id, "due_at": x.due_at, "purpose": x.purpose, "channels": x.channels,
                      "overdue_minutes": board.overdue_minutes(x)} for x in board.upcoming],
        "warnings": [{"release": w.release_id, "due_at": w.due_at,
                      "items": [{"id": i, "state": st} for i, st in w.items]} for w in board.not_ready],
        "held": [{"id": x.id, "due_at": x.due_at, "reason": x.hold_reason} for x in board.held],
        "deliveries": {"in_flight": board.in_flight, "attention": [
            {"id": d.id, "release": d.release_id, "channel": d.channel, "state": d.state,
             "attempts": d.attempts, "error": d.last_error} for d in board.troubled],
            "draining": [e.to_json() for e in board.draining]},
        "awaiting_review": [{"id": a.item_id, "title": a.title} for a in board.awaiting_review],
        "obligations": [obligations.to_json(d) for d in board.deadlines],
        "obligation_notices": [notices.notice_json(n, board.duty_messages.get(n.id, ())) for n in board.notices],
        "returned_to_me": [{"id": x.item_id, "title": x.title, "by": x.by, "comment": x.comment,
                            "at": x.at} for x in board.returned],
        "retractions_awaiting_approval": [{"item": x.item_id, "requested_by": x.requested_by,
                                           "requested_at": x.requested_at, "reason": x.reason}
                                          for x in board.retractions],
        "calendar_warnings": board.calendar_warnings + board.alerts,
    }
