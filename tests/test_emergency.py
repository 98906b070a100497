"""The emergency path: a one-step review by an approver on duty (never the author), a release
``--now`` to every channel past SMS quiet hours, the WeChat push from a reserve routine releases
cannot use, and emergency deliveries claimed first — an emergency released while a 20,000-number
SMS fan-out runs against the sandbox emulator reaches its subscribers before that fan-out ends."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import outbox
from bot.ops import items as item_ops
from bot.ops import releases
from channels.wechat.config import WechatSettings
from content import subscribers_bulk
from content.accounts import AccountView, Role
from content.clock import FixedClock
from content.errors import Forbidden, InputError, WorkflowError
from content.models import Delivery
from tests.test_sms_kit import SmsBot, beijing, phone, start_bot
from tests.test_website import builder, page, site_dir  # noqa: F401 - fixtures
from tests.wechat_support import World

CAROL = AccountView("carol", "carol", "", (Role.APPROVER,), False, False)
DAVE = AccountView("dave", "dave", "", (Role.APPROVER,), False, False)
ALICE = AccountView("alice", "alice", "", (Role.AUTHOR, Role.APPROVER), False, False)


def agree(reach: list) -> list[str]:  # noqa: ANN001
    return releases.confirmed(reach)


async def release_now(svc, item_id: int, **kw) -> int:  # noqa: ANN001, ANN003
    """``gongkai release create ITEM --now``: every enabled channel, fired at once."""
    made = await releases.create(svc, CAROL, [item_id], due_at=svc.clock.now(), allow_past=True, confirm=agree, **kw)
    assert (await svc.fire(made.release.id)).outcome == "published"
    return made.release.id


# ------------------------------------------------------------------ the WeChat reserve
def test_the_reserve_defaults_to_one_push_of_a_service_account_and_none_of_a_subscription_account() -> None:
    assert WechatSettings(account_type="service").reserve == 1
    assert WechatSettings().reserve == 0
    assert WechatSettings(account_type="service", emergency_reserve=2).reserve == 2


async def test_the_reserve_is_used_only_by_the_emergency(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={"account_type": "service"})
    try:
        world.emulator.add_followers(2)
        for n in range(3):  # routine pushes: 3 of the 4, the 4th is kept for emergencies
            await world.release([await world.desk.approved("news", f"第{n + 1}次")], push="all")
            assert (await world.until_settled()).state == "sent"
            world.clock.advance(days=1)
        routine = await world.desk.approved("news", "第4次")
        with pytest.raises(InputError, match="其中 1 次为突发事件预留，常规发布不能使用"):
            await world.service.precheck(["wechat"], [routine], {"push": "all"}, world.clock.now())
        alert = await world.desk.approved("emergency", "关于暴雨红色预警的紧急通知", department="市应急管理局")
        rid = await release_now(world.service, alert)  # no --push: an emergency pushes to everyone
        d = await world.until_settled()
        assert d.release_id == rid and d.state == "sent", d.last_error
        assert len(world.pushes()) == 4 and world.pushes()[-1]["to_all"]
        with pytest.raises(InputError, match="每位粉丝每月最多收到 4 次群发"):  # the reserve is spent now
            await world.service.precheck(["wechat"], [alert], {"push": "all"}, world.clock.now())
    finally:
        await world.stop()


# ------------------------------------------------------------------ the one-step chain on duty
async def test_an_emergency_is_approved_in_one_step_by_the_approver_on_duty_never_its_author(
        tmp_path: Path, database_url: str, clock: FixedClock) -> None:
    bot = await start_bot(tmp_path, database_url, clock, enabled="false")
    try:
        svc = bot.service
        svc.settings.review.chains = {**svc.settings.review.chains, "emergency": ["approver"]}
        svc.settings.emergency.on_duty = ["dave", "alice"]
        alert = await bot.desk.add("emergency", "关于森林火险橙色预警的通知", department="市应急管理局")
        await item_ops.submit(svc, ALICE, alert)
        with pytest.raises(Forbidden, match="不在突发事件值班名单中") as err:
            await item_ops.review(svc, CAROL, alert)
        assert "dave" in err.value.render()
        with pytest.raises((Forbidden, WorkflowError)):  # on duty, but the author
            await item_ops.review(svc, ALICE, alert)
        done = await item_ops.review(svc, DAVE, alert)
        assert done.approved and done.state == "approved"
        state = await item_ops.chain_state(svc, CAROL, alert)
        assert [(s.role, s.account) for s in state.steps] == [("approver", "dave")]  # recorded
    finally:
        await bot.close()


# ------------------------------------------------------------------ SMS: quiet hours and priority
@pytest.fixture
async def sms(tmp_path: Path, database_url: str, clock: FixedClock):
    bot = await start_bot(tmp_path, database_url, clock, batch_size=200, quiet_start="21:00", quiet_end="08:00")
    yield bot
    await bot.close()


async def add_many(bot: SmsBot, first: int, count: int, topics: tuple[str, ...]) -> None:
    now = bot.service.clock.now()
    for start in range(first, first + count, 2000):
        rows = [subscribers_bulk.Incoming(n, phone(n), topics, "test", "test")
                for n in range(start, min(start + 2000, first + count))]
        await subscribers_bulk.upsert_chunk(bot.service.store, "sms", rows, now=now, consent_method="test",
                                            consent_from="test")


async def test_an_emergency_released_now_goes_past_quiet_hours(sms: SmsBot) -> None:
    sms.service.clock.set(beijing(23, 30))
    await add_many(sms, 1, 3, ("all",))
    routine = await sms.desk.approved("news", "关于开展政务公开日活动的通知")
    alert = await sms.desk.approved("emergency", "暴雨红色预警", department="市应急管理局")
    held = await release_now(sms.service, routine)
    await sms.runner().run_once()
    assert (await sms.delivery(held)).state == "paused" and await sms.inbox(phone(1)) == []
    rid = await release_now(sms.service, alert)
    await sms.runner().run_once()
    assert (await sms.delivery(rid)).state == "sent"
    assert await sms.inbox(phone(1)) == ["【政务公开】紧急信息：市应急管理局发布《暴雨红色预警》，请注意防范并关注后续通知。"]


async def test_emergency_deliveries_are_claimed_first(sms: SmsBot) -> None:
    first = await sms.desk.approved("news", "动态")
    alert = await sms.desk.approved("emergency", "预警", department="市应急管理局")
    routine = await release_now(sms.service, first)
    urgent = await release_now(sms.service, alert)
    claims = await sms.service.store.transaction(lambda s: outbox.claim(
        s, now=sms.service.clock.now(), node="n", lease_seconds=60, limit=1, idempotent={}))
    assert [c.release_id for c in claims] == [urgent]
    async with sms.service.store.sessions() as s:
        assert {d.release_id: d.priority for d in await s.scalars(select(Delivery))} == {routine: 0, urgent: 10}


async def test_an_emergency_reaches_its_subscribers_before_a_large_fan_out_ends(sms: SmsBot) -> None:
    await add_many(sms, 1, 20_000, ("市政务服务局",))  # the routine release's department
    await add_many(sms, 30_001, 300, ("emergency",))
    routine = await release_now(sms.service, await sms.desk.approved("news", "关于优化营商环境的通知"))
    runner = sms.runner()
    running = asyncio.create_task(runner.run_once())  # 100 batches at 20 calls a second: about 5 s
    while sms.center.total() < 1000:
        await asyncio.sleep(0.02)
    urgent = await release_now(sms.service, await sms.desk.approved("emergency", "暴雨红色预警", department="市应急管理局"))
    await running  # the fan-out gave way between batches
    d = await sms.delivery(routine)
    assert d.state == "submitted" and d.progress["stopped"] == "yielded"
    assert "让出给突发事件短信" in [a.detail for a in await attempts(sms, d.id)][-1]
    sms.service.clock.advance(seconds=2)  # both due now: the emergency is claimed first, the fan-out yields again
    while (await sms.delivery(routine)).state != "sent":
        await runner.run_once()
        sms.service.clock.advance(seconds=2)
    assert (await sms.delivery(urgent)).state == "sent"
    counts = sms.center.counts()
    assert len(counts) == 20_300 and set(counts.values()) == {1}  # everyone once, nobody twice
    last_urgent = max(m.submitted_at for n in range(30_001, 30_301) for m in sms.center.all_messages(phone(n)[3:]))
    after = sum(1 for n in range(1, 20_001, 50) for m in sms.center.all_messages(phone(n)[3:])
                if m.submitted_at > last_urgent)
    assert after > 200  # of 400 sampled routine numbers, most were sent after the emergency's last batch


async def attempts(bot: SmsBot, delivery_id: int) -> list:
    from content.models import DeliveryAttempt

    async with bot.service.store.sessions() as s:
        return list(await s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                                    .order_by(DeliveryAttempt.id)))


# ------------------------------------------------------------------ follow-ups
async def test_follow_ups_are_a_timeline_on_the_first_page_and_in_the_feeds(desk, builder, site_dir) -> None:  # noqa: ANN001, F811
    import feedparser

    first = await desk.approved("emergency", "关于某路段交通管制的简要信息", department="市应急管理局")
    await desk.publish([first], at=desk.clock.now() + timedelta(minutes=1))
    updates = []
    for n, title in enumerate(["交通管制后续情况（一）", "交通管制后续情况（二）"]):
        desk.clock.advance(hours=1)
        updates.append(await desk.approved("emergency", title, department="市应急管理局", follows=first))
        await desk.publish([updates[-1]], at=desk.clock.now() + timedelta(minutes=n + 1))
    await builder.rebuild_all()
    html = page(site_dir, f"items/{first}.html")
    assert '<ol class="timeline">' in html
    one, two = html.index("交通管制后续情况（一）"), html.index("交通管制后续情况（二）")
    assert one < two  # oldest first
    assert "2026-11-20 11:02</time>" in html and "2026-11-20 12:04</time>" in html  # Beijing time of each follow-up
    feed = feedparser.parse((site_dir / "atom.xml").read_bytes())
    entry = next(e for e in feed.entries if e.title == "交通管制后续情况（二）")
    assert f'/items/{first}.html"' in entry.content[0].value and "后续信息" in [t.term for t in entry.tags]
