"""Fan-out: a release reaches exactly the subscribers of its topics, once each, through the
provider's limits (per-number refusals recorded, provider-wide throttling backed off), with
failover, quiet hours, and in-flight batches settled through the provider's status query."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.runner import Runner
from bot.settings import DeliverySettings
from channels.base import ChannelContext, Job, Outcome, Purpose
from channels.sandbox.sms_center.center import Accepted
from channels.sms import recipients
from channels.sms.channel import SmsChannel
from channels.sms.config import FailoverSettings, SmsSettings
from channels.sms.fanout import marker
from content.clock import FixedClock
from content.errors import InputError
from content.models import Delivery, DeliveryRecipient, Release, ReleaseItem
from content.render import Renderer
from content.subscribers import Recipient
from content.views import load_views
from tests.test_sms_kit import (ALIYUN_KEYS, SDK_APP_ID, TENCENT_KEYS, Emulators, SmsBot, beijing, phone,
                                start_bot, start_emulators)


@pytest.fixture
async def bot(tmp_path: Path, database_url: str, clock: FixedClock) -> AsyncIterator[SmsBot]:
    b = await start_bot(tmp_path, database_url, clock, batch_size=2)
    yield b
    await b.close()


async def wait_until(check, timeout: float = 5.0) -> None:  # noqa: ANN001
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_a_release_reaches_exactly_the_subscribers_of_its_topics(bot: SmsBot) -> None:
    await bot.add_subscribers({phone(1): ["all"], phone(2): ["工作动态"], phone(3): ["市应急局"], phone(4): ["emergency"],
                               phone(5): ["政策文件"]})
    await bot.add_subscribers({phone(6): ["all"]}, status="unsubscribed")
    await bot.add_subscribers({phone(7): ["all"]}, status="pending")
    news = await bot.publish("news", "关于开展政务公开日活动的通知", column="工作动态", department="市应急局")
    assert await bot.runner().run_once() == 1
    got = {n: await bot.inbox(phone(n)) for n in range(1, 8)}
    text = "【政务公开】市应急局发布了《关于开展政务公开日活动的通知》，详见政务公开网站。"
    assert {n for n, texts in got.items() if texts} == {1, 2, 3}
    assert all(got[n] == [text] for n in (1, 2, 3))
    d = await bot.delivery(news)
    assert d.state == "sent" and d.progress["finished"] and d.progress["summary"].startswith("完成：已提交 3 个号码")

    async def reported() -> bool:
        rows = await bot.recipients(news)
        return {r.status for r in rows.values()} == {"delivered"}

    await wait_until(reported)  # the emulator's SmsReport push reached the bot's callback
    alert = await bot.publish("emergency", "暴雨红色预警", department="市应急局")
    await bot.runner().run_once()
    assert [len(await bot.inbox(phone(n))) for n in range(1, 8)] == [2, 1, 2, 1, 0, 0, 0]
    assert set(await bot.recipients(alert)) == {phone(1), phone(3), phone(4)}


async def test_a_number_over_its_daily_limit_is_skipped_and_recorded(bot: SmsBot) -> None:
    await bot.add_subscribers({phone(n): ["all"] for n in range(1, 4)})
    for n in range(50):  # phone(2) already had 50 notifications of this template today
        bot.center.record("aliyun", "", [Accepted(phone(2)[3:], f"old{n}")], sign="政务公开", template="SMS_900000001",
                          kind="notice", content="x", parts=1)
    release = await bot.publish()
    await bot.runner().run_once()

    async def settled() -> bool:
        rows = await bot.recipients(release)
        return [rows[phone(n)].status for n in (1, 2, 3)] == ["delivered", "skipped", "delivered"]

    await wait_until(settled)
    rows = await bot.recipients(release)
    assert "isv.BUSINESS_LIMIT_CONTROL" in rows[phone(2)].detail and "天级流控" in rows[phone(2)].detail
    assert len(await bot.inbox(phone(2))) == 50  # nothing more arrived


# ------------------------------------------------------------------ channels on standalone emulators
def channel_for(emu: Emulators, store, clock: FixedClock, tmp_path: Path, **overrides) -> SmsChannel:  # noqa: ANN001
    settings = {"enabled": True, "sandbox": False, "provider": "aliyun", "base_url": emu.aliyun_url,
                "access_key_id": ALIYUN_KEYS[0], "access_key_secret": ALIYUN_KEYS[1], "unsubscribe_secret": "u",
                "callback_token": "c", "batch_size": 2, "quiet_start": "00:00", "quiet_end": "00:00",
                "reconcile_grace_seconds": 60, **overrides}
    ctx = ChannelContext(settings=SmsSettings(**settings), store=store, clock=clock,
                         renderer=Renderer(ZoneInfo("Asia/Shanghai")), site_url="https://gov.example.cn",
                         data_dir=tmp_path)
    return SmsChannel(ctx)


def tencent_first(emu: Emulators) -> dict:
    """Tencent as the first provider: its template ids are the configured failover codes."""
    templates = {k: t.model_copy(update={"code": t.failover_code, "failover_code": t.code})
                 for k, t in SmsSettings().templates.items()}
    return {"provider": "tencent", "base_url": emu.tencent_url, "access_key_id": TENCENT_KEYS[0],
            "access_key_secret": TENCENT_KEYS[1], "sdk_app_id": SDK_APP_ID, "templates": templates}


async def seed(desk, count: int, topics=("all",)) -> None:  # noqa: ANN001
    from content import subscribers

    now = desk.clock.now()

    async def work(s):  # noqa: ANN001, ANN202
        for n in range(1, count + 1):
            await subscribers.upsert(s, "sms", phone(n), now=now, status="active", topics=list(topics))

    await desk.store.transaction(work)


async def run(desk, channel: SmsChannel) -> Delivery:  # noqa: ANN001
    runner = Runner(desk.store, {"sms": channel}, desk.clock, DeliverySettings(), node="t", call_timeout=60)
    await runner.run_once()
    async with desk.store.sessions() as s:
        return await s.scalar(select(Delivery).order_by(Delivery.id.desc()))


async def test_provider_wide_throttling_backs_off_and_sends_everyone_once(desk, tmp_path: Path) -> None:  # noqa: ANN001
    emu = await start_emulators(qps=3)
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, calls_per_second=100)
    try:
        await seed(desk, 14)
        await desk.publish([await desk.approved()], channels=("sms",))
        d = await run(desk, channel)
        assert d.state == "sent", d.last_error
        assert emu.center.counts() == {phone(n)[3:]: 1 for n in range(1, 15)}
    finally:
        await channel.close()
        await emu.close()


async def test_throttling_that_outlasts_a_call_is_a_wait_never_a_failure(desk, tmp_path: Path) -> None:  # noqa: ANN001
    from channels.sandbox.aliyun_sms.app import GATEWAY_KEY

    emu = await start_emulators(qps=0.001)  # every call refused with Throttling.User
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, max_call_seconds=5)
    runner = Runner(desk.store, {"sms": channel}, desk.clock, DeliverySettings(max_attempts=1), node="t",
                    call_timeout=60)
    try:
        await seed(desk, 3)
        await desk.publish([await desk.approved()], channels=("sms",))
        for _ in range(2):  # more halts than the attempt limit
            await runner.run_once()
            async with desk.store.sessions() as s:
                d = await s.scalar(select(Delivery))
            assert d.state == "throttled" and "Throttling.User" in d.last_error
            desk.clock.set(d.next_attempt_at)
        emu.aliyun.app[GATEWAY_KEY].gate.rate = 0  # the provider lets calls through again
        await runner.run_once()
        async with desk.store.sessions() as s:
            d = await s.scalar(select(Delivery))
        assert d.state == "sent", d.last_error
        assert emu.center.counts() == {phone(n)[3:]: 1 for n in range(1, 4)}
    finally:
        await channel.close()
        await emu.close()


@pytest.mark.parametrize("broken", ["wrong secret", "unreachable"])
async def test_failover_when_the_first_provider_fails_as_a_whole(desk, tmp_path: Path, broken: str) -> None:  # noqa: ANN001
    emu = await start_emulators()
    primary = {"access_key_secret": "wrong"} if broken == "wrong secret" else {"base_url": "http://127.0.0.1:9"}
    failover = FailoverSettings(provider="tencent", base_url=emu.tencent_url, access_key_id=TENCENT_KEYS[0],
                                access_key_secret=TENCENT_KEYS[1], sdk_app_id=SDK_APP_ID)
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, failover=failover, **primary)
    try:
        await seed(desk, 5)
        await desk.publish([await desk.approved()], channels=("sms",))
        d = await run(desk, channel)
        assert d.state == "sent" and d.progress["provider"] == "tencent"
        assert emu.center.counts("tencent") == {phone(n)[3:]: 1 for n in range(1, 6)}
        assert emu.center.counts("aliyun") == {}
    finally:
        await channel.close()
        await emu.close()


async def test_without_failover_a_rejected_credential_pauses_with_the_fix(desk, tmp_path: Path) -> None:  # noqa: ANN001
    emu = await start_emulators()
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, access_key_secret="wrong")
    try:
        await seed(desk, 3)
        await desk.publish([await desk.approved()], channels=("sms",))
        d = await run(desk, channel)
        assert d.state == "paused" and "SignatureDoesNotMatch" in d.last_error
        assert "ACCESS_KEY_SECRET" in d.last_error and emu.center.total() == 0
        async with desk.store.sessions() as s:
            assert list(await s.scalars(select(DeliveryRecipient))) == []  # refused: nothing recorded as sent
    finally:
        await channel.close()
        await emu.close()


async def test_quiet_hours_hold_ordinary_items_but_not_emergencies(desk, tmp_path: Path) -> None:  # noqa: ANN001
    emu = await start_emulators()
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, quiet_start="21:00", quiet_end="08:00")
    try:
        await seed(desk, 2, topics=("all", "emergency"))
        desk.clock.set(beijing(21, 30))
        news = await desk.publish([await desk.approved()], channels=("sms",))
        d = await run(desk, channel)
        assert d.state == "paused" and "免打扰时段（21:00–08:00）" in d.last_error and "08:00" in d.last_error
        assert d.next_attempt_at == beijing(8, 0, day=21) and emu.center.total() == 0
        await desk.publish([await desk.approved("emergency", "山洪预警")], channels=("sms",))
        d2 = await run(desk, channel)
        assert d2.state == "sent" and emu.center.total() == 2
        desk.clock.set(beijing(8, 0, day=21))
        await run(desk, channel)
        async with desk.store.sessions() as s:
            assert (await s.scalar(select(Delivery).where(Delivery.release_id == news))).state == "sent"
        assert emu.center.counts() == {phone(1)[3:]: 2, phone(2)[3:]: 2}
    finally:
        await channel.close()
        await emu.close()


# ------------------------------------------------------------------ batches in flight at a crash
async def crashed_job(desk, channel: SmsChannel, kind: str = "news") -> tuple[Job, Delivery]:  # noqa: ANN001
    """Six subscribers, batches of two. The previous worker died with batches 0 and 1 in flight:
    batch 0's request reached the provider, batch 1's did not. Its last checkpoint was before both."""
    await seed(desk, 6)
    release = await desk.publish([await desk.approved(kind, "测试通知")], channels=("sms",))
    async with desk.store.sessions() as s:
        d = await s.scalar(select(Delivery).where(Delivery.release_id == release))
        rel = await s.get(Release, release)
        ids = list(await s.scalars(select(ReleaseItem.item_id).where(ReleaseItem.release_id == release)))
        items = tuple(await load_views(s, ids))
    await channel.open()
    subs = [Recipient(n, phone(n)) for n in range(1, 7)]
    then = desk.clock.now()
    await recipients.start_batch(desk.store, d.id, 0, subs[0:2], channel.routes[0].name, then)
    await recipients.start_batch(desk.store, d.id, 1, subs[2:4], channel.routes[0].name, then)
    message = channel.message(items)
    await channel.routes[0].provider.send([p.address for p in subs[0:2]], message.code_for(0), message.params,
                                          marker=marker(d.id, 0))
    progress = {"after_id": 0, "next_batch": 2, "total": 6, "provider": channel.routes[0].name}
    job = Job(delivery_id=d.id, release_id=release, channel="sms", purpose=Purpose.PUBLISH, items=items,
              options={}, attempt=2, receipt={}, progress=progress, due_at=rel.due_at, published_at=rel.fired_at)
    return job, d


async def test_in_flight_batches_are_settled_by_query_then_the_rest_is_sent(desk, tmp_path: Path) -> None:  # noqa: ANN001
    emu = await start_emulators()
    channel = channel_for(emu, desk.store, desk.clock, tmp_path)
    try:
        job, d = await crashed_job(desk, channel)
        early = await channel.reconcile(job)  # within the grace period "no record" proves nothing yet
        assert early.outcome is Outcome.UNKNOWN and early.retry_after and "不会盲目重发" in early.detail
        assert set(emu.center.counts()) == {phone(n)[3:] for n in (1, 2, 5, 6)}  # the rest went on meanwhile
        desk.clock.advance(seconds=61)
        result = await channel.reconcile(job)
        assert result.outcome is Outcome.SENT, result.detail
        assert emu.center.counts() == {phone(n)[3:]: 1 for n in range(1, 7)}  # batch 1 resent, batch 0 not
        assert result.progress["uncertain_count"] == 0
    finally:
        await channel.close()
        await emu.close()


@pytest.mark.parametrize("kind, resent", [("news", False), ("emergency", True)])
async def test_what_stays_unknown_follows_the_policy_and_is_named(desk, tmp_path: Path, kind: str, resent: bool) -> None:  # noqa: ANN001
    emu = await start_emulators(report_delay=0.0)
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, **tencent_first(emu))
    try:
        job, d = await crashed_job(desk, channel, kind)
        await asyncio.sleep(0.05)  # batch 0's receipts exist at the provider
        desk.clock.advance(seconds=61)
        result = await channel.reconcile(job)
        assert result.outcome is Outcome.SENT, result.detail
        counts = emu.center.counts()
        assert counts[phone(1)[3:]] == counts[phone(2)[3:]] == 1  # found by the status query: not resent
        assert counts[phone(5)[3:]] == counts[phone(6)[3:]] == 1
        if resent:
            assert counts[phone(3)[3:]] == counts[phone(4)[3:]] == 1
            assert result.progress["uncertain_count"] == 0
        else:  # Tencent can only show receipts: batch 1 stays unknown, is not resent, and is named
            assert phone(3)[3:] not in counts and phone(4)[3:] not in counts
            assert result.progress["uncertain"] == [phone(3), phone(4)]
            assert "结果未知 2 个" in result.detail and "13800000003" in result.detail
    finally:
        await channel.close()
        await emu.close()


# ------------------------------------------------------------------ bad configuration
async def test_content_over_the_limits_is_refused_before_the_release_is_stored(desk, tmp_path: Path) -> None:  # noqa: ANN001
    emu = await start_emulators()
    from channels.sms.config import SmsTemplate

    long_title = {"default": SmsTemplate(code="SMS_900000001", text="${department}发布了《${title}》",
                                         params={"department": "{{ item.department }}", "title": "{{ item.title }}"})}
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, templates=long_title)
    try:
        item = await desk.approved("news", "关于进一步深化“放管服”改革优化营商环境若干措施（2026年修订版）的实施细则")
        async with desk.store.sessions() as s:
            views = tuple(await load_views(s, [item], revision="current"))
        with pytest.raises(InputError) as err:
            await channel.precheck(views, {})
        assert "变量 title" in err.value.render() and "clip" in err.value.render()
        warnings = await channel_for(emu, desk.store, desk.clock, tmp_path).precheck(views, {})
        assert warnings and "0 个订阅号码" in warnings[0]
    finally:
        await channel.close()
        await emu.close()


async def test_time_is_checked_against_the_window_in_the_configured_zone() -> None:
    from channels.sms.quiet import QuietHours

    quiet = QuietHours.parse("21:00", "08:00", ZoneInfo("Asia/Shanghai"))
    assert quiet.wait(beijing(20, 59)) == 0
    assert quiet.wait(beijing(21, 0)) == 11 * 3600
    assert quiet.wait(beijing(7, 30)) == 30 * 60
    assert quiet.wait(beijing(8, 0)) == 0
    assert QuietHours.parse("00:00", "00:00", ZoneInfo("Asia/Shanghai")).wait(beijing(3)) == 0
    day = QuietHours.parse("12:00", "14:00", ZoneInfo("Asia/Shanghai"))
    assert day.wait(beijing(13)) == 3600 and day.wait(beijing(15)) == 0
    assert timedelta(seconds=quiet.wait(beijing(23))) == timedelta(hours=9)



async def test_receipts_and_replies_can_be_pulled_from_tencent(desk, tmp_path: Path) -> None:  # noqa: ANN001
    from channels.sms.inbound import apply_reply, apply_reports
    from content import subscribers

    emu = await start_emulators(report_delay=0.0)
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, **tencent_first(emu))
    try:
        await seed(desk, 2)
        release = await desk.publish([await desk.approved()], channels=("sms",))
        assert (await run(desk, channel)).state == "sent"
        emu.center.reply(phone(2)[3:], "退订")
        await asyncio.sleep(0.05)
        reports, replies = await channel.pull()
        assert sorted(r.phone for r in reports) == [phone(1), phone(2)]
        assert [(p, r.phone, r.text) for p, r in replies] == [("tencent", phone(2), "退订")]
        tally = await apply_reports(desk.store, reports, desk.clock.now())
        assert (tally.applied, (await apply_reports(desk.store, reports, desk.clock.now())).applied) == (2, 0)
        assert await apply_reply(desk.store, "tencent", replies[0][1], desk.clock.now()) == "unsubscribed"
        assert await apply_reply(desk.store, "tencent", replies[0][1], desk.clock.now()) == "duplicate"
        async with desk.store.sessions() as s:
            assert (await subscribers.get(s, "sms", phone(2))).status == "unsubscribed"
            rows = list(await s.scalars(select(DeliveryRecipient).join(Delivery).where(Delivery.release_id == release)))
        assert {r.status for r in rows} == {"delivered"} and all(r.remote_id.startswith("2645:") for r in rows)
        assert await channel.pull() == ([], [])
    finally:
        await channel.close()
        await emu.close()


async def test_a_long_fan_out_goes_in_slices_and_resumes_from_its_progress(desk, tmp_path: Path) -> None:  # noqa: ANN001
    emu = await start_emulators(latency=0.2)
    channel = channel_for(emu, desk.store, desk.clock, tmp_path, concurrency=1)
    channel.settings = channel.settings.model_copy(update={"max_call_seconds": 0.3})  # below the usual floor
    try:
        await seed(desk, 8)
        await desk.publish([await desk.approved()], channels=("sms",))
        first = await run(desk, channel)
        assert first.state == "submitted" and 0 < first.progress["batches_done"] < 4
        for _ in range(10):
            desk.clock.advance(seconds=1)  # the runner takes a "submitted" delivery up again at once
            d = await run(desk, channel)
            if d.state == "sent":
                break
        assert d.state == "sent" and d.attempts >= 2 and d.progress["summary"] == "完成：已提交 8 个号码"
        assert emu.center.counts() == {phone(n)[3:]: 1 for n in range(1, 9)}
    finally:
        await channel.close()
        await emu.close()
