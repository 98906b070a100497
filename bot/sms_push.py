"""Driving one release's SMS fan-out from the command line (``gongkai subscribers push``): the
delivery is claimed with a lease exactly as the runner claims it (so a running bot does not
work on it at the same time), every attempt is recorded, and progress is reported as it goes."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.service import Service
from channels.base import Job, Outcome, Purpose, Result
from channels.sms import recipients
from content.errors import NotFound, WorkflowError
from content.models import Delivery, DeliveryAttempt, Release, ReleaseItem
from content.views import load_views

if TYPE_CHECKING:
    from channels.sms.channel import SmsChannel


def _sms(service: Service) -> SmsChannel:
    """The SMS channel (``service.channels`` is typed by the ``Channel`` protocol; these functions
    use the SMS channel's own methods)."""
    return cast("SmsChannel", service.channels["sms"])


async def pushable(s: AsyncSession, release_id: int, now: datetime, *, lock: bool = False) -> Delivery:
    """The release's SMS delivery, if it can be pushed now; otherwise a message saying why not."""
    release = await s.get(Release, release_id)
    if release is None:
        raise NotFound(f"发布计划 {release_id} 不存在", fix="用 gongkai release list 查看编号")
    query = select(Delivery).where(Delivery.release_id == release_id, Delivery.channel == "sms")
    assert s.bind is not None  # sessions are always made by a bound sessionmaker
    if lock and s.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    d = await s.scalar(query)
    if d is None:
        if "sms" not in (release.channels or []):
            raise WorkflowError(f"发布计划 {release_id} 不发短信", fix="创建发布计划时在 --channels 中包含 sms")
        raise WorkflowError(f"发布计划 {release_id} 尚未发布，还没有短信投递",
                            fix="到发布时刻由 gongkai run 发出，或用 gongkai release reschedule --now 立即发布")
    if d.state in outbox.SETTLED:
        raise WorkflowError(f"发布计划 {release_id} 的短信投递已结束（{outbox.DELIVERY_LABELS[d.state]}）",
                            fix=f"用 gongkai subscribers report {release_id} 查看每个号码的结果")
    if d.state == "in_progress" and d.lease_until and d.lease_until >= now:
        raise WorkflowError(f"短信投递 {d.id} 正由 {d.lease_owner} 处理中",
                            fix=f"稍后用 gongkai release show {release_id} 查看进度")
    return d


async def reach(service: Service, release_id: int) -> recipients.Reach:
    """How many numbers a push of the release would still send to, and the billed parts."""
    async with service.store.sessions() as s:
        d = await pushable(s, release_id, service.clock.now())
        release = await s.get(Release, release_id)
        assert release is not None  # pushable() found it
        ids = list(await s.scalars(select(ReleaseItem.item_id).where(
            ReleaseItem.release_id == release_id).order_by(ReleaseItem.position)))
        items = tuple(await load_views(s, ids))
    message = _sms(service).message(items, Purpose(release.purpose))
    return await recipients.count_for_items(service.store, items, message, d.id)


async def claim(service: Service, release_id: int, node: str) -> outbox.Claim:
    now = service.clock.now()
    lease = service.settings.delivery.lease_seconds

    async def work(s):  # noqa: ANN001, ANN202
        d = await pushable(s, release_id, now, lock=True)
        crashed = d.state == "in_progress"
        if crashed:
            from sqlalchemy import update

            await s.execute(update(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id == d.id, DeliveryAttempt.outcome.is_(None))
                .values(outcome=Outcome.UNKNOWN.value, finished_at=now,
                        detail="进程在调用期间中断，结果未记录；将向对方核对"))
        mode = "reconcile" if d.state in ("submitted", "unknown") or crashed else "deliver"
        d.attempts += 1
        d.state = "in_progress"
        d.lease_owner = node
        d.lease_until = now + timedelta(seconds=lease)
        d.updated_at = now
        attempt = DeliveryAttempt(delivery_id=d.id, number=d.attempts, worker=node, started_at=now,
                                  detail=f"{outbox.MODE_LABELS.get(mode, mode)}（命令行）")
        s.add(attempt)
        await s.flush()
        return outbox.Claim(d.id, d.release_id, d.channel, mode, attempt.id, d.attempts,
                            dict(d.receipt or {}), dict(d.progress or {}))

    return await service.store.transaction(work, what="claim SMS delivery")


async def job_for(service: Service, c: outbox.Claim, node: str) -> Job:
    async with service.store.sessions() as s:
        release = await s.get(Release, c.release_id)
        assert release is not None  # the claimed delivery belongs to it
        ids = list(await s.scalars(select(ReleaseItem.item_id).where(
            ReleaseItem.release_id == c.release_id).order_by(ReleaseItem.position)))
        items = await load_views(s, ids)
    lease = service.settings.delivery.lease_seconds

    async def checkpoint(progress: Mapping[str, Any]) -> None:
        await service.store.transaction(lambda s: outbox.checkpoint(
            s, c.delivery_id, dict(progress), now=service.clock.now(), node=node, lease_seconds=lease),
            what="checkpoint")

    return Job(delivery_id=c.delivery_id, release_id=c.release_id, channel="sms",
               purpose=Purpose(release.purpose), items=tuple(items), options=dict(release.options),
               attempt=c.attempt, receipt=c.receipt, progress=c.progress, due_at=release.due_at,
               published_at=release.fired_at, checkpoint=checkpoint)


async def push(service: Service, release_id: int, node: str,
               on_progress: Callable[[Mapping[str, Any]], None]) -> tuple[str, Result]:
    """Run the fan-out until it ends or must wait (quiet hours, a paused provider, an unanswered
    batch being reconciled). Returns the delivery's new state and the last result."""
    channel = _sms(service)
    await channel.open()
    settings = service.settings.delivery
    while True:
        c = await claim(service, release_id, node)
        job = await job_for(service, c, node)
        on_progress(job.progress)
        try:
            result = await channel.deliver(job, on_progress=on_progress)
        except Exception as exc:  # noqa: BLE001 - recorded like the runner does
            result = Result(Outcome.UNKNOWN, f"渠道内部错误：{type(exc).__name__}: {exc}")

        async def record(s: AsyncSession, c: outbox.Claim = c, result: Result = result) -> str:
            return await outbox.record(
                s, c, result, now=service.clock.now(),
                max_attempts=min(settings.max_attempts, channel.capabilities.max_attempts),
                base=settings.backoff_base_seconds, cap=settings.backoff_max_seconds)

        state = await service.store.transaction(record, what="record outcome")
        if result.outcome is not Outcome.SUBMITTED:
            return state, result
