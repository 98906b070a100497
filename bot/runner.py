"""The delivery runner: a long-lived loop over the outbox.

For each claimed delivery it builds the job (the release's published items, policy first), calls
the channel (deliver, or reconcile when the last outcome is unknown or awaiting confirmation)
with a time limit, and records the outcome. A channel that raises or times out gives an
``unknown`` outcome: reconciled later, never blindly resent.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from bot import outbox
from bot.settings import DeliverySettings
from channels.base import Channel, Job, Outcome, Purpose, Result
from content.clock import Clock
from content.db import Store
from content.models import Release, ReleaseItem
from content.views import load_views

log = logging.getLogger("gongkai.runner")
CALL_TIMEOUT = 120.0



async def idle(wake: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    """Wait until ``wake`` is set (new work), ``stop`` is set, or ``timeout`` seconds pass: the
    idle step of a polling loop (the delivery runner, the webhook sender)."""
    wake.clear()
    waiter = asyncio.ensure_future(wake.wait())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    stopper.cancel()

class Runner:
    def __init__(self, store: Store, channels: Mapping[str, Channel], clock: Clock,
                 settings: DeliverySettings, node: str, call_timeout: float = CALL_TIMEOUT) -> None:
        self.store = store
        self.channels = channels
        self.clock = clock
        self.settings = settings
        self.node = node
        self.call_timeout = call_timeout
        self._wake = asyncio.Event()
        self._semaphore = asyncio.Semaphore(settings.concurrency)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # noqa: BLE001 - the loop must survive a bad round
                log.exception("投递循环出错，稍后重试")
                handled = 0
            if handled:
                continue
            await idle(self._wake, stop, self.settings.poll_seconds)

    async def run_once(self) -> int:
        """Claim what is due and process it; returns how many deliveries were handled."""
        now = self.clock.now()
        idempotent = {name: ch.capabilities.idempotent for name, ch in self.channels.items()}
        claims = await self.store.transaction(
            lambda s: outbox.claim(s, now=now, node=self.node, lease_seconds=self.settings.lease_seconds,
                                   limit=self.settings.concurrency * 4, idempotent=idempotent),
            what="claim deliveries")
        if claims:
            await asyncio.gather(*(self._guarded(c) for c in claims))
        return len(claims)

    async def _guarded(self, claim: outbox.Claim) -> None:
        async with self._semaphore:
            try:
                await self.process(claim)
            except Exception:  # noqa: BLE001 - leave the lease to expire; reconciled later
                log.exception("投递 %s 处理出错；租约到期后将核对", claim.delivery_id)

    async def process(self, claim: outbox.Claim) -> str:
        channel = self.channels.get(claim.channel)
        if channel is None:
            result = Result(Outcome.PAUSED, f"渠道 {claim.channel} 未启用；启用后继续发送",
                            retry_after=300)
        else:
            job = await self.store.transaction(lambda s: self._job(s, claim), what="load job")
            result = await self._call(channel, claim, job)
        state = await self.store.transaction(
            lambda s: outbox.record(s, claim, result, now=self.clock.now(),
                                    max_attempts=min(self.settings.max_attempts,
                                                     channel.capabilities.max_attempts
                                                     if channel else self.settings.max_attempts),
                                    base=self.settings.backoff_base_seconds,
                                    cap=self.settings.backoff_max_seconds,
                                    poll=self.settings.poll_seconds),
            what="record outcome")
        level = logging.WARNING if state in ("failed", "unknown", "paused") else logging.INFO
        log.log(level, "发布计划 %s → %s：%s %s", claim.release_id, claim.channel,
                outbox.DELIVERY_LABELS.get(state, state), result.detail)
        return state

    async def _call(self, channel: Channel, claim: outbox.Claim, job: Job) -> Result:
        call = channel.reconcile(job) if claim.mode == "reconcile" else channel.deliver(job)
        try:
            return await asyncio.wait_for(call, timeout=self.call_timeout)
        except TimeoutError:
            return Result(Outcome.UNKNOWN, f"调用超过 {self.call_timeout:.0f} 秒未返回，结果未知")
        except Exception as exc:  # noqa: BLE001
            log.exception("渠道 %s 调用出错", claim.channel)
            return Result(Outcome.UNKNOWN, f"渠道内部错误：{type(exc).__name__}: {exc}")

    async def _job(self, session, claim: outbox.Claim) -> Job:  # noqa: ANN001
        release = await session.get(Release, claim.release_id)
        ids = list(await session.scalars(select(ReleaseItem.item_id).where(
            ReleaseItem.release_id == claim.release_id).order_by(ReleaseItem.position)))
        items = await load_views(session, ids)

        async def checkpoint(progress: Mapping[str, Any]) -> None:
            await self.store.transaction(
                lambda s: outbox.checkpoint(s, claim.delivery_id, dict(progress), now=self.clock.now(),
                                            node=self.node, lease_seconds=self.settings.lease_seconds),
                what="checkpoint")

        return Job(
            delivery_id=claim.delivery_id, release_id=claim.release_id, channel=claim.channel,
            purpose=Purpose(release.purpose), items=tuple(items), options=dict(release.options),
            attempt=claim.attempt, receipt=claim.receipt, progress=claim.progress,
            due_at=release.due_at, published_at=release.fired_at, checkpoint=checkpoint,
        )
