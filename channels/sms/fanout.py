"""One release to every subscriber of its topics, at the provider's speed, resumable.

Subscribers are streamed from the store in pages (keyset pagination); each page is one provider
call (a batch). Calls go out at the configured calls per second with bounded concurrency. Before
a batch is sent its numbers are written down as the batch's intent; the provider's answer is
written as one result row per number, removing the intent in the same transaction.
Progress (the highest subscriber id below which every batch is finished) is checkpointed as
batches finish (at most twice a second; the result rows themselves record every batch), so a
crashed run resumes where it stopped, skipping numbers that already have a result. Only batches in flight at the crash are
uncertain: they are settled through the provider's status query, and what stays unknown is
resent or not according to the configured policy (emergency: resend; others: do not).
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from channels.base import Job, Outcome, Pace, Result
from channels.sms import phone as phones_
from channels.sms import recipients
from channels.sms.config import SmsSettings
from channels.sms.message import Message
from channels.sms.pacing import Pacer
from channels.sms.providers.base import Failure, Found, NumberResult, Provider, ProviderError
from channels.sms.quiet import QuietHours
from content import subscribers
from content.clock import Clock
from content.db import Store
from content.kinds import Kind
from content.models import Delivery
from content.subscribers import Recipient
from content.topics import release_topics

log = logging.getLogger("gongkai.sms")
UNCERTAIN_SHOWN = 50  # numbers named in the progress and the result; all are in the recipient rows
FAILED_BATCHES_SHOWN = 20  # failed batches named in the progress; all are counted
ACCEPTED = ("sent", "delivered")
PROBES = 3  # numbers of an in-flight batch looked up at the provider
CHECKPOINT_SECONDS = 0.5  # progress is written after a batch at most this often (and at every stop)
URGENT_CHECK_SECONDS = 0.2  # a routine fan-out looks for a waiting emergency this often (between batches)
YIELD_SECONDS = 1.0  # a routine fan-out that gave way to an emergency is tried again after this
URGENT_STATES = ("pending", "retry", "in_progress", "submitted", "unknown", "throttled")


@dataclass
class Route:
    """A provider with the template code it knows the message by."""

    index: int  # 0 = provider, 1 = failover
    provider: Provider
    pacer: Pacer

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def label(self) -> str:
        return self.provider.label


def marker(delivery_id: int, batch: int) -> str:
    """Our id of one batch, echoed by the provider (Aliyun OutId, Tencent SessionContext)."""
    return f"gk{delivery_id}b{batch}"


def parse_marker(text: str) -> tuple[int, int] | None:
    if text.startswith("gk") and "b" in text:
        d, _, b = text[2:].partition("b")
        if d.isdigit() and b.isdigit():
            return int(d), int(b)
    return None


@dataclass
class Progress:
    after_id: int = 0
    next_batch: int = 0
    batches_done: int = 0
    numbers_done: int = 0
    total: int | None = None
    provider: str = ""
    uncertain: list[str] = field(default_factory=list)
    uncertain_count: int = 0
    finished: bool = False
    summary: str = ""
    accepted: int = 0  # numbers the provider accepted
    refused: int = 0  # numbers refused one by one (failed, skipped)
    failed_numbers: int = 0  # numbers of batches the provider refused as a whole (not sent)
    failed_batches: list[dict[str, Any]] = field(default_factory=list)  # batch, numbers, code, error
    failed_batch_count: int = 0
    stopped: str = ""  # why the last call stopped before the end: quiet | provider | unanswered | yielded | ""

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Progress:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "after_id": self.after_id, "next_batch": self.next_batch,
                "batches_done": self.batches_done, "numbers_done": self.numbers_done, "total": self.total,
                "provider": self.provider, "uncertain_count": self.uncertain_count,
                "uncertain": self.uncertain, "finished": self.finished, "accepted": self.accepted,
                "refused": self.refused, "failed_numbers": self.failed_numbers,
                "failed_batch_count": self.failed_batch_count, "failed_batches": self.failed_batches,
                "stopped": self.stopped}


@dataclass
class Slot:
    batch: int
    hi: int
    size: int
    done: bool = False
    blocked: bool = False  # refused and not sent: the watermark must not pass it


def _status_of(hit: Found | None) -> str:
    return hit.status if hit is not None and hit.status in ("delivered", "failed") else "sent"


#: A day's sending quota of the account (not its balance): it resets by itself the next day.
DAILY_QUOTA_CODES = frozenset({"isv.DAY_LIMIT_CONTROL", "LimitExceeded.DailyLimit", "LimitExceeded.AppDailyLimit",
                               "LimitExceeded.AppMainlandChinaDailyLimit", "LimitExceeded.AppGlobalDailyLimit"})
PROVIDER_TZ = ZoneInfo("Asia/Shanghai")


def _halt_result(exc: ProviderError, label: str, now: datetime) -> Result:
    """Why a fan-out stopped. A rate limit or the day's quota is a wait that goes on by itself
    (throttled, never counted as a failed attempt); the rest need staff (paused)."""
    kept = "已发送的号码不会重发"
    if exc.failure is Failure.THROTTLED:
        return Result(Outcome.THROTTLED, f"{label}持续限流（{exc.code}：{exc.message}）；{kept}，约 60 秒后自动继续",
                      retry_after=60.0)
    if exc.failure is Failure.QUOTA and exc.code in DAILY_QUOTA_CODES:
        local = now.astimezone(PROVIDER_TZ)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0, 5), PROVIDER_TZ)
        return Result(Outcome.THROTTLED, f"{label}今日发送量已用完（{exc.code}：{exc.message}）；{kept}，"
                      "次日 0 点后自动继续", retry_after=(tomorrow - local).total_seconds())
    what = {Failure.AUTH: ("拒绝了凭据或账号不可用", 300.0), Failure.QUOTA: ("账户余额或日发送量已用完", 1800.0),
            Failure.REJECTED: ("拒绝了请求", 600.0), Failure.THROTTLED: ("持续限流", 60.0),
            Failure.UNREACHABLE: ("无法连接", 60.0)}.get(exc.failure, ("出错", 120.0))
    return Result(Outcome.PAUSED,
                  f"{label}{what[0]}（{exc.code}：{exc.message}）；已发送的号码不会重发，"
                  f"修正或恢复后约 {int(what[1])} 秒内自动继续", retry_after=what[1])


class FanOut:
    def __init__(self, *, store: Store, clock: Clock, settings: SmsSettings, routes: Sequence[Route],
                 query_pacer: Pacer, quiet: QuietHours, job: Job, message: Message,
                 on_progress=None) -> None:  # noqa: ANN001
        self.store = store
        self.clock = clock
        self.settings = settings
        self.routes = list(routes)
        self.query_pacer = query_pacer
        self.quiet = quiet
        self.job = job
        self.message = message
        self.on_progress = on_progress
        self.progress = Progress.load(job.progress)
        if not self.progress.provider or self.progress.provider not in {r.name for r in self.routes}:
            self.progress.provider = self.routes[0].name
        self.kinds = {item.kind for item in job.items}
        self.emergency = Kind.EMERGENCY.value in self.kinds
        self.resend_uncertain = bool(self.kinds & set(settings.resend_uncertain_kinds))
        self.slots: deque[Slot] = deque()
        self.halted: Result | None = None
        self.uncertain_calls = 0
        self.recovered = False  # in-flight batches of an earlier call were settled by this one
        self.counts: Counter[str] = Counter()  # per-number outcomes recorded by this call
        self.fresh = False
        self._counting: asyncio.Task | None = None
        self._checkpointed = 0.0
        self._urgent_checked = -1e9
        # SQLite has one writer, and waiting on its lock (busy_timeout) is far slower than
        # queueing here: one write at a time. PostgreSQL takes the batches' writes side by side.
        writers = 1 if store.dialect == "sqlite" else settings.concurrency + 1
        self._db_lock = asyncio.Semaphore(writers)

    # ------------------------------------------------------------------ helpers
    @property
    def delivery_id(self) -> int:
        return self.job.delivery_id

    def route(self) -> Route:
        return next(r for r in self.routes if r.name == self.progress.provider)

    def route_named(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def code_for(self, route: Route) -> str:
        return self.message.code_for(route.index)

    def _summary(self) -> str:
        p = self.progress
        total = f"/{p.total}" if p.total is not None else ""
        text = f"已提交 {p.accepted}{total} 个号码（{p.batches_done} 批），经{self.route().label}"
        if p.refused:
            text += f"；{p.refused} 个号码被拒收或跳过"
        if p.failed_batch_count:
            text += f"；{p.failed_batch_count} 批（{p.failed_numbers} 个号码）未发出"
        if p.uncertain_count:
            text += f"；{p.uncertain_count} 个号码结果未知"
        return text

    async def _write(self, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        async with self._db_lock:
            return await fn(self.store, *args, **kwargs)

    async def checkpoint(self, *, every: float = 0.0) -> None:
        """Record the progress (and extend the runner's lease). With ``every``, skipped when the
        last record is more recent than that: the recipient rows already record each batch, and
        a resumed run skips the numbers they hold."""
        loop = asyncio.get_running_loop()
        if every and loop.time() - self._checkpointed < every:
            if self.on_progress is not None:
                self.on_progress(self.progress.to_dict())
            return
        self._checkpointed = loop.time()
        async with self._db_lock:
            if not self.progress.finished:
                self.progress.summary = self._summary()
            snapshot = self.progress.to_dict()
            if self.job.checkpoint is not None:
                await self.job.checkpoint(snapshot)
            if self.on_progress is not None:
                self.on_progress(snapshot)

    def _count(self, statuses: Iterable[str]) -> None:
        """Per-number outcomes recorded by this call, in the tally and in the progress shown."""
        counted = Counter(statuses)
        self.counts.update(counted)
        self.progress.accepted += sum(counted[s] for s in ACCEPTED)
        self.progress.refused += counted["failed"] + counted["skipped"]

    def _failed_batch(self, batch: int, numbers: int, exc: ProviderError, label: str) -> None:
        p = self.progress
        p.failed_batch_count += 1
        p.failed_numbers += numbers
        if len(p.failed_batches) < FAILED_BATCHES_SHOWN:
            p.failed_batches.append({"batch": batch, "numbers": numbers, "provider": label, "code": exc.code,
                                     "error": exc.message})

    def _advance(self) -> None:
        while self.slots and self.slots[0].done and not self.slots[0].blocked:
            self.progress.after_id = self.slots.popleft().hi

    # ------------------------------------------------------------------ sending
    async def _call(self, route: Route, batch: int, numbers: Sequence[Recipient]) -> list[NumberResult]:
        """One provider call with its retries: throttling backs off; a connection that never
        reached the provider is tried again; a per-number refusal in a multi-number call sends
        the numbers one by one."""
        attempt = 0
        loop = asyncio.get_running_loop()
        phones = [n.address for n in numbers]
        while True:
            await route.pacer.wait()
            try:
                return await route.provider.send(phones, self.code_for(route), self.message.params,
                                                 marker=marker(self.delivery_id, batch))
            except ProviderError as exc:
                if exc.failure is Failure.NUMBERS and len(phones) > 1:
                    return await self._one_by_one(route, batch, numbers)
                if exc.failure is Failure.THROTTLED and attempt < 6 and loop.time() < self.deadline:
                    await asyncio.sleep(min(30.0, (exc.retry_after or 1.0) * 2 ** attempt))
                elif exc.failure is Failure.UNREACHABLE and attempt < 2:
                    await asyncio.sleep(0.5 * 2 ** attempt)
                else:
                    raise
                attempt += 1

    async def _one_by_one(self, route: Route, batch: int, numbers: Sequence[Recipient]) -> list[NumberResult]:
        """A per-number refusal refused the whole call (nothing was sent): send each number on its
        own, recording each answer at once (the batch is marked so that a crash in between is
        settled number by number)."""
        await self._write(recipients.start_batch, self.delivery_id, batch, numbers, route.name,
                          self.clock.now(), "single")
        done: set[str] = set()
        for number in numbers:
            try:
                result = await self._call(route, batch, [number])
            except ProviderError as exc:
                exc.done = done  # type: ignore[attr-defined]
                raise
            await self._write(recipients.record, self.delivery_id, batch, numbers,
                              recipients.outcomes(result, route.label), self.clock.now(), finish=False)
            self._count(r.status for r in result)
            done.add(number.address)
        return []

    async def _send(self, batch: int, numbers: list[Recipient], *, resend: bool) -> str:
        """Send ``numbers`` (their batch intent is recorded) and record the answer. Returns
        ``done``, ``uncertain`` or ``halted``."""
        route = self.route()
        remaining = list(numbers)
        while True:
            try:
                results = await self._call(route, batch, remaining)
            except ProviderError as exc:
                already: set[str] = getattr(exc, "done", set())
                remaining = [n for n in remaining if n.address not in already]
                if exc.failure is Failure.UNCERTAIN:
                    log.warning("短信批次 %s 结果未知（%s）：将向%s查询核实", batch, exc.message, route.label)
                    self.uncertain_calls += 1
                    return "uncertain"
                alternative = self._failover(route, exc)
                if alternative is not None and remaining:
                    await self._write(recipients.start_batch, self.delivery_id, batch, remaining, alternative.name,
                                      self.clock.now())
                    route = alternative
                    continue
                if resend:  # keep the intent: the next run looks again (the last answer was "not sent")
                    await self._write(recipients.start_batch, self.delivery_id, batch, remaining, route.name,
                                      self.clock.now())
                else:  # nothing (more) was sent: the numbers are streamed again on the next run
                    await self._write(recipients.abandon_batch, self.delivery_id, batch)
                if self.halted is None:
                    self.halted = _halt_result(exc, route.label, self.clock.now())
                self._failed_batch(batch, len(remaining), exc, route.label)
                log.warning("短信批次 %s 未发出：%s", batch, exc)
                return "halted"
            await self._write(recipients.record, self.delivery_id, batch, remaining,
                              recipients.outcomes(results, route.label), self.clock.now(), durable=False)
            self._count(r.status for r in results)
            return "done"

    def _failover(self, route: Route, exc: ProviderError) -> Route | None:
        if exc.failure not in (Failure.AUTH, Failure.QUOTA, Failure.UNREACHABLE):
            return None
        current = self.route()
        if current.name != route.name:
            return current  # another batch switched already
        for alt in self.routes:
            if alt.index != route.index and self.code_for(alt):
                log.warning("%s整体失败（%s）：改用备用的%s", route.label, exc.code, alt.label)
                self.progress.provider = alt.name
                return alt
        return None

    async def _batch(self, slot: Slot, numbers: list[Recipient]) -> None:
        try:
            if numbers:
                await self._write(recipients.start_batch, self.delivery_id, slot.batch, numbers, self.route().name,
                                  self.clock.now())
                if await self._send(slot.batch, numbers, resend=False) == "halted":
                    slot.blocked = True
        finally:
            slot.done = True
            if not slot.blocked:
                self.progress.batches_done += 1
                self.progress.numbers_done += slot.size
            self._advance()
        await self.checkpoint(every=CHECKPOINT_SECONDS)

    def _halted_result(self) -> Result:
        assert self.halted is not None
        self.progress.stopped = "provider"
        detail = self.halted.detail
        failed = failed_batches_text(self.progress.to_dict())
        if failed:
            detail = f"{failed}。{detail}"
        return self._with_progress(Result(self.halted.outcome, detail, self.halted.receipt, None,
                                          self.halted.retry_after))

    # ------------------------------------------------------------------ recovery
    async def _probe(self, route: Route, flight: recipients.InFlight) -> tuple[dict[str, Found], bool]:
        """Look numbers of an in-flight batch up at the provider. A batch sent as one call was
        accepted or refused as a whole, so a few numbers tell; a batch sent number by number
        needs every number looked up."""
        found: dict[str, Found] = {}
        probes = flight.numbers if flight.mode == "single" else flight.numbers[:PROBES]
        for number in probes:
            await self.query_pacer.wait()
            try:
                hit = await route.provider.lookup(number.address, marker(self.delivery_id, flight.batch), flight.since)
            except ProviderError as exc:
                log.warning("向%s查询批次 %s 失败：%s", route.label, flight.batch, exc)
                return found, True
            if hit is not None:
                found[number.address] = hit
                if flight.mode != "single":
                    break
        return found, False

    async def recover(self) -> float:
        """Settle the batches that were in flight (a crash, a call without an answer). Returns
        the seconds to wait before the rest can be settled (0 = all settled)."""
        wait = 0.0
        grace = self.settings.reconcile_grace_seconds
        for flight in await recipients.in_flight(self.store, self.delivery_id):
            self.recovered = True
            if not flight.numbers:  # every number was recorded; only the batch's intent was left
                await self._write(recipients.record, self.delivery_id, flight.batch, [], [], self.clock.now())
                continue
            age = (self.clock.now() - flight.since).total_seconds()
            route = self.route_named(flight.provider)
            found, failed = await self._probe(route, flight) if route is not None else ({}, True)
            now = self.clock.now()
            numbers = list(flight.numbers)
            if found:
                label = route.label if route else flight.provider
                accepted = numbers if flight.mode != "single" else [n for n in numbers if n.address in found]
                rows = [recipients.Outcome(n.address, _status_of(found.get(n.address)), "",
                                           f"已提交{label}（中断后经服务商查询确认）") for n in accepted]
                numbers = [n for n in numbers if n.address not in found] if flight.mode == "single" else []
                await self._write(recipients.record, self.delivery_id, flight.batch, accepted, rows, now,
                                  finish=not numbers)
                self._count(r.status for r in rows)
                log.info("批次 %s 经查询确认 %d 个号码已被%s接受", flight.batch, len(accepted), label)
                if not numbers:
                    continue
            if age < grace:
                wait = max(wait, grace - age)
                continue
            if failed and age < grace + 1800:
                wait = max(wait, 60.0)
                continue
            if route is not None and route.provider.proves_absence and not failed:
                log.info("批次 %s 在%s查无记录（已过 %.0f 秒）：确认未发出，重新发送", flight.batch, route.label, age)
                await self._resend(flight.batch, numbers)
                continue
            if self.resend_uncertain:
                log.warning("批次 %s 结果仍未知：按策略（%s）重新发送 %d 个号码", flight.batch,
                            "、".join(sorted(self.kinds)), len(numbers))
                await self._resend(flight.batch, numbers)
                continue
            rows = [recipients.Outcome(n.address, "unknown", "",
                                       "结果未知：进程中断时该批正在提交，服务商查询无法确认；按策略不重发")
                    for n in numbers]
            await self._write(recipients.record, self.delivery_id, flight.batch, numbers, rows, now)
            addresses = [n.address for n in numbers]
            self.progress.uncertain_count += len(addresses)
            room = UNCERTAIN_SHOWN - len(self.progress.uncertain)
            self.progress.uncertain += addresses[:max(room, 0)]
            log.warning("批次 %s 的 %d 个号码结果未知，按策略不重发", flight.batch, len(addresses))
        return wait

    async def _resend(self, batch: int, numbers: list[Recipient]) -> None:
        await self._write(recipients.start_batch, self.delivery_id, batch, numbers, self.route().name,
                          self.clock.now())
        await self._send(batch, numbers, resend=True)

    async def urgent_waiting(self, loop: asyncio.AbstractEventLoop) -> bool:
        """A routine fan-out gives way between batches while an emergency SMS delivery (priority
        above 0, see ``schedules.releases.EMERGENCY_PRIORITY``) is waiting or running: the
        emergency reaches its subscribers first, then this fan-out resumes where it stopped."""
        if self.emergency or loop.time() - self._urgent_checked < URGENT_CHECK_SECONDS:
            return False
        self._urgent_checked = loop.time()
        async with self.store.sessions() as session:
            found = await session.scalar(select(Delivery.id).where(
                Delivery.channel == "sms", Delivery.priority > 0, Delivery.state.in_(URGENT_STATES),
                Delivery.id != self.delivery_id).limit(1))
        return found is not None

    # ------------------------------------------------------------------ the run
    async def run(self) -> Result:
        loop = asyncio.get_running_loop()
        self.deadline = loop.time() + self.settings.max_call_seconds
        topics = release_topics(self.job.items)
        self.fresh = self.progress.next_batch == 0  # this call starts the fan-out from scratch
        p = self.progress  # batches refused by an earlier call were not sent: they go out again now
        p.failed_batches, p.failed_batch_count, p.failed_numbers, p.stopped = [], 0, 0, ""
        if not self.fresh:  # resumed: new batches are numbered above any recorded (checkpoints lag)
            await recipients.analyze(self.store)
            self.progress.next_batch = max(self.progress.next_batch,
                                           await recipients.highest_batch(self.store, self.delivery_id) + 1)
        if self.progress.total is None:  # counted alongside the sending: it only feeds the progress shown
            counting = asyncio.create_task(subscribers.count(self.store, "sms", topics))
            counting.add_done_callback(lambda t: setattr(self.progress, "total", None if t.exception() else t.result()))
            self._counting = counting
        wait = await self.recover()
        if self.halted is not None:
            await self.checkpoint()
            return self._halted_result()
        if not self.emergency:
            quiet = self.quiet.wait(self.clock.now())
            if quiet > 0:
                await self.checkpoint()
                return self._with_progress(self._quiet_result(quiet))
        more = await self._stream(topics, loop)
        if self.halted is not None:
            await self.checkpoint()
            return self._halted_result()
        if self.uncertain_calls:
            wait = max(wait, await self.recover())
        if more is not None:
            await self.checkpoint()
            return self._with_progress(more)
        if wait > 0:
            self.progress.stopped = "unanswered"
            await self.checkpoint()
            flights = await recipients.in_flight(self.store, self.delivery_id)
            count = sum(len(f.numbers) for f in flights)
            return self._with_progress(Result(
                Outcome.UNKNOWN, f"{len(flights)} 批（{count} 个号码）提交时没有得到应答，等待服务商状态查询确认"
                f"（约 {int(wait)} 秒后核对，不会盲目重发）", retry_after=max(wait, 1.0)))
        return await self._finish()

    async def _stream(self, topics: set[str], loop: asyncio.AbstractEventLoop) -> Result | None:
        """Launch the batches; returns a result when the run must stop before the end."""
        high = await recipients.highest_subscriber(self.store, self.delivery_id)
        # numbers of batches still waiting to be settled (see recover) must not go out again
        waiting = {n.address for f in await recipients.in_flight(self.store, self.delivery_id) for n in f.numbers}
        size = self.settings.batch_for(self.route().name)
        if any(r.provider.max_batch < size for r in self.routes):
            size = min(r.provider.max_batch for r in self.routes)
        semaphore = asyncio.Semaphore(self.settings.concurrency)
        tasks: set[asyncio.Task] = set()

        def finished(task: asyncio.Task) -> None:
            tasks.discard(task)
            semaphore.release()

        stop: Result | None = None
        try:
            async for page in subscribers.stream(self.store, "sms", topics, after_id=self.progress.after_id,
                                                       page_size=size):
                await semaphore.acquire()
                if self.halted is not None:
                    semaphore.release()
                    break
                if loop.time() >= self.deadline:
                    semaphore.release()
                    stop = Result(Outcome.SUBMITTED, f"分段发送：{self._summary()}；继续发送中", retry_after=0.01)
                    break
                if not self.emergency:
                    quiet = self.quiet.wait(self.clock.now())
                    if quiet > 0:
                        semaphore.release()
                        stop = self._quiet_result(quiet)
                        break
                    if await self.urgent_waiting(loop):
                        semaphore.release()
                        self.progress.stopped = "yielded"
                        stop = Result(Outcome.SUBMITTED, f"让出给突发事件短信：{self._summary()}；随后继续发送",
                                      retry_after=YIELD_SECONDS)
                        break
                numbers = page
                if page[0].id <= high:  # an earlier run may have finished some of these already
                    done = await recipients.existing(self.store, self.delivery_id, [r.address for r in page])
                    numbers = [r for r in page if r.address not in done and r.address not in waiting]
                slot = Slot(self.progress.next_batch, page[-1].id, len(page))
                self.progress.next_batch += 1
                self.slots.append(slot)
                task = asyncio.create_task(self._batch(slot, numbers))
                tasks.add(task)
                task.add_done_callback(finished)
        finally:
            if tasks:
                for failure in await asyncio.gather(*tasks, return_exceptions=True):
                    if isinstance(failure, Exception):
                        log.error("短信批次处理出错", exc_info=failure)
                        if self.halted is None:
                            self.halted = Result(Outcome.UNKNOWN, f"短信批次处理出错：{type(failure).__name__}: {failure}",
                                                 retry_after=60)
        return stop

    def _quiet_result(self, wait: float) -> Result:
        self.progress.stopped = "quiet"
        opens = self.quiet.opens_at(self.clock.now())
        return Result(Outcome.PAUSED, f"免打扰时段（{self.quiet.label}）：非紧急短信于 {opens:%H:%M} 开始发送"
                      f"（{self._summary()}）", retry_after=wait)

    def _with_progress(self, result: Result) -> Result:
        p = self.progress
        pace = Pace(max(p.total - p.numbers_done, 0)) if result.outcome is Outcome.THROTTLED and p.total else None
        return Result(result.outcome, result.detail, result.receipt, p.to_dict(), result.retry_after, pace)

    async def _finish(self) -> Result:
        if self._counting is not None:
            await asyncio.gather(self._counting, return_exceptions=True)
        if self.fresh and not self.recovered and not self.uncertain_calls:
            counts = {k: v for k, v in self.counts.items() if v}  # this call did it all: its own tally is exact
        else:
            counts = await recipients.tally(self.store, self.delivery_id)
        uncertain = (await recipients.numbers_with(self.store, self.delivery_id, "unknown", UNCERTAIN_SHOWN)
                     if counts.get("unknown") else [])
        p = self.progress
        p.uncertain_count = counts.get("unknown", 0)
        p.uncertain = uncertain
        p.finished = True
        accepted = sum(counts.get(status, 0) for status in ACCEPTED)
        p.accepted, p.refused = accepted, counts.get("failed", 0) + counts.get("skipped", 0)
        parts = [f"已提交 {accepted} 个号码"]
        if counts.get("skipped"):
            parts.append(f"跳过 {counts['skipped']} 个（号码级限流或已拒收）")
        if counts.get("failed"):
            parts.append(f"失败 {counts['failed']} 个")
        if p.uncertain_count:
            shown = "、".join(phones_.national(a) for a in uncertain)
            more = "等" if p.uncertain_count > len(uncertain) else ""
            parts.append(f"结果未知 {p.uncertain_count} 个（进程中断时在途，按策略未重发）：{shown}{more}")
        if not counts:
            parts = ["没有订阅这些主题的号码"]
        p.summary = "完成：" + "，".join(parts)
        await self.checkpoint()
        receipt = {"provider": self.progress.provider, "batches": p.next_batch, "counts": counts}
        return Result(Outcome.SENT, p.summary, receipt, p.to_dict())


def failed_batches_text(progress: Mapping[str, Any]) -> str:
    """"第 0、1 批（共 6 个号码）未发出：HTTP405 …" from a fan-out's progress ("" when none failed)."""
    batches = progress.get("failed_batches") or []
    if not batches:
        return ""
    count = int(progress.get("failed_batch_count") or len(batches))
    names = "、".join(str(b["batch"]) for b in batches) + ("等" if count > len(batches) else "")
    errors = list(dict.fromkeys(f"{b['provider']} {b['code']}：{b['error']}" for b in batches))
    return (f"第 {names} 批（共 {count} 批 {progress.get('failed_numbers', 0)} 个号码）未发出："
            + "；".join(errors))
