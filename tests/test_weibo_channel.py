"""The Weibo channel against the Weibo emulator running as a real local server, driven by the real
delivery runner over the real store (SQLite and PostgreSQL): bundle order, per-post progress,
every error path of statuses/share, token expiry (pause, alert, resume) and crashes between and
during posts."""
from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image
from sqlalchemy import select

from bot import outbox
from bot.runner import Runner
from bot.settings import DeliverySettings
from channels.base import ChannelContext
from channels.sandbox.weibo import SandboxConfig, WeiboSandbox
from channels.weibo.channel import WeiboChannel
from channels.weibo.config import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, WeiboSettings
from content.errors import InputError, WorkflowError
from content.models import AuditEvent, Delivery, DeliveryAttempt
from content.render import Renderer
from content.views import load_views

SITE = "https://www.gov.example.cn"
DOMAIN = "gov.example.cn"
LONG_SUMMARY = ("本通知明确了政策文件与解读同步发布、网站每周更新、重点部门按季度召开新闻发布会、"
                "突发事件信息第一时间发布以及发布前保密审查等要求，并对各单位的职责分工、考核办法和"
                "监督机制作出了具体规定，自发布之日起施行，请各单位认真贯彻落实。")


@dataclass
class Rig:
    sandbox: WeiboSandbox
    channel: WeiboChannel
    runner: Runner
    desk: object
    settings: WeiboSettings
    tmp: Path

    async def run(self) -> int:
        return await self.runner.run_once()

    async def delivery(self) -> Delivery:
        async with self.desk.store.sessions() as s:
            return await s.scalar(select(Delivery).order_by(Delivery.id.desc()))

    async def attempts(self) -> list[str | None]:
        async with self.desk.store.sessions() as s:
            return [a.outcome for a in await s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))]

    def posts(self) -> list[str]:
        return [s.original for s in self.sandbox.timeline()]

    async def due(self) -> None:
        """Move the clock to the delivery's next attempt."""
        d = await self.delivery()
        if d.next_attempt_at > self.desk.clock.now():
            self.desk.clock.set(d.next_attempt_at)

    async def bundle(self, *, cover: Path | None = None, summary: str = "明确政务公开的六项要求。") -> tuple[int, int]:
        extra = {"cover": cover.name, "folder": cover.parent} if cover else {}
        policy = await self.desk.approved("policy", title="示例市关于进一步做好政务公开工作的通知",
                                          summary=summary, **extra)
        interp = await self.desk.approved("interpretation", title="《关于进一步做好政务公开工作的通知》解读",
                                          summary="三问三答说明通知要点。", interprets=policy)
        return policy, interp


async def eventually(condition, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def png(tmp: Path, name: str = "cover.png", size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> Path:
    path = tmp / name
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture
async def rig(desk, tmp_path: Path):
    clock = desk.clock
    sandbox = WeiboSandbox(SandboxConfig(app_key=SANDBOX_APP_KEY, app_secret=SANDBOX_APP_SECRET,
                                         safe_domains=(DOMAIN,), share_per_hour=30), clock=clock)
    root = web.Application()
    root.add_subapp("/sandbox/weibo", sandbox.make_app())
    server = TestServer(root)
    await server.start_server()
    settings = WeiboSettings(sandbox=True, request_timeout_seconds=1.0, max_posts_per_hour=0)
    ctx = ChannelContext(settings=settings, store=desk.store, clock=clock, renderer=Renderer(ZoneInfo("Asia/Shanghai")),
                         site_url=SITE, data_dir=tmp_path, local_url=str(server.make_url("")).rstrip("/"))
    channel = WeiboChannel(ctx)
    runner = Runner(desk.store, {"weibo": channel}, clock,
                    DeliverySettings(backoff_base_seconds=10, lease_seconds=60), node="n1", call_timeout=10)
    yield Rig(sandbox, channel, runner, desk, settings, tmp_path)
    sandbox.release_held()
    await channel.close()
    await server.close()


# ------------------------------------------------------------------------------- the happy path
async def test_a_bundle_posts_the_policy_first_then_the_interpretation_linking_the_policy(rig: Rig) -> None:
    policy, interp = await rig.bundle(cover=png(rig.tmp))
    await rig.desk.publish([interp, policy], channels=("weibo",))  # listed the other way round
    assert await rig.run() == 1
    d = await rig.delivery()
    assert d.state == "sent", d.last_error
    first, second = rig.sandbox.timeline()
    assert first.original.startswith("【政策文件】") and f"{SITE}/items/{policy}.html" in first.original
    assert second.original.startswith("【政策解读】")
    assert f"{SITE}/items/{interp}.html" in second.original and f"{SITE}/items/{policy}.html" in second.original
    assert first.pic.endswith(".png") and not second.pic  # the policy's cover went as multipart `pic`
    assert first.rip == "127.0.0.1"
    assert [p["item"] for p in d.receipt["posts"]] == [policy, interp]
    assert [p["idstr"] for p in d.receipt["posts"]] == [first.idstr, second.idstr]
    assert d.receipt["uid"] == rig.sandbox.config.uid
    assert (await _last_detail(rig)).startswith("发送：已发微博 2 条")


async def test_the_sandbox_token_is_obtained_without_secrets_and_kept_in_the_store(rig: Rig) -> None:
    assert await rig.channel.tokens.get() is None
    await rig.desk.publish([await rig.desk.approved("news", title="便民服务热线调整")], channels=("weibo",))
    await rig.run()
    token = await rig.channel.tokens.get()
    assert token is not None and token.source == "sandbox"
    assert token.expires_at == rig.desk.clock.now() + rig.sandbox.config.token_lifetime
    assert token.access_token in rig.sandbox.state.tokens


async def test_webp_covers_are_converted_and_broken_covers_are_left_out(rig: Rig) -> None:
    webp = png(rig.tmp, "cover.webp", fmt="WEBP")
    item = await rig.desk.approved("news", title="公园开放时间调整", cover=webp.name, folder=rig.tmp)
    await rig.desk.publish([item], channels=("weibo",))
    await rig.run()
    assert (await rig.delivery()).state == "sent"
    assert rig.sandbox.timeline()[0].pic.endswith(".jpg")
    broken = rig.tmp / "broken.webp"
    broken.write_bytes(b"RIFF" + b"not an image at all")  # a WebP only by its signature
    item = await rig.desk.approved("news", title="图书馆开放时间调整", cover=broken.name, folder=rig.tmp)
    await rig.desk.publish([item], channels=("weibo",))
    await rig.run()
    assert (await rig.delivery()).state == "sent"
    assert rig.sandbox.timeline()[-1].pic == ""


# ------------------------------------------------------------------------------ token expiry
async def test_an_expired_token_pauses_alerts_and_resumes_after_authorisation(rig: Rig, caplog) -> None:
    rig.settings.expiry_warning_days = 2
    await rig.desk.publish([await rig.desk.approved("news", title="第一条")], channels=("weibo",))
    await rig.run()
    assert (await rig.delivery()).state == "sent"
    assert await rig.channel.alerts() == []
    rig.desk.clock.advance(days=5, hours=1)  # the sandbox token lives 7 days
    [warning] = await rig.channel.alerts()
    assert "将于" in warning and "过期" in warning and "gongkai channel weibo authorize" in warning
    rig.desk.clock.advance(days=2)  # now expired
    policy, interp = await rig.bundle()
    await rig.desk.publish([policy, interp], channels=("weibo",))
    with caplog.at_level(logging.WARNING):
        await rig.run()
    d = await rig.delivery()
    assert d.state == "paused" and "过期" in d.last_error and "gongkai channel weibo authorize" in d.last_error
    [alert] = await rig.channel.alerts()
    assert "已暂停" in alert and "1 条投递等待" in alert
    for _ in range(8):  # paused deliveries wait; they never fail
        rig.desk.clock.advance(seconds=rig.settings.pause_recheck_seconds + 1)
        await rig.run()
    assert (await rig.delivery()).state == "paused"
    assert len(rig.sandbox.timeline()) == 1
    # Staff authorise again: the printed URL, the emulator's authorize form, the code pasted back.
    url = await rig.channel.authorize_url()
    assert url.startswith(rig.channel.api.base + "/oauth2/authorize?client_id=" + SANDBOX_APP_KEY)
    landed = await _approve_in_browser(rig, url)
    token, resumed = await rig.channel.complete_authorization(landed)
    assert resumed == 1 and token.usable(rig.desk.clock.now())
    assert await rig.channel.alerts() == []
    await rig.run()  # due at once: no waiting for the next recheck
    d = await rig.delivery()
    assert d.state == "sent"
    assert [s.original[:6] for s in rig.sandbox.timeline()[1:]] == ["【政策文件】", "【政策解读】"]


async def test_a_post_lost_after_a_long_pause_is_looked_for_within_the_poll_interval(rig: Rig) -> None:
    await rig.desk.publish([await rig.desk.approved("news", title="第一条")], channels=("weibo",))
    await rig.run()
    rig.desk.clock.advance(days=8)  # the sandbox token has expired
    await rig.desk.publish([await rig.desk.approved("news", title="等待授权的一条")], channels=("weibo",))
    for _ in range(24):  # two hours paused, rechecked every five minutes
        await rig.run()
        await rig.due()
    assert (await rig.delivery()).state == "paused"
    await rig.channel.complete_authorization(await _approve_in_browser(rig, await rig.channel.authorize_url()))
    rig.sandbox.inject("share", mode="lose_response", hold=5)  # posted, but the answer is lost
    await rig.run()
    d = await rig.delivery()
    assert d.state == "unknown"
    poll = rig.runner.settings.poll_seconds
    assert d.next_attempt_at - rig.desk.clock.now() <= timedelta(seconds=poll)
    rig.desk.clock.advance(seconds=poll)
    await rig.run()
    d = await rig.delivery()
    assert d.state == "sent" and d.progress["posts"][0]["how"] == "timeline"
    assert len(rig.sandbox.timeline()) == 2  # found on the timeline, not posted again


async def _approve_in_browser(rig: Rig, url: str) -> str:
    """What a member of staff does in the browser: open the URL, press 授权, land on the redirect."""
    from urllib.parse import parse_qsl, urlsplit

    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(url) as page:
            assert page.status == 200 and "授权" in await page.text()
        form = dict(parse_qsl(urlsplit(url).query)) | {"action": "authorize"}
        async with http.post(url.split("?")[0], data=form, allow_redirects=False) as answer:
            assert answer.status == 302
            return answer.headers["Location"]


async def test_a_token_refused_mid_bundle_pauses_and_the_bundle_resumes_where_it_stopped(rig: Rig, caplog) -> None:
    policy, interp = await rig.bundle()
    await rig.desk.publish([policy, interp], channels=("weibo",))
    rig.sandbox.inject("share", error_code=21327, skip=1)  # the first post goes through, then the token expires
    with caplog.at_level(logging.WARNING, logger="gongkai.weibo"):
        await rig.run()
    d = await rig.delivery()
    assert d.state == "paused" and "21327" in d.last_error
    assert [p["item"] for p in d.progress["posts"]] == [policy]
    assert any("微博渠道暂停" in r.getMessage() for r in caplog.records)
    assert "微博拒绝了访问令牌（21327" in (await rig.channel.alerts())[0]
    rig.desk.clock.advance(seconds=rig.settings.pause_recheck_seconds + 1)
    await rig.run()
    assert (await rig.delivery()).state == "paused"  # still the refused token: no call made
    assert len(rig.sandbox.timeline()) == 1
    landed = await _approve_in_browser(rig, await rig.channel.authorize_url())
    await rig.channel.complete_authorization(landed)
    await rig.run()
    d = await rig.delivery()
    assert d.state == "sent"
    assert [s.original[:6] for s in rig.sandbox.timeline()] == ["【政策文件】", "【政策解读】"]  # not reposted


@pytest.mark.parametrize("code", [21315, 21332])
async def test_other_token_errors_pause_too(rig: Rig, code: int) -> None:
    await rig.desk.publish([await rig.desk.approved("news", title="停水通知")], channels=("weibo",))
    rig.sandbox.inject("share", error_code=code)
    await rig.run()
    d = await rig.delivery()
    assert d.state == "paused" and str(code) in d.last_error
    assert (await rig.channel.tokens.get()).rejected_code == code


async def test_a_revoked_token_is_refused_by_the_emulator_and_pauses(rig: Rig) -> None:
    await rig.desk.publish([await rig.desk.approved("news", title="第一条")], channels=("weibo",))
    await rig.run()
    for record in rig.sandbox.state.tokens.values():
        record.revoked = True
    await rig.desk.publish([await rig.desk.approved("news", title="第二条")], channels=("weibo",))
    await rig.run()
    d = await rig.delivery()
    assert d.state == "paused" and "21332" in d.last_error


# ------------------------------------------------------------------------------- rate limits
async def test_rate_limits_back_off_until_the_hour_resets(rig: Rig) -> None:
    rig.sandbox.config.share_per_hour = 2
    rig.desk.clock.set(rig.desk.clock.now().replace(minute=40, second=0))
    for n in range(3):
        await rig.desk.publish([await rig.desk.approved("news", title=f"第 {n + 1} 条通知")], channels=("weibo",))
        await rig.run()
    d = await rig.delivery()
    assert d.state == "throttled" and "10024" in d.last_error
    now = rig.desk.clock.now()
    reset = (now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1) - now).total_seconds()
    wait = (d.next_attempt_at - now).total_seconds()
    assert reset <= wait <= reset + 10  # from account/rate_limit_status: the limit resets at the full hour
    assert len(rig.sandbox.timeline()) == 2
    await rig.due()
    await rig.run()
    assert (await rig.delivery()).state == "sent" and len(rig.sandbox.timeline()) == 3


@pytest.mark.parametrize("code", [10022, 10023])
async def test_ip_and_user_rate_limits_wait_and_go_on(rig: Rig, code: int) -> None:
    await rig.desk.publish([await rig.desk.approved("news", title="限流测试")], channels=("weibo",))
    rig.sandbox.inject("share", error_code=code)
    await rig.run()
    d = await rig.delivery()
    assert d.state == "throttled" and str(code) in d.last_error
    assert (d.next_attempt_at - rig.desk.clock.now()).total_seconds() > 60
    await rig.due()
    await rig.run()
    assert (await rig.delivery()).state == "sent"


async def test_the_bots_own_hourly_ceiling_holds_posts_back(rig: Rig) -> None:
    rig.settings.max_posts_per_hour = 2
    policy, interp = await rig.bundle()
    await rig.desk.publish([await rig.desk.approved("news", title="先发的一条")], channels=("weibo",))
    await rig.run()
    await rig.desk.publish([policy, interp], channels=("weibo",))
    await rig.run()
    d = await rig.delivery()
    assert d.state == "throttled" and "max_posts_per_hour" in d.last_error
    assert [p["item"] for p in d.progress["posts"]] == [policy]
    rig.desk.clock.advance(minutes=61)
    await rig.run()
    assert (await rig.delivery()).state == "sent" and len(rig.sandbox.timeline()) == 3


async def _drain(rig: Rig, hours: int) -> list[Delivery]:
    """Run the runner whenever the delivery is due, for up to ``hours`` simulated hours."""
    seen = []
    end = rig.desk.clock.now() + timedelta(hours=hours)
    while rig.desk.clock.now() < end:
        await rig.run()
        d = await rig.delivery()
        seen.append(d)
        if d.state in outbox.SETTLED:
            break
        await rig.due()
    return seen


async def _news(rig: Rig, n: int) -> list[int]:
    return [await rig.desk.approved("news", title=f"第 {i + 1} 条便民通知") for i in range(n)]


async def test_a_large_release_drains_under_the_bots_hourly_ceiling_without_failing(rig: Rig) -> None:
    rig.settings.max_posts_per_hour = 30
    rig.runner.settings.max_attempts = 2  # fewer than the three hourly waits the release needs
    await rig.desk.publish(await _news(rig, 100), channels=("weibo",))
    start = rig.desk.clock.now()
    await rig.run()
    assert len(rig.sandbox.timeline()) == 30 and (await rig.delivery()).state == "throttled"
    async with rig.desk.store.sessions() as s:
        [estimate] = await outbox.drain_estimates(s, rig.desk.clock.now())
    assert (estimate.remaining, estimate.per_window) == (70, 30)
    assert estimate.resumes_at == start + timedelta(hours=1)
    assert estimate.finishes_at == start + timedelta(hours=3)  # 30 + 30 + 30 + 10, an hour apart
    line = estimate.line(lambda t: rig.channel._local(t))
    assert "还有 70 条，每小时最多 30 条" in line and "预计 2026-11-20 13:05 发完" in line
    await rig.due()
    seen = await _drain(rig, hours=6)
    d = seen[-1]
    assert d.state == "sent", d.last_error
    assert len(rig.sandbox.timeline()) == 100
    assert "failed" not in [x.state for x in seen] and "retry" not in await rig.attempts()
    assert d.settled_at == estimate.finishes_at
    async with rig.desk.store.sessions() as s:
        assert await outbox.drain_estimates(s, rig.desk.clock.now()) == []


async def test_weibos_own_rate_limit_is_a_wait_and_a_large_release_drains(rig: Rig) -> None:
    rig.sandbox.config.share_per_hour = 30  # 10024 from Weibo itself, no ceiling of our own
    rig.runner.settings.max_attempts = 2
    await rig.desk.publish(await _news(rig, 100), channels=("weibo",))
    await rig.run()
    async with rig.desk.store.sessions() as s:
        [estimate] = await outbox.drain_estimates(s, rig.desk.clock.now())
    assert (estimate.remaining, estimate.per_window) == (70, 30)  # the limit read from rate_limit_status
    await rig.due()
    seen = await _drain(rig, hours=6)
    assert seen[-1].state == "sent", seen[-1].last_error
    assert len(rig.sandbox.timeline()) == 100
    assert "failed" not in [x.state for x in seen] and "retry" not in await rig.attempts()


# -------------------------------------------------------------------------------- duplicates
async def _post_by_hand(rig: Rig, item: int) -> str:
    """The same text posted through the same app outside this delivery (e.g. a release whose
    answer was lost and that staff then marked as not sent). Returns its idstr."""
    async with rig.desk.store.sessions() as s:
        [view] = await load_views(s, [item], revision="current")
    token = await rig.channel._token()
    posted = await rig.channel.api.share(token.access_token, rig.channel.composer.post(view).text, "10.1.1.1")
    return posted.idstr


async def test_a_repeat_within_the_window_is_found_on_the_timeline_not_failed(rig: Rig) -> None:
    item = await rig.desk.approved("news", title="重复发布测试")
    earlier = await _post_by_hand(rig, item)
    await rig.desk.publish([item], channels=("weibo",))
    await rig.run()
    d = await rig.delivery()
    assert rig.sandbox.state.refusals[-1].code == 20019
    assert d.state == "sent" and "（已存在）" in (await _last_detail(rig))
    assert d.receipt["posts"] == [{"item": item, "idstr": earlier}]
    assert len(rig.sandbox.timeline()) == 1


async def _last_detail(rig: Rig) -> str:
    async with rig.desk.store.sessions() as s:
        return await s.scalar(select(DeliveryAttempt.detail).order_by(DeliveryAttempt.id.desc()))


async def test_20111_identical_to_the_latest_post_is_reconciled(rig: Rig) -> None:
    rig.sandbox.config.duplicate_window = timedelta(minutes=3)
    item = await rig.desk.approved("news", title="与上一条相同")
    earlier = await _post_by_hand(rig, item)
    await rig.desk.publish([item], channels=("weibo",))  # five minutes later: outside the window
    await rig.run()
    assert rig.sandbox.state.refusals[-1].code == 20111
    d = await rig.delivery()
    assert d.state == "sent" and d.receipt["posts"] == [{"item": item, "idstr": earlier}]
    assert len(rig.sandbox.timeline()) == 1


async def test_similar_content_not_on_our_timeline_goes_to_staff_and_their_answer_is_applied(rig: Rig) -> None:
    policy, interp = await rig.bundle()
    await rig.desk.publish([policy, interp], channels=("weibo",))
    rig.sandbox.inject("share", error_code=20017)  # "similar content": nothing like it on our timeline
    await rig.run()
    d = await rig.delivery()
    assert d.state == "unknown" and "20017" in d.last_error
    assert f"gongkai delivery resolve {d.id} --sent" in d.last_error and "其余 1 条继续发送" in d.last_error
    assert d.progress["awaiting_operator"]["item"] == policy and d.progress["awaiting_operator"]["remaining"] == 1
    assert rig.sandbox.timeline() == []
    desk = rig.desk
    # Reconciling on its own posts nothing: the question stays with staff …
    await rig.due()
    await rig.run()
    d = await rig.delivery()
    assert d.state == "unknown" and rig.sandbox.timeline() == []
    # … staff checked the account and the policy's post is there (posted by hand): --sent.
    await desk.store.transaction(lambda s: outbox.resolve(s, d.id, sent=True, actor="李华", now=desk.clock.now()))
    d = await rig.delivery()
    assert d.state == "retry"  # the interpretation is still to go
    await rig.run()
    d = await rig.delivery()
    assert d.state == "sent", d.last_error
    assert [s.original[:6] for s in rig.sandbox.timeline()] == ["【政策解读】"]
    assert [(p["item"], p["how"]) for p in d.progress["posts"]] == [(policy, "operator"), (interp, "sent")]


# --------------------------------------------------------------------------------- too long
async def test_20012_fails_with_the_measured_length(rig: Rig) -> None:
    rig.sandbox.config.max_chars = 60  # Weibo counts more strictly than we do
    await rig.desk.publish([await rig.desk.approved("news", title="长度超限测试", summary=LONG_SUMMARY)],
                           channels=("weibo",))
    await rig.run()
    d = await rig.delivery()
    assert d.state == "failed" and "20012" in d.last_error
    length = rig.channel.composer.post((await _views(rig, d))[0]).length
    assert f"本地按微博规则计为 {length} 字" in d.last_error and 60 < length <= 140


async def _views(rig: Rig, d: Delivery):
    from content.models import ReleaseItem

    async with rig.desk.store.sessions() as s:
        ids = list(await s.scalars(select(ReleaseItem.item_id).where(ReleaseItem.release_id == d.release_id)))
        return await load_views(s, ids)


async def test_an_unfittable_text_is_refused_before_release_and_fails_without_a_call(rig: Rig) -> None:
    # Page addresses over 140 bytes count their length − 120 bytes: two of them leave no room.
    rig.channel.composer.site_url = SITE + "/" + "/".join(["zwgk"] * 60)
    policy, interp = await rig.bundle()
    async with rig.desk.store.sessions() as s:
        views = tuple(await load_views(s, [policy, interp], revision="current"))
    with pytest.raises(InputError) as err:
        await rig.channel.precheck(views, {})
    assert f"稿件 {interp}" in err.value.message and "超过 140 字上限" in err.value.message
    assert "--channels" in err.value.fix
    # Had it been released anyway, the policy goes and the interpretation fails with its length.
    await rig.desk.publish([policy, interp], channels=("weibo",))
    await rig.run()
    d = await rig.delivery()
    length = rig.channel.composer.post(views[1]).length
    assert d.state == "failed" and f"微博正文 {length} 字，超过 140 字上限" in d.last_error
    assert [s.original[:6] for s in rig.sandbox.timeline()] == ["【政策文件】"]
    assert rig.sandbox.state.refusals == []


async def test_a_link_outside_the_safe_domain_is_caught_before_weibo_refuses_it(rig: Rig) -> None:
    rig.channel.composer.domain = rig.channel.domain = "other.example.org"
    await rig.desk.publish([await rig.desk.approved("news", title="安全域名测试")], channels=("weibo",))
    await rig.run()
    d = await rig.delivery()
    assert d.state == "failed" and "安全域名 other.example.org" in d.last_error
    # and the emulator refuses such a text itself, as Weibo does (10017 text not find domain!)
    token = await rig.channel.tokens.get()
    answer = await rig.channel.api.share(token.access_token, "看这里 https://elsewhere.example.com/a.html", "10.0.0.1")
    assert answer.code == 10017 and answer.message == "text not find domain!"


# ----------------------------------------------------------------------- crashes and timeouts
async def test_a_lost_response_is_settled_from_the_timeline_without_reposting(rig: Rig) -> None:
    policy, interp = await rig.bundle()
    await rig.desk.publish([policy, interp], channels=("weibo",))
    rig.sandbox.inject("share", mode="lose_response", hold=5)  # posted, answer never arrives in time
    await rig.run()
    d = await rig.delivery()
    assert d.state == "unknown" and d.progress["inflight"]["item"] == policy
    assert len(rig.sandbox.timeline()) == 1
    await rig.due()
    await rig.run()  # reconcile: found on the timeline, then the interpretation goes
    d = await rig.delivery()
    assert d.state == "sent", d.last_error
    assert [s.original[:6] for s in rig.sandbox.timeline()] == ["【政策文件】", "【政策解读】"]
    assert [(p["item"], p["how"]) for p in d.progress["posts"]] == [(policy, "timeline"), (interp, "sent")]
    assert await rig.attempts() == ["unknown", "sent"]


async def test_without_the_timeline_an_unknown_outcome_waits_for_staff(rig: Rig) -> None:
    rig.settings.check_timeline = False
    policy, interp = await rig.bundle()
    await rig.desk.publish([policy, interp], channels=("weibo",))
    rig.sandbox.inject("share", mode="stall", hold=5)  # nothing posted, no answer in time
    await rig.run()
    await rig.due()
    await rig.run()
    d = await rig.delivery()
    assert d.state == "unknown" and "--not-sent" in d.last_error
    assert rig.sandbox.timeline() == []
    desk = rig.desk
    await desk.store.transaction(lambda s: outbox.resolve(s, d.id, sent=False, actor="李华", now=desk.clock.now()))
    await rig.run()
    d = await rig.delivery()
    assert d.state == "sent", d.last_error
    assert [s.original[:6] for s in rig.sandbox.timeline()] == ["【政策文件】", "【政策解读】"]


async def test_a_crash_between_bundle_posts_does_not_repost_the_first(rig: Rig) -> None:
    policy, interp = await rig.bundle()
    await rig.desk.publish([policy, interp], channels=("weibo",))
    rig.sandbox.inject("share", mode="stall", hold=30, skip=1)  # the second post hangs on its way
    worker = asyncio.create_task(rig.run())
    async def second_on_its_way() -> bool:  # its intent is recorded: the call has gone out
        return ((await rig.delivery()).progress.get("inflight") or {}).get("item") == interp

    await eventually(second_on_its_way)
    d = await rig.delivery()
    assert d.state == "in_progress" and [p["item"] for p in d.progress["posts"]] == [policy]
    worker.cancel()  # the process dies while the second post is on its way
    with pytest.raises(asyncio.CancelledError):
        await worker
    rig.desk.clock.advance(seconds=61)  # the dead worker's lease lapses; a restarted bot takes over
    restarted = Runner(rig.desk.store, {"weibo": rig.channel}, rig.desk.clock,
                       DeliverySettings(lease_seconds=60), node="n2")
    assert await restarted.run_once() == 1
    d = await rig.delivery()
    assert d.state == "sent", d.last_error
    assert [s.original[:6] for s in rig.sandbox.timeline()] == ["【政策文件】", "【政策解读】"]
    assert [p["item"] for p in d.progress["posts"]] == [policy, interp]


async def test_a_crash_after_weibo_posted_but_before_the_answer_is_found_not_reposted(rig: Rig) -> None:
    item = await rig.desk.approved("news", title="崩溃测试")
    await rig.desk.publish([item], channels=("weibo",))
    rig.sandbox.inject("share", mode="lose_response", hold=30)
    worker = asyncio.create_task(rig.run())
    async def posted() -> bool:
        return bool(rig.sandbox.timeline())

    await eventually(posted)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    rig.desk.clock.advance(seconds=61)
    await rig.run()
    assert (await rig.delivery()).state == "sent"
    assert len(rig.sandbox.timeline()) == 1


async def test_weibo_unreachable_is_retried(rig: Rig) -> None:
    rig.channel.api.base = "http://127.0.0.1:9"  # nothing listens there
    await rig.desk.publish([await rig.desk.approved("news", title="连接失败测试")], channels=("weibo",))
    await rig.channel.tokens.save("2.00fake", "1", 3600, now=rig.desk.clock.now())
    await rig.run()
    d = await rig.delivery()
    assert d.state == "retry" and "无法连接" in d.last_error and "inflight" not in d.progress


# ------------------------------------------------------------------------------- other purposes
async def test_a_retraction_names_the_posts_to_delete_by_hand(rig: Rig) -> None:
    from content import workflow
    from schedules import releases

    item = await rig.desk.approved("news", title="将被撤回的稿件")
    await rig.desk.publish([item], channels=("weibo",))
    await rig.run()
    idstr = rig.sandbox.timeline()[0].idstr
    desk = rig.desk

    async def retract(s):
        await workflow.retract(s, item, actor="bob", now=desk.clock.now(), reason="内容有误")
        return await releases.create_followup(s, "retract", [item], channels=["weibo"], actor="bob",
                                              now=desk.clock.now(), reason="内容有误")

    release = await desk.store.transaction(retract)
    await desk.fire(release.id)
    await rig.run()
    d = await rig.delivery()
    assert d.release_id == release.id
    assert d.state == "failed" and idstr in d.last_error and "手动删除" in d.last_error
    assert f"gongkai delivery resolve {d.id} --done --note" in d.last_error
    # Staff delete the post by hand and close the delivery with a note; it leaves the board.
    with pytest.raises(WorkflowError) as refused:
        await desk.store.transaction(lambda s: outbox.resolve(s, d.id, sent=True, actor="李华", now=desk.clock.now()))
    assert f"gongkai delivery resolve {d.id} --done" in refused.value.fix
    with pytest.raises(InputError):
        await desk.store.transaction(lambda s: outbox.close(s, d.id, actor="李华", now=desk.clock.now(), note=" "))
    assert (await rig.delivery()).state == "failed"
    await desk.store.transaction(lambda s: outbox.close(s, d.id, actor="李华", now=desk.clock.now(),
                                                        note="已人工删除微博"))
    d = await rig.delivery()
    assert d.state == "resolved" and d.state not in outbox.ATTENTION and idstr in d.last_error
    assert await rig.run() == 0
    async with desk.store.sessions() as s:
        event = await s.scalar(select(AuditEvent).where(AuditEvent.action == "delivery_closed"))
    assert (event.actor, event.reason, event.detail["delivery"]) == ("李华", "已人工删除微博", d.id)
    assert (await rig.attempts())[-1] == "resolved"


async def test_precheck_warns_about_shortened_texts_and_a_token_expiring_before_the_release(rig: Rig) -> None:
    item = await rig.desk.approved("news", title="长摘要的稿件", summary=LONG_SUMMARY * 2)
    async with rig.desk.store.sessions() as s:
        views = tuple(await load_views(s, [item], revision="current"))
    await rig.channel._token()  # the sandbox token: 7 days
    now = rig.desk.clock.now()
    warnings = await rig.channel.precheck(views, {"due_at": now + timedelta(days=8)})
    assert any(f"稿件 {item} 的摘要已缩短" in w and "post preview" in w for w in warnings)
    assert any("早于发布时刻" in w for w in warnings)
    assert not any("早于发布时刻" in w for w in await rig.channel.precheck(views, {"due_at": now + timedelta(days=1)}))
