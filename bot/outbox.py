"""The delivery outbox: claiming delivery rows with a lease, recording attempts and outcomes.

Delivery states: ``pending`` → ``in_progress`` → ``sent`` | ``submitted`` | ``retry`` |
``unknown`` | ``paused`` | ``throttled`` | ``failed``. ``submitted``, ``unknown``, ``paused`` and
``throttled`` rows are claimed again when due, to be reconciled (or resumed); an ``in_progress``
row whose lease ran out belongs to a worker that died mid-call: its open attempt is closed as
unknown and the row reconciled. Only ``retry`` outcomes count toward the attempt limit: a pause
waits for staff, a throttled delivery waits for a rate limit to reset, however long either takes.
A ``failed`` delivery staff have dealt with by hand is closed with a note (``resolved``).
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels import catalogue
from channels.base import Outcome, Result
from content import audit
from content import events
from content.errors import InputError, NotFound, WorkflowError
from content.models import Delivery, DeliveryAttempt

CLAIMABLE = ("pending", "retry", "submitted", "unknown", "paused", "throttled")
SETTLED = ("sent", "failed", "resolved")
#: States that need staff (``gongkai status``); ``resolved`` leaves the board.
ATTENTION = ("failed", "unknown", "paused", "retry")
#: States of a delivery that is on its way without anyone having to act.
IN_FLIGHT = ("pending", "in_progress", "submitted", "throttled")
#: How an attempt's detail says what the attempt was (shown to staff in ``release show``).
MODE_LABELS = {"deliver": "发送", "reconcile": "核对", "event": "回调"}
DELIVERY_LABELS = {
    "pending": "待发送", "in_progress": "发送中", "sent": "已送达", "submitted": "已提交待确认",
    "retry": "等待重试", "unknown": "结果未知（核对中）", "paused": "渠道暂停",
    "throttled": "限流等待（自动继续）", "failed": "失败", "resolved": "已人工处理",
}
RECONCILE_SECONDS = 30.0
PAUSE_SECONDS = 60.0
THROTTLE_SECONDS = 60.0


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    release_id: int
    channel: str
    mode: str  # deliver | reconcile
    attempt_id: int
    attempt: int
    receipt: dict[str, Any]
    progress: dict[str, Any]


async def claim(session: AsyncSession, *, now: datetime, node: str, lease_seconds: int,
                limit: int, idempotent: dict[str, bool]) -> list[Claim]:
    query = (select(Delivery).where(or_(
        and_(Delivery.state.in_(CLAIMABLE), Delivery.next_attempt_at <= now),
        and_(Delivery.state == "in_progress", Delivery.lease_until < now),
    )).order_by(Delivery.priority.desc(), Delivery.next_attempt_at, Delivery.id).limit(limit))  # emergencies first
    assert session.bind is not None  # sessions are always made by a bound sessionmaker
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claims = []
    for d in await session.scalars(query):
        crashed = d.state == "in_progress"
        if crashed:
            await session.execute(update(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id == d.id, DeliveryAttempt.outcome.is_(None))
                .values(outcome=Outcome.UNKNOWN.value, finished_at=now,
                        detail="进程在调用期间中断，结果未记录；将向对方核对"))
        safe_to_resend = idempotent.get(d.channel, False)
        if d.state in ("submitted", "unknown") or (crashed and not safe_to_resend):
            mode = "reconcile"
        else:
            mode = "deliver"
        d.attempts += 1
        d.state = "in_progress"
        d.lease_owner = node
        d.lease_until = now + timedelta(seconds=lease_seconds)
        d.updated_at = now
        attempt = DeliveryAttempt(delivery_id=d.id, number=d.attempts, worker=node,
                                  started_at=now, detail=mode)
        session.add(attempt)
        await session.flush()
        claims.append(Claim(d.id, d.release_id, d.channel, mode, attempt.id, d.attempts,
                            dict(d.receipt or {}), dict(d.progress or {})))
    return claims


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: about base·2^(n-1), between half and 1.5 times that."""
    return min(cap, base * 2 ** max(attempt - 1, 0)) * (0.5 + random.random())


def reconcile_delay(unknowns: int, poll: float, cap: float) -> float:
    """When to reconcile after the ``unknowns``-th unknown outcome in a row: the first within
    ``poll`` seconds, later ones backing off up to ``cap`` (between half and all of poll·2^(n-1))."""
    return min(max(cap, poll), poll * 2 ** max(unknowns - 1, 0)) * (0.5 + random.random() / 2)


async def _unknowns_in_a_row(session: AsyncSession, delivery_id: int) -> int:
    """Unknown outcomes since the delivery last had any other: a pause or a throttled wait in
    between starts the count again, however many attempts the delivery has made."""
    outcomes = await session.scalars(select(DeliveryAttempt.outcome).where(
        DeliveryAttempt.delivery_id == delivery_id, DeliveryAttempt.outcome.is_not(None))
        .order_by(DeliveryAttempt.id.desc()).limit(64))
    count = 0
    for outcome in outcomes:
        if outcome != Outcome.UNKNOWN.value:
            break
        count += 1
    return count


async def record(session: AsyncSession, claim: Claim, result: Result, *, now: datetime,
                 max_attempts: int, base: float, cap: float, poll: float = RECONCILE_SECONDS) -> str:
    """Write the attempt's outcome and move the delivery on. Returns the new state.

    ``poll`` is the runner's poll interval: an unknown outcome is first reconciled within it."""
    await session.execute(update(DeliveryAttempt).where(DeliveryAttempt.id == claim.attempt_id)
                          .values(outcome=result.outcome.value, finished_at=now,
                                  detail=f"{MODE_LABELS.get(claim.mode, claim.mode)}：{result.detail}"[:4000]))
    d = await session.get(Delivery, claim.delivery_id)
    if d is None:
        return "missing"
    if result.receipt:
        d.receipt = {**(d.receipt or {}), **result.receipt}
    if result.progress is not None:
        d.progress = dict(result.progress)
    d.lease_owner = None
    d.lease_until = None
    d.updated_at = now
    outcome = result.outcome
    delay = None
    d.pace = result.pace.to_json() if outcome is Outcome.THROTTLED and result.pace else None
    if outcome is Outcome.SENT:
        d.state, d.settled_at, d.last_error = "sent", now, None
    elif outcome is Outcome.FAILED:
        d.state, d.settled_at, d.last_error = "failed", now, result.detail
    elif outcome is Outcome.THROTTLED:
        d.state, d.last_error = "throttled", result.detail
        delay = result.retry_after or THROTTLE_SECONDS
    elif outcome is Outcome.SUBMITTED:
        d.state, d.last_error = "submitted", None
        delay = result.retry_after or RECONCILE_SECONDS
    elif outcome is Outcome.PAUSED:
        d.state, d.last_error = "paused", result.detail
        delay = result.retry_after or PAUSE_SECONDS
    elif outcome is Outcome.UNKNOWN:
        d.state, d.last_error = "unknown", result.detail
        unknowns = await _unknowns_in_a_row(session, d.id)
        delay = result.retry_after or reconcile_delay(unknowns, poll, cap)
        if unknowns == 1:  # the first unknown in a row is announced, not each reconciliation
            await events.emit(session, "delivery.unknown", events.delivery_data(d, result.detail), now=now)
    else:  # RETRY: only these count toward the limit (not pauses, throttling, polls or reconciliations)
        failures = await session.scalar(select(func.count(DeliveryAttempt.id)).where(
            DeliveryAttempt.delivery_id == d.id, DeliveryAttempt.outcome == Outcome.RETRY.value,
            DeliveryAttempt.worker.not_like("operator:%")))
        assert failures is not None  # COUNT always returns a row
        if failures >= max_attempts:
            d.state, d.settled_at = "failed", now
            d.last_error = f"已尝试 {failures} 次仍未成功：{result.detail}"
        else:
            d.state, d.last_error = "retry", result.detail
            delay = result.retry_after or backoff(failures, base, cap)
    if delay is not None:
        d.next_attempt_at = now + timedelta(seconds=delay)
    if d.state in ("sent", "failed"):
        await events.emit(session, f"delivery.{d.state}", events.delivery_data(d, result.detail), now=now)
    return d.state


async def checkpoint(session: AsyncSession, delivery_id: int, progress: dict[str, Any], *,
                     now: datetime, node: str, lease_seconds: int) -> None:
    await session.execute(update(Delivery).where(
        Delivery.id == delivery_id, Delivery.lease_owner == node)
        .values(progress=progress, lease_until=now + timedelta(seconds=lease_seconds), updated_at=now))


async def settle(session: AsyncSession, delivery_id: int, result: Result, *, now: datetime,
                 source: str) -> bool:
    """Settle a ``submitted`` (or ``unknown``) delivery from a remote event, e.g. a WeChat
    PUBLISHJOBFINISH callback. Returns False if it was already settled."""
    d = await session.get(Delivery, delivery_id)
    if d is None or d.state in SETTLED:
        return False
    session.add(DeliveryAttempt(delivery_id=d.id, number=d.attempts, worker=source,
                                started_at=now, finished_at=now, outcome=result.outcome.value,
                                detail=f"{MODE_LABELS['event']}：{result.detail}"[:4000]))
    if result.receipt:
        d.receipt = {**(d.receipt or {}), **result.receipt}
    d.updated_at = now
    if result.outcome is Outcome.SENT:
        d.state, d.settled_at, d.last_error = "sent", now, None
    elif result.outcome is Outcome.FAILED:
        d.state, d.settled_at, d.last_error = "failed", now, result.detail
    if d.state in ("sent", "failed"):
        await events.emit(session, f"delivery.{d.state}", events.delivery_data(d, result.detail), now=now)
    return True


async def _delivery(session: AsyncSession, delivery_id: int) -> Delivery:
    d = await session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound(f"投递 {delivery_id} 不存在", fix="用 gongkai release show 发布编号 查看投递编号")
    return d


async def close(session: AsyncSession, delivery_id: int, *, actor: str, now: datetime, note: str) -> Delivery:
    """Staff have done by hand what a failed delivery could not (e.g. deleted a microblog that
    the API may not delete): close it as ``resolved`` with their note, off the board, audited."""
    note = note.strip()
    if not note:
        raise InputError("关闭失败的投递需要写明做了什么", field="note",
                         fix=f"加 --note，例如 gongkai delivery resolve {delivery_id} --done --note \"已人工删除微博\"")
    d = await _delivery(session, delivery_id)
    if d.state != "failed":
        raise WorkflowError(f"投递 {delivery_id} 当前为“{DELIVERY_LABELS.get(d.state, d.state)}”，只有失败的投递可以人工关闭",
                            fix="结果未知的投递用 --sent 或 --not-sent 确认")
    session.add(DeliveryAttempt(delivery_id=d.id, number=d.attempts, worker=f"operator:{actor}",
                                started_at=now, finished_at=now, outcome="resolved",
                                detail=f"人工处理：{note}"[:4000]))
    failure = d.last_error or ""
    d.state, d.updated_at = "resolved", now
    audit.record(session, at=now, actor=actor, action="delivery_closed", release_id=d.release_id,
                 reason=note, delivery=d.id, channel=d.channel, failure=failure[:1000])
    return d


async def resolve(session: AsyncSession, delivery_id: int, *, sent: bool, actor: str,
                  now: datetime, reason: str = "") -> Delivery:
    """An operator's decision on a delivery whose outcome could not be established.

    A channel that stopped at one step only staff can settle (one post of a bundle) says so with
    ``progress["awaiting_operator"] = {"remaining": n, …}``: the decision is added for it as
    ``progress["operator_decision"]`` ("sent" | "not_sent") and, when steps remain, the delivery
    goes back to the runner to finish them instead of being settled here."""
    d = await _delivery(session, delivery_id)
    if d.state == "failed":
        raise WorkflowError(f"投递 {delivery_id} 已失败，无法再标记为已送达或重新发送",
                            fix=f"按失败原因人工处理后，用 gongkai delivery resolve {delivery_id} --done "
                                "--note \"做了什么\" 关闭它")
    if d.state not in ("unknown", "paused", "retry", "submitted"):
        raise WorkflowError(f"投递 {delivery_id} 当前为“{DELIVERY_LABELS.get(d.state, d.state)}”，无需人工确认")
    session.add(DeliveryAttempt(delivery_id=d.id, number=d.attempts, worker=f"operator:{actor}",
                                started_at=now, finished_at=now,
                                outcome="sent" if sent else "retry",
                                detail=f"人工确认：{'已送达' if sent else '未送达，重新发送'} {reason}"))
    question = (d.progress or {}).get("awaiting_operator")
    if isinstance(question, dict):
        d.progress = {**d.progress, "operator_decision": "sent" if sent else "not_sent"}
    if sent and not (isinstance(question, dict) and question.get("remaining")):
        d.state, d.settled_at, d.last_error = "sent", now, None
        await events.emit(session, "delivery.sent", events.delivery_data(d, f"人工确认：{reason}"), now=now)
    else:
        d.state, d.next_attempt_at, d.last_error = "retry", now, None
    d.updated_at = now
    audit.record(session, at=now, actor=actor, action="delivery_resolved", release_id=d.release_id,
                 reason=reason, delivery=d.id, sent=sent)
    return d


@dataclass(frozen=True)
class DrainEstimate:
    """When a throttled delivery will have sent everything, at the rate its channel allows."""

    delivery_id: int
    release_id: int
    channel: str
    state: str
    remaining: int | None  # posts / messages still to send (None: the channel did not say)
    per_window: int | None  # at most this many per window (None: not known, assumed all at once)
    window_seconds: float
    resumes_at: datetime  # when sending goes on
    finishes_at: datetime  # estimated instant of the last send

    def to_json(self) -> dict[str, Any]:
        return {"delivery": self.delivery_id, "release": self.release_id, "channel": self.channel,
                "state": self.state, "remaining": self.remaining, "per_window": self.per_window,
                "window_seconds": self.window_seconds, "resumes_at": self.resumes_at,
                "finishes_at": self.finishes_at}

    def line(self, local: Callable[[datetime], str]) -> str:
        """One line for ``gongkai status`` / ``release show``, with times in the configured zone."""
        left = f"还有 {self.remaining} 条，" if self.remaining is not None else ""
        rate = f"每{_window_label(self.window_seconds)}最多 {self.per_window} 条，" if self.per_window else ""
        return (f"投递 {self.delivery_id}（计划 {self.release_id} → {catalogue.label(self.channel)}）限流中："
                f"{left}{rate}{local(self.resumes_at)} 继续，预计 {local(self.finishes_at)} 发完")


def _window_label(seconds: float) -> str:
    return {3600.0: "小时", 60.0: "分钟", 86400.0: "天", 1.0: "秒"}.get(float(seconds), f" {seconds:g} 秒")


async def drain_estimates(session: AsyncSession, now: datetime,
                          release_id: int | None = None) -> list[DrainEstimate]:
    """Every delivery held back by a rate limit (or being sent after one): what is left, at what
    rate, and when it should be done. The last window's sends are taken to go out at once; a
    channel that did not say how much is left is taken to finish when it resumes."""
    query = select(Delivery).where(Delivery.state.in_(("throttled", "in_progress"))).order_by(Delivery.id)
    if release_id is not None:
        query = query.where(Delivery.release_id == release_id)
    estimates = []
    for d in await session.scalars(query):
        pace = d.pace if isinstance(d.pace, dict) else {}
        if d.state == "in_progress" and not pace.get("remaining"):
            continue
        remaining = int(pace["remaining"]) if pace.get("remaining") is not None else None
        per_window = int(pace["per_window"]) if pace.get("per_window") else None
        window = float(pace.get("window_seconds") or 3600.0)
        resumes = max(d.next_attempt_at, now) if d.state == "throttled" else now
        windows = math.ceil(remaining / per_window) - 1 if per_window and remaining else 0
        estimates.append(DrainEstimate(d.id, d.release_id, d.channel, d.state, remaining, per_window, window,
                                       resumes, resumes + timedelta(seconds=windows * window)))
    return estimates
