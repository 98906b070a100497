"""Topic notifications to followers after a release is published on WeChat: template messages
(or subscribe messages) with per-follower results, followers who unfollowed skipped, 43004 and
43101 recorded, and a follower whose notification may have gone out never notified twice."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import sqlite

from content import subscribers
from content.models import DeliveryRecipient
from tests.wechat_support import NOTIFYING, World


async def followers(world: World, count: int, topic: str = "全部") -> list[str]:
    """Followers who follow the account and reply "订阅 <topic>", as readers would."""
    openids = []
    for _ in range(count):
        openid, _ = await world.emulator.follow()
        await world.emulator.say(openid, f"订阅 {topic}")
        openids.append(openid)
    return openids


@pytest.fixture
async def world(database_url, tmp_path, clock):  # noqa: ANN001, ANN201
    w = await World.start(database_url, tmp_path, clock, wechat=NOTIFYING)
    yield w
    await w.stop()


async def test_subscribed_followers_get_a_template_message_linking_the_article(world: World) -> None:
    a, b = await followers(world, 2)
    (bystander,) = [o for o in [(await world.emulator.follow())[0]]]  # follows, subscribes to nothing
    item = await world.desk.approved("policy", "关于庚的通知", department="市政务服务局")
    await world.release([item])
    d = await world.until_settled()
    assert d.state == "sent", d.last_error
    assert "通知 2 位粉丝：成功 2" in (await world.attempts(d.id))[-1].detail
    sent = {t["touser"]: t for t in world.emulator.state.templates}
    assert set(sent) == {a, b} and bystander not in sent
    assert sent[a]["url"] == d.receipt["url"]
    assert sent[a]["template_id"] == world.channel.creds.template_id
    assert sent[a]["data"]["thing1"]["value"] == "关于庚的通知"
    assert sent[a]["data"]["thing2"]["value"] == "市政务服务局"
    assert sent[a]["data"]["time3"]["value"] == "2026年11月20日 10:05"
    rows = await world.recipients(d.id)
    assert {r.status for r in rows.values()} == {"delivered"}  # TEMPLATESENDJOBFINISH arrived for each
    assert rows[a].remote_id == str(sent[a]["msgid"])


async def test_an_unsubscribed_follower_is_skipped_by_the_next_notification(world: World) -> None:
    a, b = await followers(world, 2)
    await world.release([await world.desk.approved("news", "第一条动态")])
    first = await world.until_settled()
    assert set(await world.recipients(first.id)) == {a, b}
    await world.emulator.unfollow(b)
    await world.release([await world.desk.approved("news", "第二条动态")])
    second = await world.until_settled()
    assert set(await world.recipients(second.id)) == {a}
    assert [t["touser"] for t in world.emulator.state.templates][-1] == a
    assert len(world.emulator.state.templates) == 3


async def test_43004_marks_the_follower_inactive(world: World) -> None:
    a, b = await followers(world, 2)
    world.emulator.state.commit({"t": "unfollow", "openid": b, "at": 0})  # the event never reached us
    await world.release([await world.desk.approved("news", "动态")])
    d = await world.until_settled()
    rows = await world.recipients(d.id)
    assert rows[a].status == "delivered" and rows[b].status == "skipped" and "43004" in rows[b].detail
    assert (await world.subscriber(b)).status == "inactive"
    assert "已取消关注 1" in (await world.attempts(d.id))[-1].detail


async def test_43101_is_recorded_for_subscribe_messages(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={**NOTIFYING, "notify": "subscribe"})
    try:
        a, b = await followers(world, 2)
        world.emulator.refuse(b)
        await world.release([await world.desk.approved("news", "动态")])
        d = await world.until_settled()
        rows = await world.recipients(d.id)
        assert rows[a].status == "sent" and rows[b].status == "failed" and "43101" in rows[b].detail
        assert world.emulator.state.template_counts["bizsend"] == 1
    finally:
        await world.stop()


async def test_a_follower_whose_result_was_lost_is_not_notified_twice(world: World) -> None:
    a, b = await followers(world, 2)
    release = await world.release([await world.desk.approved("news", "动态")])
    await world.run()
    await world.emulator.complete_pending()
    d = await world.delivery(release)
    # An earlier attempt wrote a's intent and died before recording the result.
    async with world.service.store.sessions() as s, s.begin():
        await s.execute(sqlite.insert(DeliveryRecipient).values(
            delivery_id=d.id, subscriber_id=None, address=a, batch=0, status="unknown", remote_id="",
            detail="发送中", updated_at=world.clock.now()))
    d = await world.until_settled()
    rows = await world.recipients(d.id)
    assert rows[a].status == "unknown" and rows[b].status == "delivered"
    assert [t["touser"] for t in world.emulator.state.templates] == [b]
    assert "结果未知 1（不会重发）" in (await world.attempts(d.id))[-1].detail


async def test_notifications_keep_to_the_configured_rate(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={**NOTIFYING, "notify_rate_per_second": 20})
    try:
        world.emulator.config.template_events = False
        openids = world.emulator.add_followers(12)
        now = world.clock.now()
        for openid in openids:
            await world.service.store.transaction(lambda s, o=openid: subscribers.upsert(
                s, "wechat", o, now=now, status="active", topics=["all"]))
        await world.release([await world.desk.approved("news", "动态")])
        await world.run()
        await world.emulator.complete_pending()
        started = time.monotonic()
        await world.run()
        elapsed = time.monotonic() - started
        assert len(world.emulator.state.templates) == 12
        assert elapsed >= 11 / 20 * 0.9  # 12 calls at 20 a second
        assert isinstance(now, datetime)
    finally:
        await world.stop()


async def test_values_are_fitted_to_their_template_types(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    title = "关于进一步优化营商环境推行政务服务一网通办若干措施的通知"  # 29 characters
    world = await World.start(database_url, tmp_path, clock, wechat={**NOTIFYING, "notify_fields": {
        "thing1": "title", "character_string2": "doc_no", "date3": "published_at", "phrase4": "kind"}})
    try:
        [a] = await followers(world, 1)
        await world.release([await world.desk.approved("policy", title, doc_no="京政发〔2026〕12号")])
        d = await world.until_settled()
        assert d.state == "sent", d.last_error
        [sent] = world.emulator.state.templates
        assert sent["touser"] == a and (await world.recipients(d.id))[a].status == "delivered"
        assert sent["data"] == {"thing1": {"value": title[:19] + "…"}, "character_string2": {"value": "202612"},
                                "date3": {"value": "2026年11月20日"}, "phrase4": {"value": "政策文件"}}
    finally:
        await world.stop()


async def test_the_days_quota_running_out_holds_the_rest_until_the_next_day(world: World) -> None:
    followers_ = await followers(world, 3)
    world.emulator.faults.errcode("message/template/send", 45009, times=20)  # the day's quota is used up
    await world.release([await world.desk.approved("news", "动态")])
    for _ in range(10):  # published; then the notifications
        await world.run()
        await world.emulator.complete_pending()
        d = await world.delivery()
        if d.state != "submitted":
            break
        world.clock.set(max(world.clock.now(), d.next_attempt_at))
    local = d.next_attempt_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert d.state == "throttled" and "45009" in d.last_error and (local.hour, local.minute) == (0, 5)
    assert "failed" not in {r.status for r in (await world.recipients(d.id)).values()}
    world.emulator.faults.errcodes.clear()  # a new day: the quota is back
    d = await world.until_settled()
    assert d.state == "sent", d.last_error
    rows = await world.recipients(d.id)
    assert {rows[o].status for o in followers_} == {"delivered"}  # nobody failed for the quota
    assert sorted(t["touser"] for t in world.emulator.state.templates) == sorted(followers_)  # each once
    assert "retry" not in [a.outcome for a in await world.attempts(d.id)]
