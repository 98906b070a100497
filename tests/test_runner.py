"""The delivery runner: retries with backoff for failures that did not reach the remote side,
reconciliation (never a blind resend) for unknown outcomes, and every attempt recorded."""
from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy import select, update

from bot.runner import Runner
from bot.settings import DeliverySettings
from channels.base import Capabilities, Job, Outcome, Pace, Rendition, Result
from content.db import Store, upgrade
from content.models import Delivery, DeliveryAttempt
from tests.desk import Desk


class ScriptedChannel:
    """A channel whose remote side answers from a script (a fake, not a patch of our code)."""

    name: ClassVar[str] = "scripted"
    label: ClassVar[str] = "测试渠道"
    capabilities: ClassVar[Capabilities] = Capabilities(idempotent=False, max_attempts=4)

    def __init__(self, answers: list[Result | float], reconcile_answer: Result | None = None) -> None:
        self.answers = list(answers)
        self.reconcile_answer = reconcile_answer
        self.delivered: list[Job] = []
        self.reconciled: list[Job] = []

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def render(self, items, options: Mapping[str, Any]) -> list[Rendition]:  # noqa: ANN001
        return [Rendition(i.title, i.title) for i in items]

    async def deliver(self, job: Job) -> Result:
        self.delivered.append(job)
        answer = self.answers.pop(0)
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            return Result(Outcome.SENT, "迟到的回答")
        return answer

    async def reconcile(self, job: Job) -> Result:
        self.reconciled.append(job)
        return self.reconcile_answer or Result(Outcome.UNKNOWN, "仍无法确定")


def _runner(desk, channel: ScriptedChannel, **kw: Any) -> Runner:  # noqa: ANN001
    settings = DeliverySettings(backoff_base_seconds=10, backoff_max_seconds=600, **kw)
    return Runner(desk.store, {"scripted": channel}, desk.clock, settings, node="n1", call_timeout=0.2)


async def _delivery(desk) -> Delivery:  # noqa: ANN001
    async with desk.store.sessions() as s:
        return await s.scalar(select(Delivery))


async def _attempts(desk) -> list[tuple[int, str | None]]:  # noqa: ANN001
    async with desk.store.sessions() as s:
        rows = await s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))
        return [(a.number, a.outcome) for a in rows]


async def test_transient_failures_are_retried_with_growing_backoff(desk) -> None:  # noqa: ANN001
    channel = ScriptedChannel([Result(Outcome.RETRY, "连接被拒绝"), Result(Outcome.RETRY, "503"),
                               Result(Outcome.SENT, "ok", receipt={"remote_id": "42"})])
    runner = _runner(desk, channel)
    await desk.publish([await desk.approved()], channels=("scripted",))
    assert await runner.run_once() == 1
    first = await _delivery(desk)
    assert first.state == "retry" and first.last_error == "连接被拒绝"
    gap1 = (first.next_attempt_at - desk.clock.now()).total_seconds()
    assert 5 <= gap1 <= 15
    assert await runner.run_once() == 0  # not due yet
    desk.clock.set(first.next_attempt_at)
    await runner.run_once()
    second = await _delivery(desk)
    gap2 = (second.next_attempt_at - desk.clock.now()).total_seconds()
    assert 10 <= gap2 <= 30
    desk.clock.set(second.next_attempt_at)
    await runner.run_once()
    done = await _delivery(desk)
    assert done.state == "sent" and done.receipt == {"remote_id": "42"} and done.settled_at
    assert await _attempts(desk) == [(1, "retry"), (2, "retry"), (3, "sent")]
    assert all(j.idempotency_key == channel.delivered[0].idempotency_key for j in channel.delivered)


async def test_retries_stop_at_the_limit_and_the_failure_is_visible(desk) -> None:  # noqa: ANN001
    channel = ScriptedChannel([Result(Outcome.RETRY, "超时前被拒绝")] * 10)
    runner = _runner(desk, channel, max_attempts=3)
    await desk.publish([await desk.approved()], channels=("scripted",))
    for _ in range(5):
        await runner.run_once()
        desk.clock.advance(hours=1)
    d = await _delivery(desk)
    assert d.state == "failed" and d.attempts == 3
    assert "已尝试 3 次仍未成功" in d.last_error
    assert len(channel.delivered) == 3


async def test_a_timeout_is_unknown_and_reconciled_not_resent(desk) -> None:  # noqa: ANN001
    channel = ScriptedChannel([1.0], reconcile_answer=Result(Outcome.SENT, "对方确认已收到"))
    runner = _runner(desk, channel)
    await desk.publish([await desk.approved()], channels=("scripted",))
    await runner.run_once()
    d = await _delivery(desk)
    assert d.state == "unknown" and "结果未知" in d.last_error
    desk.clock.set(d.next_attempt_at)
    await runner.run_once()
    assert (await _delivery(desk)).state == "sent"
    assert len(channel.delivered) == 1 and len(channel.reconciled) == 1
    assert await _attempts(desk) == [(1, "unknown"), (2, "sent")]


async def test_a_crash_mid_call_is_reconciled_after_the_lease_lapses(desk) -> None:  # noqa: ANN001
    channel = ScriptedChannel([], reconcile_answer=Result(Outcome.SENT, "远端已有此消息"))
    runner = _runner(desk, channel, lease_seconds=60)
    await desk.publish([await desk.approved()], channels=("scripted",))
    # A worker claimed the delivery and died during the call: intent recorded, no outcome.
    from bot import outbox
    await desk.store.transaction(lambda s: outbox.claim(
        s, now=desk.clock.now(), node="dead-node", lease_seconds=60, limit=10, idempotent={}))
    assert await runner.run_once() == 0  # the dead worker's lease still holds
    desk.clock.advance(seconds=61)
    assert await runner.run_once() == 1
    assert channel.delivered == [] and len(channel.reconciled) == 1
    assert (await _delivery(desk)).state == "sent"
    assert await _attempts(desk) == [(1, "unknown"), (2, "sent")]


async def test_an_idempotent_channel_is_simply_sent_again_after_a_crash(desk) -> None:  # noqa: ANN001
    class Idempotent(ScriptedChannel):
        capabilities = Capabilities(idempotent=True)

    channel = Idempotent([Result(Outcome.SENT, "ok")])
    runner = _runner(desk, channel)
    await desk.publish([await desk.approved()], channels=("scripted",))
    async with desk.store.sessions() as s, s.begin():
        await s.execute(update(Delivery).values(state="in_progress", lease_owner="dead",
                                                lease_until=desk.clock.now() - timedelta(seconds=1)))
    await runner.run_once()
    assert len(channel.delivered) == 1 and (await _delivery(desk)).state == "sent"


async def test_a_paused_channel_waits_without_failing(desk) -> None:  # noqa: ANN001
    channel = ScriptedChannel([Result(Outcome.PAUSED, "令牌过期", retry_after=600)] * 6)
    runner = _runner(desk, channel, max_attempts=2)
    await desk.publish([await desk.approved()], channels=("scripted",))
    for _ in range(4):
        await runner.run_once()
        desk.clock.advance(minutes=11)
    d = await _delivery(desk)
    assert d.state == "paused" and d.attempts == 4


async def test_a_locked_database_delays_but_loses_nothing(sqlite_url: str, clock, tmp_path) -> None:  # noqa: ANN001
    store = Store.open(sqlite_url)
    await upgrade(store)
    desk = Desk(store, clock, tmp_path / "files")
    channel = ScriptedChannel([Result(Outcome.SENT, "ok")])
    runner = _runner(desk, channel)
    await desk.publish([await desk.approved()], channels=("scripted",))
    path = desk.store.engine.url.database
    locked = threading.Event()

    def hold_lock() -> None:
        conn = sqlite3.connect(path)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        threading.Event().wait(1.0)
        conn.rollback()
        conn.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    locked.wait()
    assert await runner.run_once() == 1
    thread.join()
    assert (await _delivery(desk)).state == "sent"
    await store.close()


async def test_pauses_do_not_use_up_the_retry_limit(desk) -> None:  # noqa: ANN001
    channel = ScriptedChannel([Result(Outcome.PAUSED, "令牌过期", retry_after=60)] * 5
                              + [Result(Outcome.RETRY, "限流"), Result(Outcome.SENT, "ok")])
    runner = _runner(desk, channel, max_attempts=2)
    await desk.publish([await desk.approved()], channels=("scripted",))
    for _ in range(7):
        await runner.run_once()
        desk.clock.advance(hours=1)
    d = await _delivery(desk)
    assert d.state == "sent" and d.attempts == 7


async def test_throttling_waits_as_long_as_it_takes_and_never_uses_up_the_limit(desk) -> None:  # noqa: ANN001
    wait = Result(Outcome.THROTTLED, "每小时上限", retry_after=3600, pace=Pace(remaining=30, per_window=10))
    channel = ScriptedChannel([wait] * 8 + [Result(Outcome.SENT, "ok")])
    runner = _runner(desk, channel, max_attempts=2)
    await desk.publish([await desk.approved()], channels=("scripted",))
    for _ in range(9):
        await runner.run_once()
        d = await _delivery(desk)
        if d.state == "throttled":
            assert d.next_attempt_at - desk.clock.now() == timedelta(hours=1)
            desk.clock.set(d.next_attempt_at)
    d = await _delivery(desk)
    assert d.state == "sent" and d.attempts == 9 and d.pace is None
    assert [o for _, o in await _attempts(desk)] == ["throttled"] * 8 + ["sent"]


async def test_an_unknown_outcome_after_a_long_pause_is_reconciled_within_the_poll_interval(desk) -> None:  # noqa: ANN001
    pause = Result(Outcome.PAUSED, "令牌过期", retry_after=300)
    channel = ScriptedChannel([pause] * 12 + [1.0], reconcile_answer=Result(Outcome.SENT, "对方确认已收到"))
    runner = _runner(desk, channel, poll_seconds=5)
    await desk.publish([await desk.approved()], channels=("scripted",))
    for _ in range(12):  # an hour paused: twelve rechecks
        await runner.run_once()
        desk.clock.set((await _delivery(desk)).next_attempt_at)
    await runner.run_once()  # the channel can act again; this call's answer is lost
    d = await _delivery(desk)
    assert d.state == "unknown" and d.attempts == 13
    assert d.next_attempt_at - desk.clock.now() <= timedelta(seconds=5)
    desk.clock.advance(seconds=5)
    await runner.run_once()
    assert (await _delivery(desk)).state == "sent" and len(channel.reconciled) == 1
