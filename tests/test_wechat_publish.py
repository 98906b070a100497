"""Releases on WeChat against the sandbox emulator: the article's content, cover and source link;
a bundle as one multi-article publication; asynchronous results by event and by polling;
failures; token expiry in the middle of a run; retraction and correction."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot import outbox
from tests.wechat_support import NOTIFYING, World, image_file

LONG_TITLE = "关于进一步优化营商环境推行政务服务“一网通办”和“跨省通办”若干措施的通知"


@pytest.fixture
async def world(database_url, tmp_path, clock):  # noqa: ANN001, ANN201
    w = await World.start(database_url, tmp_path, clock)
    yield w
    await w.stop()


async def test_a_release_becomes_a_published_article(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat=NOTIFYING)
    try:
        await _publishes_an_article(world, tmp_path)
    finally:
        await world.stop()


async def _publishes_an_article(world: World, tmp_path) -> None:  # noqa: ANN001
    chart = image_file(tmp_path / "chart.png")
    cover = image_file(tmp_path / "cover.jpg", (1600, 900), (200, 30, 30), "JPEG")
    item = await world.desk.approved(
        "policy", LONG_TITLE, summary="推行线上办理，压缩办理时限。",
        body=f"## 一、目标\n\n到年底实现线上办理。\n\n![办理流程]({chart})\n\n"
             "参见[外部网站](http://example.com/x)。\n\n<script>alert(1)</script>",
        cover=cover.name, images=[{"path": chart.name, "alt": "办理流程"}], folder=tmp_path)
    release = await world.release([item])
    await world.run()
    d = await world.delivery()
    assert d.state == "submitted" and d.receipt["publish_id"]
    assert world.publications()[0]["status"] == 1  # publishing, as on the real platform

    await world.emulator.complete_pending()  # the platform finishes and posts PUBLISHJOBFINISH
    assert (await world.publication(d.id)).status == "published"
    assert (await world.delivery()).next_attempt_at == world.clock.now()  # woken for notifications
    await world.run()
    d = await world.delivery()
    assert d.state == "sent", d.last_error
    assert "没有订阅相关主题的粉丝" in (await world.attempts(d.id))[-1].detail
    pub = world.publications()[0]
    assert d.receipt["url"] == pub["urls"][0] and d.receipt["article_id"] == pub["article_id"]

    article = world.emulator.state.publications[pub["key"]].articles[0]
    assert len(article["title"]) <= 32 and article["title"].startswith("进一步优化营商环境")
    assert LONG_TITLE in article["content"]  # the full title opens the content
    assert "京政服发〔2026〕12号" in article["content"] and "到年底实现线上办理" in article["content"]
    assert article["content_source_url"] == f"{world.url}/items/{item}.html"
    assert article["digest"] == "推行线上办理，压缩办理时限。"
    assert article["removed"] == {}  # nothing WeChat would have to strip: no script, no external link
    assert "example.com" not in article["content"] and "外部网站" in article["content"]
    assert len(article["images"]) == 1 and article["images"][0].startswith(f"{world.url}/sandbox/wechat/mmbiz/")
    thumb = world.emulator.state.media[article["thumb_media_id"]]
    assert thumb["type"] == "thumb" and thumb["size"] <= 64 * 1024
    import io

    from PIL import Image

    picture = Image.open(io.BytesIO(world.emulator.state.load_file(thumb["name"])))
    assert picture.format == "JPEG" and max(picture.size) <= 900
    r, g, b = picture.convert("RGB").getpixel((picture.width // 2, picture.height // 2))
    assert r > 160 and g < 70 and b < 70  # the item's red cover
    assert release


async def test_with_notifications_off_the_event_itself_settles_the_delivery(database_url, tmp_path,  # noqa: ANN001
                                                                           clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={"notify": "off"})
    try:
        item = await world.desk.approved("news", "动态")
        await world.release([item])
        await world.run()
        await world.emulator.complete_pending()
        d = await world.delivery()
        assert d.state == "sent" and d.receipt["url"]
        attempts = await world.attempts(d.id)
        assert [a.outcome for a in attempts] == ["submitted", "sent"] and attempts[1].worker == "wechat-callback"
    finally:
        await world.stop()


async def test_a_bundle_is_one_multi_article_publication_policy_first(world: World) -> None:
    policy = await world.desk.approved("policy", "关于推行一网通办的通知")
    interp = await world.desk.approved("interpretation", "一图读懂一网通办", interprets=policy)
    await world.release([interp, policy])
    d = await world.until_settled()
    assert d.state == "sent"
    pubs = world.publications()
    assert len(pubs) == 1 and pubs[0]["titles"] == ["关于推行一网通办的通知", "一图读懂一网通办"]
    assert d.receipt["items"] == [policy, interp] and len(d.receipt["urls"]) == 2
    assert world.emulator.state.summary()["drafts"] == 0  # the published draft left the draft box


async def test_without_the_event_the_delivery_is_settled_by_polling(world: World) -> None:
    world.emulator.config.callback_url = ""  # the platform's event never arrives
    item = await world.desk.approved("news", "动态")
    await world.release([item])
    await world.run()
    await world.emulator.complete_pending()
    assert (await world.delivery()).state == "submitted"
    d = await world.until_settled()
    assert d.state == "sent" and d.receipt["url"].startswith(f"{world.url}/sandbox/wechat/s/")
    assert world.channel.api.calls["freepublish/get"] >= 1


async def test_a_failure_event_fails_the_delivery_with_the_reason(world: World) -> None:
    policy = await world.desk.approved("policy", "关于甲的通知")
    interp = await world.desk.approved("interpretation", "甲的解读", interprets=policy)
    world.emulator.faults.fail_next_publish(status=4, fail_idx=[2])
    await world.release([policy, interp])
    d = await world.until_settled()
    assert d.state == "failed"
    assert "平台审核不通过" in d.last_error and f"第 2 篇（稿件 {interp}）" in d.last_error


async def test_token_expiry_in_the_middle_of_a_run_costs_one_refresh(world: World, tmp_path) -> None:  # noqa: ANN001
    pictures = [image_file(tmp_path / f"p{n}.png", (400, 300), (n * 40, 90, 160)) for n in range(3)]
    item = await world.desk.approved("news", "有三张图的动态", body="".join(f"![图]({p})\n\n" for p in pictures),
                                     images=[{"path": p.name} for p in pictures], folder=tmp_path)
    world.emulator.faults.expire_tokens(after_calls=2)  # after the second call, the token expires
    await world.release([item])
    d = await world.until_settled()
    assert d.state == "sent", d.last_error
    assert world.channel.api.tokens.fetches == 2  # the first token, one refresh, no loop
    assert world.channel.api.calls["stable_token"] == 2


async def test_a_token_the_platform_keeps_rejecting_is_retried_once_then_paused(world: World) -> None:
    item = await world.desk.approved("news", "动态")
    world.emulator.faults.reject_all_tokens = True
    await world.release([item])
    await world.run()
    d = await world.delivery()
    assert d.state == "paused" and "刷新令牌并重试一次后仍被拒绝" in d.last_error
    assert world.channel.api.calls["media/uploadimg"] + world.channel.api.calls["material/add_material"] == 2
    world.emulator.faults.reject_all_tokens = False
    world.clock.set(d.next_attempt_at)
    assert (await world.until_settled()).state == "sent"


@pytest.mark.parametrize("code, words, state", [
    (40164, "IP 白名单", "paused"), (45009, "今日上限", "throttled"), (45002, "正文超过长度限制", "failed")])
async def test_platform_errors_become_outcomes_staff_understand(world: World, code: int, words: str,
                                                                state: str) -> None:
    item = await world.desk.approved("news", "动态")
    world.emulator.faults.errcode("draft/add", code)
    await world.release([item])
    await world.run()
    d = await world.delivery()
    assert d.state == state and words in d.last_error and str(code) in d.last_error
    assert world.publications() == []


@pytest.mark.parametrize("code", [-1, 45011])
async def test_a_busy_or_rate_limited_platform_is_waited_for_however_often_it_answers_so(
        world: World, code: int) -> None:
    item = await world.desk.approved("news", "动态")
    world.emulator.faults.errcode("draft/add", code, times=8)  # more answers than max_attempts (5)
    await world.release([item])
    d = await world.until_settled()
    assert d.state == "sent", d.last_error
    outcomes = [a.outcome for a in await world.attempts(d.id)]
    assert outcomes.count("throttled") == 8 and "retry" not in outcomes


async def test_the_daily_api_quota_waits_until_the_next_day_and_goes_on(world: World) -> None:
    item = await world.desk.approved("news", "动态")
    world.emulator.faults.errcode("draft/add", 45009)
    await world.release([item])
    await world.run()
    d = await world.delivery()
    local = d.next_attempt_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert d.state == "throttled" and (local.hour, local.minute) == (0, 5)
    async with world.service.store.sessions() as s:
        [estimate] = await outbox.drain_estimates(s, world.clock.now())
    assert estimate.finishes_at == d.next_attempt_at and estimate.remaining is None
    assert (await world.until_settled()).state == "sent"


async def test_retract_deletes_only_that_article_of_the_bundle(world: World) -> None:
    policy = await world.desk.approved("policy", "关于乙的通知")
    interp = await world.desk.approved("interpretation", "乙的解读", interprets=policy)
    await world.release([policy, interp])
    assert (await world.until_settled()).state == "sent"
    from content import workflow
    from schedules import releases

    now = world.clock.now()
    await world.service.store.transaction(lambda s: workflow.retract(s, interp, actor="carol", now=now,
                                                                     reason="已被新解读替代"))
    rel = await world.service.store.transaction(lambda s: releases.create_followup(
        s, "retract", [interp], channels=["wechat"], actor="carol", now=now, reason="已被新解读替代"))
    await world.desk.fire(rel.id)
    d = await world.until_settled()
    assert d.state == "sent" and "第 2 篇" in (await world.attempts(d.id))[-1].detail
    pub = world.publications()[0]
    assert pub["deleted"] == [2]
    assert world.emulator.state.publications[pub["key"]].status == 0  # the policy stays


async def test_a_correction_is_republished_with_a_notice_linking_the_original(world: World) -> None:
    from content import frontmatter, workflow
    from schedules import releases

    item = await world.desk.approved("news", "丙的动态", body="日期为 11 月 3 日。")
    await world.release([item])
    first = await world.until_settled()
    original = first.receipt["url"]
    now = world.clock.now()
    draft = frontmatter.build({"kind": "news", "title": "丙的动态", "department": "市政务服务局"},
                              "日期为 11 月 5 日。")
    await world.service.store.transaction(lambda s: workflow.correct(
        s, item, draft, actor="alice", now=now, files=world.desk.files, note="更正日期"))
    await world.desk.approve(item)
    rel = await world.service.store.transaction(lambda s: releases.create_followup(
        s, "correct", [item], channels=["wechat"], actor="alice", now=now, reason="更正日期"))
    await world.desk.fire(rel.id)
    d = await world.until_settled()
    assert d.state == "sent"
    pubs = world.publications()
    assert len(pubs) == 2
    content = world.emulator.state.publications[pubs[1]["key"]].articles[0]["content"]
    assert "更正说明" in content and "更正日期" in content and "11 月 5 日" in content
    assert f'href="{original}"' in content  # the link to the original survives WeChat's filter
    assert world.emulator.state.publications[pubs[1]["key"]].articles[0]["removed"] == {}


async def test_preview_shows_the_title_rule_and_the_checks(world: World) -> None:
    item = await world.desk.approved("policy", LONG_TITLE)
    from content.views import load_views

    async with world.service.store.sessions() as s:
        views = await load_views(s, [item], revision="current")
    [r] = world.channel.render(tuple(views), {})
    assert r.ok and "去掉开头的“关于”" in " ".join(r.notes)
    assert {c.name for c in r.checks} == {"标题", "作者", "摘要", "正文"}
    assert r.text.startswith("一次发布 1 篇图文") and "阅读原文：" in r.text


async def test_the_configured_default_cover_is_used_for_an_item_without_images(database_url, tmp_path,  # noqa: ANN001
                                                                              clock) -> None:  # noqa: ANN001
    import io

    from PIL import Image

    cover = image_file(tmp_path / "default.png", (2000, 1000), (10, 160, 60))
    world = await World.start(database_url, tmp_path, clock, wechat={"default_cover": str(cover)})
    try:
        await world.release([await world.desk.approved("news", "没有图片的动态")])
        d = await world.until_settled()
        article = world.emulator.state.publications[d.receipt["publish_id"]].articles[0]
        thumb = world.emulator.state.media[article["thumb_media_id"]]
        data = world.emulator.state.load_file(thumb["name"])
        assert data[:3] == b"\xff\xd8\xff" and len(data) <= 64 * 1024
        image = Image.open(io.BytesIO(data))
        r, g, b = image.convert("RGB").getpixel((image.width // 2, image.height // 2))
        assert g > 120 and r < 60 and b < 100  # the configured green cover, converted
    finally:
        await world.stop()


async def test_the_basic_token_api_works_too(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={"token_api": "basic", "notify": "off"})
    try:
        await world.release([await world.desk.approved("news", "动态")])
        assert (await world.until_settled()).state == "sent"
        assert world.channel.api.calls["token"] == 1 and world.channel.api.calls["stable_token"] == 0
    finally:
        await world.stop()


async def test_a_preview_goes_to_one_follower_only(world: World) -> None:
    openid = world.emulator.add_followers(1)[0]
    from content.views import load_views

    item = await world.desk.approved("news", "预览的动态")
    async with world.service.store.sessions() as s:
        views = tuple(await load_views(s, [item], revision="current"))
    msg_id = await world.channel.publisher.preview(views, openid)
    [pub] = world.publications()
    assert pub["preview"] and str(pub["msg_id"]) == msg_id and pub["recipients"] == 1
    assert world.pushes() == [] and world.emulator.state.summary()["drafts"] == 1  # no quota used


async def test_an_item_too_long_for_wechat_is_refused_before_the_release_is_stored(world: World) -> None:
    from content.errors import InputError

    item = await world.desk.approved("news", "很长的动态", body="很长的正文。" * 4000)
    with pytest.raises(InputError, match="正文有 .* 字符，超过微信的上限"):
        await world.service.precheck(["wechat"], [item], {}, world.clock.now())
