"""The delivery outbox: claiming delivery rows with a lease, recording attempts and outcomes.

Delivery states: ``pending`` → ``in_progress`` → ``sent`` | ``submitted`` | ``retry`` |
``unknown`` | ``paused`` | ``failed``. ``submitted``, ``unknown`` and ``paused`` rows are claimed
again when due, to be reconciled (or resumed); an ``in_progress`` row whose lease ran out belongs
to a worker that died mid-call: its open attempt is closed as unknown and the row reconciled.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Outcome, Result
from content import audit
from content.errors import NotFound, WorkflowError
from content.models import Delivery, DeliveryAttempt

CLAIMABLE = ("pending", "retry", "submitted", "unknown", "paused")
SETTLED = ("sent", "failed")
DELIVERY_LABELS = {
    "pending": "待发送", "in_progress": "发送中", "sent": "已送达", "submitted": "已提交待确认",
    "retry": "等待重试", "unknown": "结果未知（核对中）", "paused": "渠道暂停", "failed": "失败",
}
RECONCILE_SECONDS = 30.0
PAUSE_SECONDS = 60.0


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
    )).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit))
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


async def record(session: AsyncSession, claim: Claim, result: Result, *, now: datetime,
                 max_attempts: int, base: float, cap: float) -> str:
    """Write the attempt's outcome and move the delivery on. Returns the new state."""
    await session.execute(update(DeliveryAttempt).where(DeliveryAttempt.id == claim.attempt_id)
                          .values(outcome=result.outcome.value, finished_at=now,
                                  detail=f"{claim.mode}: {result.detail}"[:4000]))
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
    if outcome is Outcome.SENT:
        d.state, d.settled_at, d.last_error = "sent", now, None
    elif outcome is Outcome.FAILED:
        d.state, d.settled_at, d.last_error = "failed", now, result.detail
    elif outcome is Outcome.SUBMITTED:
        d.state, d.last_error = "submitted", None
        delay = result.retry_after or RECONCILE_SECONDS
    elif outcome is Outcome.PAUSED:
        d.state, d.last_error = "paused", result.detail
        delay = result.retry_after or PAUSE_SECONDS
    elif outcome is Outcome.UNKNOWN:
        d.state, d.last_error = "unknown", result.detail
        delay = result.retry_after or backoff(d.attempts, RECONCILE_SECONDS, 3600)
    else:  # RETRY: only these count toward the limit (not pauses, polls or reconciliations)
        failures = await session.scalar(select(func.count(DeliveryAttempt.id)).where(
            DeliveryAttempt.delivery_id == d.id, DeliveryAttempt.outcome == Outcome.RETRY.value,
            DeliveryAttempt.worker.not_like("operator:%")))
        if failures >= max_attempts:
            d.state, d.settled_at = "failed", now
            d.last_error = f"已尝试 {failures} 次仍未成功：{result.detail}"
        else:
            d.state, d.last_error = "retry", result.detail
            delay = result.retry_after or backoff(failures, base, cap)
    if delay is not None:
        d.next_attempt_at = now + timedelta(seconds=delay)
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
                                detail=f"event: {result.detail}"[:4000]))
    if result.receipt:
        d.receipt = {**(d.receipt or {}), **result.receipt}
    d.updated_at = now
    if result.outcome is Outcome.SENT:
        d.state, d.settled_at, d.last_error = "sent", now, None
    elif result.outcome is Outcome.FAILED:
        d.state, d.settled_at, d.last_error = "failed", now, result.detail
    return True


async def resolve(session: AsyncSession, delivery_id: int, *, sent: bool, actor: str,
                  now: datetime, reason: str = "") -> Delivery:
    """An operator's decision on a delivery whose outcome could not be established.

    A channel that stopped at one step only staff can settle (one post of a bundle) says so with
    ``progress["awaiting_operator"] = {"remaining": n, …}``: the decision is added for it as
    ``progress["operator_decision"]`` ("sent" | "not_sent") and, when steps remain, the delivery
    goes back to the runner to finish them instead of being settled here."""
    d = await session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound(f"投递 {delivery_id} 不存在", fix="用 gongkai release show 发布编号 查看投递编号")
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
    else:
        d.state, d.next_attempt_at, d.last_error = "retry", now, None
    d.updated_at = now
    audit.record(session, at=now, actor=actor, action="delivery_resolved", release_id=d.release_id,
                 reason=reason, delivery=d.id, sent=sent)
    return d
