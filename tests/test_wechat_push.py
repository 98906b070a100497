"""Pushes (mass sends): inside and over the account's quota, the check before a release is
stored, and a crash between the mass-send call and recording its result (restart → the same
clientmsgid → 45065 → no second push)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from content.errors import InputError
from tests.wechat_support import NOTIFYING, World


@pytest.fixture
async def world(database_url, tmp_path, clock):  # noqa: ANN001, ANN201
    w = await World.start(database_url, tmp_path, clock)
    w.emulator.add_followers(3)
    yield w
    await w.stop()


async def test_a_push_is_one_mass_send_of_the_draft(world: World) -> None:
    policy = await world.desk.approved("policy", "关于丁的通知")
    interp = await world.desk.approved("interpretation", "丁的解读", interprets=policy)
    await world.release([policy, interp], push="all")
    d = await world.until_settled()
    assert d.state == "sent", d.last_error
    [push] = world.pushes()
    assert push["to_all"] and push["recipients"] == 3 and push["titles"] == ["关于丁的通知", "丁的解读"]
    assert push["clientmsgid"].startswith("gk") and d.receipt["msg_id"] == str(push["msg_id"])
    assert d.receipt["urls"] == push["urls"] and len(d.receipt["urls"]) == 2  # from MASSSENDJOBFINISH
    assert [p for p in world.publications() if p["kind"] == "publish"] == []  # pushed, not published twice


async def test_a_push_to_all_is_not_followed_by_topic_notifications(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat=NOTIFYING)
    try:
        world.emulator.add_followers(3)
        await world.release([await world.desk.approved("policy", "关于丁的通知")], push="all")
        d = await world.until_settled()
        assert d.state == "sent", d.last_error
        assert "不再另发主题通知" in (await world.attempts(d.id))[-1].detail  # they all got the push
        assert world.emulator.state.template_counts == {}
    finally:
        await world.stop()


async def test_a_push_to_a_tag(world: World) -> None:
    world.emulator.state.commit({"t": "tag", "id": 100, "name": "企业"})
    openid = world.emulator.state.follower_order[0]
    world.emulator.state.commit({"t": "tagging", "tag_id": 100, "openids": [openid], "add": True})
    item = await world.desk.approved("news", "企业政策动态")
    await world.release([item], push="tag:企业")
    d = await world.until_settled()
    [push] = world.pushes()
    assert d.state == "sent" and push["tag_id"] == 100 and push["recipients"] == 1


async def test_a_second_push_the_same_day_is_refused_before_the_release_is_stored(world: World) -> None:
    first = await world.desk.approved("news", "第一条")
    await world.release([first], push="all")
    assert (await world.until_settled()).state == "sent"
    second = await world.desk.approved("news", "第二条")
    with pytest.raises(InputError) as refused:
        await world.service.precheck(["wechat"], [second], {"push": "all"}, world.clock.now())
    message = refused.value.render()
    assert "订阅号每天只能群发 1 次" in message and "--push none" in message
    assert await world.service.precheck(["wechat"], [second], {"push": "none"}, world.clock.now()) == []
    tomorrow = world.clock.now() + timedelta(days=1)
    warnings = await world.service.precheck(["wechat"], [second], {"push": "all"}, tomorrow)
    assert any("群发额度" in w for w in warnings)  # allowed tomorrow, and it uses the day's push


async def test_a_planned_push_counts_before_it_fires(world: World) -> None:
    first = await world.desk.approved("news", "上午的推送")
    await world.desk.schedule([first], channels=("wechat",), options={"push": "all"},
                              at=world.clock.now() + timedelta(hours=2))
    second = await world.desk.approved("news", "下午的推送")
    with pytest.raises(InputError, match="计划群发"):
        await world.service.precheck(["wechat"], [second], {"push": "all"}, world.clock.now() + timedelta(hours=4))


async def test_over_quota_at_the_platform_publishes_without_a_push(world: World) -> None:
    # Someone pushed from the web console today: the bot's ledger does not know, WeChat does.
    world.emulator.state.commit({"t": "draft", "media_id": "console", "articles": [
        {"title": "后台群发", "content": "<p>x</p>"}], "at": world.clock.now().timestamp()})
    world.emulator.state.commit({"t": "mass", "msg_id": 999, "msg_data_id": 1, "media_id": "console",
                                 "articles": [{"title": "后台群发"}], "to_all": True,
                                 "at": world.clock.now().timestamp()})
    item = await world.desk.approved("news", "今天的动态")
    await world.release([item], push="all")
    d = await world.until_settled()
    assert d.state == "sent"
    row = await world.publication(d.id)
    assert row.mode == "publish" and "45028" in row.detail and "已改为仅发布" in row.detail
    assert len(world.pushes()) == 1  # only the console's
    assert [p["status"] for p in world.publications() if p["kind"] == "publish"] == [0]


async def test_publish_only_mode_warns_instead_of_refusing(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={"over_quota": "publish_only"})
    try:
        world.emulator.add_followers(2)
        await world.release([await world.desk.approved("news", "一")], push="all")
        await world.until_settled()
        second = await world.desk.approved("news", "二")
        warnings = await world.service.precheck(["wechat"], [second], {"push": "all"}, world.clock.now())
        assert any("将只发布不群发" in w for w in warnings)
        await world.release([second], push="all")
        d = await world.until_settled()
        assert d.state == "sent" and len(world.pushes()) == 1
        row = await world.publication(d.id)
        assert row.mode == "publish" and "未群发" in row.detail
    finally:
        await world.stop()


async def test_a_service_account_pushes_four_times_a_month(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    # no push kept for emergencies here (the default reserve of 1: tests/test_emergency.py)
    world = await World.start(database_url, tmp_path, clock, wechat={"account_type": "service", "emergency_reserve": 0})
    try:
        world.emulator.add_followers(2)
        for n in range(4):
            await world.release([await world.desk.approved("news", f"第{n + 1}次")], push="all")
            assert (await world.until_settled()).state == "sent"
            world.clock.advance(days=1)
        assert len(world.pushes()) == 4
        fifth = await world.desk.approved("news", "第5次")
        with pytest.raises(InputError, match="每位粉丝每月最多收到 4 次群发"):
            await world.service.precheck(["wechat"], [fifth], {"push": "all"}, world.clock.now())
    finally:
        await world.stop()


async def die_after_pushing(world: World, endpoint: str = "message/mass/sendall") -> list[dict]:
    """Run the runner until the push has reached WeChat, then stop it as a crash would: the
    push went out, its result was never recorded."""
    world.emulator.faults.hang_after_accept(endpoint)  # carried out, never answered
    run = asyncio.create_task(world.runner.run_once())
    for _ in range(500):
        if world.pushes():
            break
        await asyncio.sleep(0.01)
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    return world.pushes()


async def test_a_crash_between_the_push_and_its_record_does_not_push_twice(world: World) -> None:
    item = await world.desk.approved("emergency", "关于暴雨红色预警的紧急通知")
    release = await world.release([item], push="all")
    [sent] = await die_after_pushing(world)
    d = await world.delivery(release)
    assert d.state == "in_progress" and (await world.publication(d.id)).status == "pending"

    await world.restart()  # a new process; the emulator reloads what it received from disk
    assert [p["msg_id"] for p in world.pushes()] == [sent["msg_id"]]
    world.clock.advance(seconds=world.settings.delivery.lease_seconds + 1)  # the dead worker's lease lapses
    d = await world.until_settled()
    assert d.state == "sent", d.last_error
    assert len(world.pushes()) == 1 and d.receipt["msg_id"] == str(sent["msg_id"])
    details = [a.detail for a in await world.attempts(d.id)]
    assert any("45065" in x for x in details) and "进程在调用期间中断" in details[0]


LISTED = ["o" + c * 27 for c in "abc"]


async def test_a_push_to_a_configured_openid_list(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={
        "account_type": "service", "push_lists": {"试点": LISTED[:2]}})
    try:
        for openid in LISTED:
            await world.emulator.follow(openid)
        release = await world.release([await world.desk.approved("news", "试点政策动态")], push="list:试点")
        d = await world.until_settled()
        assert d.state == "sent", d.last_error
        [push] = world.pushes()
        assert push["openids"] == 2 and push["recipients"] == 2 and not push["to_all"]
        assert d.receipt["push"] == "list:试点" and d.receipt["msg_id"] == str(push["msg_id"])
        assert any("群发给名单“试点”的粉丝" in a.detail for a in await world.attempts(d.id))
        assert d.release_id == release
        unknown = await world.desk.approved("news", "另一条")
        with pytest.raises(InputError, match="没有名为“外省”的群发名单"):
            await world.service.precheck(["wechat"], [unknown], {"push": "list:外省"}, world.clock.now())
    finally:
        await world.stop()


async def test_a_push_left_unrecorded_past_24_hours_is_not_repeated(world: World) -> None:
    release = await world.release([await world.desk.approved("news", "动态")], push="all")
    await die_after_pushing(world)
    await world.restart()  # a day and more later
    world.clock.advance(hours=25)  # WeChat's clientmsgid no longer dedupes
    d = await world.until_settled(limit=3)
    assert len(world.pushes()) == 1  # not pushed a second time
    assert d.release_id == release and d.state not in ("sent", "failed")
    assert "24 小时" in (await world.attempts(d.id))[-1].detail


async def test_a_crash_after_a_push_to_a_list_does_not_push_twice(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={
        "account_type": "service", "push_lists": {"试点": LISTED}})
    try:
        for openid in LISTED:
            await world.emulator.follow(openid)
        await world.release([await world.desk.approved("news", "试点动态")], push="list:试点")
        [sent] = await die_after_pushing(world, "message/mass/send")
        await world.restart()
        world.clock.advance(seconds=world.settings.delivery.lease_seconds + 1)
        d = await world.until_settled()
        assert d.state == "sent", d.last_error
        assert len(world.pushes()) == 1 and d.receipt["msg_id"] == str(sent["msg_id"])
        assert any("45065" in a.detail for a in await world.attempts(d.id))
    finally:
        await world.stop()
