"""Releases and bundles: firing exactly once, holding incomplete bundles, splitting, the R1
deadline, and the ticker reacting to changes made by other processes."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from content.clock import FixedClock, SystemClock
from content.db import Store
from content.errors import InputError, WorkflowError
from content.models import AuditEvent, Delivery, Item, Release
from schedules import releases
from schedules.calendar import WorkdayCalendar
from schedules.deadlines import open_interpretation_deadlines
from schedules.ticker import Ticker

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _count(store: Store, model, *where) -> int:  # noqa: ANN001
    async with store.sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def test_a_bundle_is_published_in_one_transaction_at_one_instant(desk) -> None:  # noqa: ANN001
    policy = await desk.approved("policy", "政策")
    interp = await desk.approved("interpretation", "解读", interprets=policy)
    release_id = await desk.schedule([interp, policy], channels=("website",))
    async with desk.store.sessions() as s:
        assert (await s.get(Item, policy)).state == "scheduled"
    early = await desk.fire(release_id)
    assert early.outcome == "noop"  # not due yet
    desk.clock.advance(minutes=5)
    result = await desk.fire(release_id)
    assert result.outcome == "published" and len(result.deliveries) == 1
    async with desk.store.sessions() as s:
        items = [await s.get(Item, i) for i in (policy, interp)]
        assert {i.state for i in items} == {"published"}
        assert items[0].published_at == items[1].published_at == desk.clock.now()
    members = await desk.store.transaction(lambda s: releases.members(s, release_id))
    assert [m.id for m in members] == [policy, interp]  # policy first


async def test_firing_twice_changes_nothing(desk) -> None:  # noqa: ANN001
    item = await desk.approved()
    release_id = await desk.publish([item], channels=("website",))
    before = await _count(desk.store, AuditEvent)
    assert (await desk.fire(release_id)).outcome == "noop"
    assert await _count(desk.store, Delivery) == 1
    assert await _count(desk.store, AuditEvent) == before


async def test_two_schedulers_firing_the_same_releases_make_one_set_of_deliveries(
        desk, database_url: str) -> None:  # noqa: ANN001
    ids = []
    for n in range(10):
        item = await desk.approved("news", f"动态{n}")
        ids.append(await desk.schedule([item], channels=("website", "wechat")))
    desk.clock.advance(minutes=10)
    other = Store.open(database_url)  # a second node with its own connections
    try:
        results = await asyncio.gather(*[
            store.transaction(lambda s, r=r: releases.fire(s, r, now=desk.clock.now()))
            for r in ids for store in (desk.store, other)])
    finally:
        await other.close()
    outcomes = [r.outcome for r in results]
    assert outcomes.count("published") == 10 and outcomes.count("noop") == 10
    assert await _count(desk.store, Delivery) == 20
    assert await _count(desk.store, AuditEvent, AuditEvent.action == "released_publish") == 10


async def test_an_unapproved_member_holds_the_bundle_then_split_releases_the_policy(desk) -> None:  # noqa: ANN001
    policy = await desk.approved("policy", "政策")
    interp = await desk.add("interpretation", "解读", interprets=policy)
    with pytest.raises(WorkflowError, match="尚未提交审核"):
        await desk.schedule([policy, interp])
    await desk.store.transaction(lambda s: __import__("content.workflow", fromlist=["x"]).submit(
        s, interp, actor="alice", now=desk.clock.now(), rules=desk.rules))
    with pytest.raises(WorkflowError, match="--allow-pending"):
        await desk.schedule([policy, interp])
    release_id = await desk.schedule([policy, interp], allow_pending=True)
    desk.clock.advance(minutes=5)
    held = await desk.fire(release_id)
    assert held.outcome == "held" and f"稿件 {interp}" in held.reason
    assert await _count(desk.store, Delivery) == 0
    async with desk.store.sessions() as s:
        assert (await s.get(Item, policy)).state == "scheduled"
    # The operator releases the policy alone; the interpretation's R1 clock starts.
    desk.clock.set(datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc))  # Wed 30 Sep, 10:00 Beijing
    new = await desk.store.transaction(lambda s: releases.split(
        s, release_id, actor="carol", now=desk.clock.now()))
    assert (await desk.fire(new.id)).outcome == "published"
    async with desk.store.sessions() as s:
        deadlines = await open_interpretation_deadlines(
            s, WorkdayCalendar.load(), tz=SHANGHAI, now=desk.clock.now())
        assert (await s.get(Release, release_id)).state == "held"
    assert len(deadlines) == 1
    d = deadlines[0]
    assert d.policy_id == policy and d.pending_interpretations == (interp,)
    assert d.due.isoformat() == "2026-10-10"  # across National Day, to the 调休 Saturday
    assert d.state == "open" and d.workdays_left == 3
    desk.clock.set(datetime(2026, 10, 12, 2, 0, tzinfo=timezone.utc))
    async with desk.store.sessions() as s:
        late = await open_interpretation_deadlines(s, WorkdayCalendar.load(), tz=SHANGHAI,
                                                   now=desk.clock.now())
    assert late[0].state == "overdue"


async def test_scheduling_rules(desk) -> None:  # noqa: ANN001
    item = await desk.approved()
    past = desk.clock.now() - timedelta(hours=1)
    with pytest.raises(InputError, match="发布时间已经过去") as err:
        await desk.schedule([item], at=past)
    assert err.value.field == "--at"
    release_id = await desk.schedule([item], at=past, allow_past=True)
    with pytest.raises(WorkflowError, match="已在另一个发布计划中"):
        await desk.schedule([item])
    await desk.store.transaction(lambda s: releases.cancel(s, release_id, actor="carol", now=desk.clock.now()))
    async with desk.store.sessions() as s:
        assert (await s.get(Item, item)).state == "approved"
    interp_policy = await desk.approved("policy", "未发布的政策")
    interp = await desk.approved("interpretation", "解读", interprets=interp_policy)
    with pytest.raises(WorkflowError, match="规则 R2"):
        await desk.schedule([interp])


async def test_a_release_due_while_the_bot_was_down_is_published_once_at_start(store: Store) -> None:
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
    from tests.desk import Desk
    desk = Desk(store, clock, __import__("pathlib").Path("/tmp/gk-unused"))
    item = await desk.approved()
    release_id = await desk.schedule([item])
    clock.advance(hours=3)  # the bot was down when it fell due
    fired = []

    async def fire(rid: int):  # noqa: ANN202
        result = await store.transaction(lambda s: releases.fire(s, rid, now=clock.now()))
        fired.append((rid, result.outcome))
        return result

    for _ in range(2):  # start, stop, start again
        ticker = Ticker(store, clock, fire, node="test")
        await ticker.start()
        ticker.stop()
    assert [f for f in fired if f[1] == "published"] == [(release_id, "published")]
    async with store.sessions() as s:
        rel = await s.get(Release, release_id)
    assert rel.late_ms == (3 * 3600 - 5 * 60) * 1000  # due 5 minutes after scheduling


async def test_the_ticker_follows_changes_made_by_another_process(database_url: str, store: Store) -> None:
    clock = SystemClock()
    fired: list[int] = []

    async def fire(rid: int):  # noqa: ANN202
        result = await store.transaction(lambda s: releases.fire(s, rid, now=clock.now()))
        if result.outcome == "published":
            fired.append(rid)
        return result

    ticker = Ticker(store, clock, fire, node="n1", refresh_seconds=0.05)
    await ticker.start()
    cli = Store.open(database_url)  # the CLI is another process with its own connection
    try:
        from tests.desk import Desk
        desk = Desk(cli, FixedClock(clock.now()), __import__("pathlib").Path("/tmp/gk-unused"))
        desk.clock = clock  # type: ignore[assignment]
        a = await desk.schedule([await desk.approved("news", "甲")], at=clock.now() + timedelta(hours=1))
        b = await desk.schedule([await desk.approved("news", "乙")], at=clock.now() + timedelta(hours=2))
        await asyncio.sleep(0.3)
        assert set(ticker.planned) == {a, b}
        await cli.transaction(lambda s: releases.cancel(s, b, actor="carol", now=clock.now()))
        await cli.transaction(lambda s: releases.reschedule(
            s, a, due_at=clock.now() + timedelta(seconds=0.4), actor="carol", now=clock.now()))
        await asyncio.sleep(0.3)
        assert set(ticker.planned) == {a}
        await asyncio.sleep(0.6)
        assert fired == [a]
    finally:
        ticker.stop()
        await cli.close()
