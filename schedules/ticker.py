"""The ticker: APScheduler 3 as a wake-up timer over the store.

The store is the one source of truth. Jobs live in APScheduler's in-memory job store and are
rebuilt from the pending releases at start and whenever the schedule version in the store changes
(any process that creates, reschedules or cancels a release bumps it). Date jobs run with
``misfire_grace_time=None`` and ``coalesce=True``, so a late wake-up still fires; a periodic sweep
fires anything due that a timer missed, and the start-up sweep fires what fell due while the bot
was down. Firing itself is idempotent (see schedules.releases.fire).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.ext.asyncio import AsyncSession

from content.clock import Clock
from content.db import Store
from content.models import Setting
from schedules import releases

log = logging.getLogger("gongkai.ticker")
HEARTBEAT_KEY = "heartbeat:ticker"
MAX_HEARTBEAT_SECONDS = 10.0


def heartbeat_seconds(sweep_seconds: float) -> float:
    """How often a running ticker records that it is alive (at least every 10 s)."""
    return min(sweep_seconds, MAX_HEARTBEAT_SECONDS)


class TickerState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # stopped cleanly, and said so
    STALE = "stale"  # no heartbeat for two intervals: crashed, killed or hung
    NEVER = "never"  # no ticker has ever run on this store


@dataclass(frozen=True)
class TickerHealth:
    state: TickerState
    node: str | None
    age_seconds: float | None  # since the last heartbeat (or the stop)
    since: datetime | None  # the last heartbeat (or the stop)

    @property
    def running(self) -> bool:
        return self.state is TickerState.RUNNING


def ticker_health(beat: Setting | None, now: datetime) -> TickerHealth:
    """Read the heartbeat row: a clean stop shows at once; a ticker that died without a word
    is stale after two of its own heartbeat intervals (and a little slack)."""
    if beat is None:
        return TickerHealth(TickerState.NEVER, None, None, None)
    value = beat.value or {}
    age = (now - beat.updated_at).total_seconds()
    if value.get("stopped"):
        state = TickerState.STOPPED
    else:
        interval = float(value.get("interval") or 30.0)
        state = TickerState.RUNNING if age <= 2 * interval + 2 else TickerState.STALE
    return TickerHealth(state, value.get("node"), age, beat.updated_at)


async def read_health(session: AsyncSession, now: datetime) -> TickerHealth:
    return ticker_health(await session.get(Setting, HEARTBEAT_KEY), now)


class Ticker:
    def __init__(self, store: Store, clock: Clock, fire: Callable[[int], Awaitable[object]], *,
                 node: str, sweep_seconds: float = 30.0, refresh_seconds: float = 1.0,
                 on_sweep: Callable[[], Awaitable[object]] | None = None) -> None:
        self.store = store
        self.on_sweep = on_sweep  # e.g. the obligations' evaluation
        self.clock = clock
        self.fire = fire
        self.node = node
        self.sweep_seconds = sweep_seconds
        self.refresh_seconds = refresh_seconds
        self.scheduler = AsyncIOScheduler(
            timezone=timezone.utc,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._version = -1
        self._planned: dict[int, datetime] = {}
        self._refresh_lock = asyncio.Lock()

    async def start(self) -> None:
        await self.sweep(startup=True)
        await self.refresh(force=True)
        self.scheduler.add_job(self.sweep, "interval", seconds=self.sweep_seconds, id="sweep")
        self.scheduler.add_job(self.refresh, "interval", seconds=self.refresh_seconds, id="refresh")
        self.scheduler.add_job(self.beat, "interval", seconds=heartbeat_seconds(self.sweep_seconds),
                               id="heartbeat")
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stopped(self) -> None:
        """Record a clean stop, so that status says at once that nothing will be sent."""
        await self._heartbeat(self.clock.now(), stopped=True)

    async def beat(self) -> None:
        await self._heartbeat(self.clock.now())

    @property
    def planned(self) -> dict[int, datetime]:
        return dict(self._planned)

    async def refresh(self, force: bool = False) -> None:
        """Reload pending releases into timer jobs if the schedule changed."""
        async with self._refresh_lock:
            async def read(session):  # noqa: ANN001, ANN202
                version = await releases.schedule_version(session)
                if not force and version == self._version:
                    return version, None
                return version, await releases.pending(session)

            version, rows = await self.store.transaction(read, what="ticker refresh")
            if rows is None:
                return
            wanted = dict(rows)
            for release_id in set(self._planned) - set(wanted):
                self._remove(release_id)
            for release_id, due_at in wanted.items():
                if self._planned.get(release_id) != due_at:
                    self.scheduler.add_job(
                        self._fire_job, DateTrigger(run_date=due_at), args=[release_id],
                        id=f"release-{release_id}", replace_existing=True)
                    self._planned[release_id] = due_at
            self._version = version

    def _remove(self, release_id: int) -> None:
        self._planned.pop(release_id, None)
        job = self.scheduler.get_job(f"release-{release_id}")
        if job is not None:
            job.remove()

    async def _fire_job(self, release_id: int) -> None:
        self._planned.pop(release_id, None)
        try:
            await self.fire(release_id)
        except Exception:  # noqa: BLE001 - a failed firing is retried by the sweep
            log.exception("发布计划 %s 触发失败，将由定期巡检重试", release_id)

    async def sweep(self, startup: bool = False) -> int:
        """Fire every pending release that is due; returns how many were fired."""
        now = self.clock.now()
        due = await self.store.transaction(lambda s: releases.due(s, now), what="sweep")
        fired = 0
        for release_id in due:
            try:
                result = await self.fire(release_id)
            except Exception:  # noqa: BLE001
                log.exception("发布计划 %s 触发失败，将在下次巡检重试", release_id)
                continue
            if getattr(result, "outcome", "") == "published":
                fired += 1
                late = getattr(result, "late_ms", 0)
                if startup or late > 1000:
                    log.warning("发布计划 %s 在停机期间到期，已补发，晚了 %.1f 秒",
                                release_id, late / 1000)
        if self.on_sweep is not None:
            try:
                await self.on_sweep()
            except Exception:  # noqa: BLE001 - retried on the next sweep
                log.exception("时限义务评估失败，将在下次巡检重试")
        await self._heartbeat(now)
        return fired

    async def _heartbeat(self, now: datetime, *, stopped: bool = False) -> None:
        async def beat(session):  # noqa: ANN001, ANN202
            row = await session.get(Setting, HEARTBEAT_KEY)
            value = {"node": self.node, "at": now.isoformat(), "stopped": stopped,
                     "interval": heartbeat_seconds(self.sweep_seconds)}
            if row is None:
                session.add(Setting(key=HEARTBEAT_KEY, value=value, updated_at=now))
            else:
                row.value, row.updated_at = value, now

        try:
            await self.store.transaction(beat, what="heartbeat", attempts=3)
        except Exception:  # noqa: BLE001 - a missed heartbeat shows in status, nothing more
            log.warning("无法写入调度心跳")
