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
from content.kinds import ItemState, RevisionStatus
from content.models import AuditEvent, Delivery, Item, Release, ReleaseItem, ReviewRequest, Revision
from schedules import cadence, duty_messages, notices, obligations
from schedules.calendar import fallback_warning
from schedules.ticker import TickerHealth, read_health

if TYPE_CHECKING:
    from bot.service import Service

UPCOMING_LIMIT = 20
ATTENTION_LIMIT = 50
MY_STEPS_LIMIT = 200
AWAITING_LIMIT = 50  # the board lists the oldest; the 稿件 list (state 待审核) has them all
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
    awaiting_review: list[Awaiting]  # the oldest ``AWAITING_LIMIT`` (``awaiting_total`` in all)
    deadlines: list[obligations.Obligation]
    returned: list[Returned]
    retractions: list[ReviewRequest]
    calendar_warnings: list[str]
    alerts: list[str]
    my_steps: list[MyStep]  # the review steps ``who`` may take next (empty without an account)
    subject_names: dict = field(default_factory=dict)  # obligation subjects' names (columns, accounts)
    notices: list = field(default_factory=list)  # warnings and misses told in the last 7 days
    duty_messages: dict = field(default_factory=dict)  # notice id → its duty messages (SMS, WeChat)
    awaiting_total: int = 0  # revisions waiting for review, all of them

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
        not_ready = await _not_ready(s, [r for r in upcoming if r.due_at - now <= warn and r.purpose == "publish"])
        troubled = list(await s.scalars(select(Delivery).where(
            Delivery.state.in_(outbox.ATTENTION)).order_by(Delivery.id.desc()).limit(ATTENTION_LIMIT)))
        in_flight = int(await s.scalar(select(func.count(Delivery.id)).where(
            Delivery.state.in_(outbox.IN_FLIGHT))) or 0)
        draining = await outbox.drain_estimates(s, now)
        awaiting_total = int(await s.scalar(select(func.count()).select_from(Revision).where(
            Revision.status == RevisionStatus.SUBMITTED.value)) or 0)
        awaiting = await _awaiting(s, limit=AWAITING_LIMIT)
        my_steps = []
        if isinstance(who, AccountView):
            chains = await review_chain.waiting_for(s, who, svc.chains, MY_STEPS_LIMIT)
            by_id = {a.item_id: a for a in await _awaiting(s, [c.item_id for c in chains])}
            my_steps = [MyStep(by_id[c.item_id], c.next) for c in chains
                        if c.item_id in by_id and c.next is not None]
        deadlines = await notices.attention(s, svc.calendar, dict(svc.settings.rules), tz=tz, now=now)
        names = await cadence.subject_names(s, deadlines)
        warned = await notices.recent(s, since=now - notices.RECENT_NOTICES)
        told = await duty_messages.of_notices(s, [n.id for n in warned])
        returned = await returned_to(s, login) if login else []
        retractions = await workflow.pending_retractions(s)
    calendar_warnings = [fallback_warning(y) for y in svc.calendar.fallback_years(today, today + timedelta(days=30))]
    alerts = await svc.alerts() if with_alerts else []
    return Board(now, beat, upcoming, this_week, held, not_ready, troubled, in_flight, draining, awaiting,
                 deadlines, returned, retractions, calendar_warnings, alerts, my_steps, names, warned, told,
                 awaiting_total)


async def _not_ready(session: AsyncSession, soon: list[Release]) -> list[NotReady]:
    """Of the publications due within the warning lead, those with items not yet approved."""
    if not soon:
        return []
    waiting: dict[int, list[tuple[int, str]]] = {}
    for release_id, item_id, item_state in await session.execute(
            select(ReleaseItem.release_id, Item.id, Item.state).join(ReleaseItem, ReleaseItem.item_id == Item.id)
            .where(ReleaseItem.release_id.in_([r.id for r in soon]), Item.state.not_in(READY_STATES))
            .order_by(ReleaseItem.release_id, ReleaseItem.position)):
        waiting.setdefault(release_id, []).append((item_id, item_state))
    return [NotReady(r.id, r.due_at, tuple(waiting[r.id])) for r in soon if r.id in waiting]


async def _awaiting(session: AsyncSession, item_ids: list[int] | None = None, *,
                    limit: int | None = None) -> list[Awaiting]:
    """Items whose current revision waits for review, oldest submission first: the first
    ``limit``, or the items ``item_ids`` (in that order; the review chain found them waiting)."""
    query = (select(Item.id, Revision.title, Revision.created_by, Item.updated_at)
             .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision)))
    if item_ids is not None:
        rows = {r[0]: Awaiting(*r) for r in await session.execute(query.where(Item.id.in_(item_ids)))} \
            if item_ids else {}
        return [rows[i] for i in item_ids if i in rows]
    return [Awaiting(*r) for r in await session.execute(
        query.where(Revision.status == RevisionStatus.SUBMITTED.value)
        .order_by(Revision.created_at, Revision.id).limit(limit))]


async def returned_to(session: AsyncSession, author: str, limit: int = ATTENTION_LIMIT) -> list[Returned]:
    """Items whose current revision ``author`` wrote and a reviewer returned, with the comment
    (the latest ``limit``)."""
    rows = list(await session.execute(
        select(Item.id, Revision.title).join(Revision, (Revision.item_id == Item.id)
                                             & (Revision.number == Item.current_revision))
        .where(Revision.created_by == author, Revision.status == RevisionStatus.RETURNED.value,
               Item.state == ItemState.RETURNED.value).order_by(Item.id.desc()).limit(limit)))
    if not rows:
        return []
    latest = (select(func.max(AuditEvent.id)).where(
        AuditEvent.item_id.in_([i for i, _ in rows]), AuditEvent.action == "returned")
        .group_by(AuditEvent.item_id))
    events = {e.item_id: e for e in await session.scalars(select(AuditEvent).where(AuditEvent.id.in_(latest)))}
    return [Returned(item_id, title, e.actor, e.reason, e.at) for item_id, title in reversed(rows)
            if (e := events.get(item_id)) is not None]


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
        "awaiting_review_total": board.awaiting_total,
        "obligations": [obligations.to_json(d) for d in board.deadlines],
        "obligation_notices": [notices.notice_json(n, board.duty_messages.get(n.id, ())) for n in board.notices],
        "returned_to_me": [{"id": x.item_id, "title": x.title, "by": x.by, "comment": x.comment,
                            "at": x.at} for x in board.returned],
        "retractions_awaiting_approval": [{"item": x.item_id, "requested_by": x.requested_by,
                                           "requested_at": x.requested_at, "reason": x.reason}
                                          for x in board.retractions],
        "calendar_warnings": board.calendar_warnings + board.alerts,
    }
