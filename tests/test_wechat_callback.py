"""The WeChat server callback: the official WXBizMsgCrypt vector through the bot's handling, the
URL check, plain and safe mode, and every way a request is refused (forged, replayed, stale,
oversized, entity-laden, for another appid) with 403 and nothing recorded. Requests are signed
by the emulator's own code (the platform's side), never by the bot's."""
from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import aiohttp
import pytest
from sqlalchemy import func, select

from channels.sandbox.wechat.crypto import MessageCrypt, sha1_signature
from channels.sandbox.wechat.events import follow_event, message
from channels.wechat.models import WechatNonce
from content.models import AuditEvent, Subscriber
from tests.wechat_support import NOTIFYING, World

VECTOR_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
VECTOR_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVA"
    "FmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSny"
    "U8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszT"
    "fRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9e"
    "hVsNPfUM669WuMyVWQLCzpu9GhglF2PE=")


@pytest.fixture
async def world(database_url, tmp_path, clock):  # noqa: ANN001, ANN201
    w = await World.start(database_url, tmp_path, clock)
    yield w
    await w.stop()


async def post(world: World, params: dict[str, str], body: str | bytes) -> tuple[int, str]:
    data = body.encode() if isinstance(body, str) else body
    async with aiohttp.ClientSession() as http, http.post(f"{world.url}/wechat/callback", params=params,
                                                          data=data) as resp:
        return resp.status, await resp.text()


async def recorded(world: World) -> tuple[int, int, int]:
    async with world.service.store.sessions() as s:
        return (await s.scalar(select(func.count()).select_from(Subscriber)),
                await s.scalar(select(func.count()).select_from(WechatNonce)),
                await s.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action.like("wechat_%"))))


def subscribe_xml(world: World, openid: str) -> str:
    return message(world.emulator.config, openid, int(world.clock.now().timestamp()), follow_event("subscribe"))


async def test_the_official_vector_passes_through_the_callback(database_url, tmp_path) -> None:  # noqa: ANN001
    from content.clock import FixedClock

    clock = FixedClock(datetime.fromtimestamp(1409735669, UTC))
    world = await World.start(database_url, tmp_path, clock, wechat={
        "app_id": "wx2c2769f8efd9abc2", "token": "spamtest", "encoding_aes_key": VECTOR_KEY,
        "original_id": "gh_10f6c3c3ac5a"})
    try:
        params = {"signature": hashlib.sha1("".join(sorted(["spamtest", "1409735669", "1320562132"])).encode()).hexdigest(),
                  "timestamp": "1409735669", "nonce": "1320562132", "openid": "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
                  "encrypt_type": "aes", "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa"}
        body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt></xml>"
        status, text = await post(world, params, body)
        assert status == 200
        # The reply is encrypted for the same account; the emulator's own crypto opens it.
        crypt = MessageCrypt("spamtest", VECTOR_KEY, "wx2c2769f8efd9abc2")
        fields = dict(re.findall(r"<(Encrypt|MsgSignature|TimeStamp|Nonce)>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</\1>", text))
        assert fields["Nonce"] == "1320562132"
        assert crypt.msg_signature(fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]) == fields["MsgSignature"]
        inner = crypt.decrypt(fields["Encrypt"])
        assert "<ToUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></ToUserName>" in inner
        assert world.settings.channels.wechat.default_reply in inner
        status, _ = await post(world, params, body)
        assert status == 403  # the same request again is a replay
    finally:
        await world.stop()


async def test_url_verification_echoes_only_a_signed_fresh_request(world: World) -> None:
    token = world.channel.creds.token
    ts = str(int(world.clock.now().timestamp()))
    good = {"signature": sha1_signature(token, ts, "123"), "timestamp": ts, "nonce": "123", "echostr": "4242"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/wechat/callback", params=good) as resp:
            assert resp.status == 200 and await resp.text() == "4242"
        async with http.get(f"{world.url}/wechat/callback", params={**good, "signature": "0" * 40}) as resp:
            assert resp.status == 403
        stale = str(int(ts) - 301)
        async with http.get(f"{world.url}/wechat/callback", params={
                **good, "timestamp": stale, "signature": sha1_signature(token, stale, "123")}) as resp:
            assert resp.status == 403


async def test_follow_and_unfollow_in_safe_mode(world: World) -> None:
    openid, posted = await world.emulator.follow()
    assert posted.status == 200 and posted.reply["_encrypted"] == "1"
    assert "回复“解读”" in posted.reply["Content"]
    sub = await world.subscriber(openid)
    assert sub.status == "active" and sub.consent_method == "wechat_follow" and sub.consent_at
    posted = await world.emulator.unfollow(openid)
    assert posted.status == 200
    sub = await world.subscriber(openid)
    assert sub.status == "unsubscribed" and sub.unsubscribed_at
    async with world.service.store.sessions() as s:
        actions = list(await s.scalars(select(AuditEvent.action).where(AuditEvent.actor == f"wechat:{openid}")))
    assert actions == ["wechat_follow", "wechat_unfollow"]


async def test_plain_mode(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={"message_mode": "plain"})
    try:
        assert world.emulator.poster.crypt is None
        openid, posted = await world.emulator.follow()
        assert posted.status == 200 and "_encrypted" not in posted.reply and posted.reply["Content"]
        assert (await world.subscriber(openid)).status == "active"
    finally:
        await world.stop()


async def test_a_plain_message_is_refused_in_safe_mode(world: World) -> None:
    ts = str(int(world.clock.now().timestamp()))
    params = {"signature": sha1_signature(world.channel.creds.token, ts, "77"), "timestamp": ts, "nonce": "77"}
    status, _ = await post(world, params, subscribe_xml(world, "o" + "x" * 27))
    assert status == 403 and await recorded(world) == (0, 0, 0)


@pytest.mark.parametrize("forgery", ["signature", "msg_signature", "ciphertext", "appid", "timestamp",
                                     "oversized", "entity", "entity_inside", "another_account"])
async def test_forged_or_invalid_requests_get_403_and_change_nothing(world: World, forgery: str) -> None:
    openid = "o" + "f" * 27
    poster = world.emulator.poster
    params, body = poster.sign(subscribe_xml(world, openid), openid)
    if forgery == "signature":
        params["signature"] = "0" * 40
    elif forgery == "msg_signature":
        params["msg_signature"] = "0" * 40
    elif forgery == "ciphertext":
        body = body.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA")
    elif forgery == "appid":  # signed correctly, but encrypted for another account
        other = MessageCrypt(world.channel.creds.token, world.channel.creds.encoding_aes_key, "wx0000000000000000")
        body, params["msg_signature"] = other.envelope(subscribe_xml(world, openid), params["timestamp"],
                                                       params["nonce"], "gh_x")
    elif forgery == "timestamp":
        world.clock.advance(minutes=6)
    elif forgery == "oversized":
        body = body.replace("</xml>", "<Pad>" + "x" * 70000 + "</Pad></xml>")
    elif forgery == "entity":
        body = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
                + body)
    elif forgery == "entity_inside":  # validly signed and encrypted, with a DTD in the plaintext
        params, body = poster.sign('<!DOCTYPE xml [<!ENTITY a "x">]>' + subscribe_xml(world, openid), openid)
    elif forgery == "another_account":  # validly signed, addressed to another official account
        world.emulator.config.original_id = "gh_someoneelse"
        params, body = poster.sign(subscribe_xml(world, openid), openid)
    status, text = await post(world, params, body)
    assert status == 403 and text == "forbidden"
    assert await recorded(world) == (0, 0, 0)


async def test_a_replayed_request_is_refused_and_recorded_once(world: World) -> None:
    openid = "o" + "r" * 27
    params, body = world.emulator.poster.sign(subscribe_xml(world, openid), openid)
    assert (await post(world, params, body))[0] == 200
    assert (await post(world, params, body))[0] == 403
    subs, nonces, events = await recorded(world)
    assert (subs, nonces, events) == (1, 1, 1)


async def test_keyword_replies(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat=NOTIFYING)  # a 服务号 with reminders
    try:
        await _keyword_replies(world)
    finally:
        await world.stop()


async def _keyword_replies(world: World) -> None:
    policy = await world.desk.approved("policy", "关于戊的通知", column="政策文件")
    interp = await world.desk.approved("interpretation", "戊的政策解读", interprets=policy, summary="三问三答")
    await world.release([policy, interp])  # published at once; WeChat delivery not needed here
    openid, _ = await world.emulator.follow()
    posted = await world.emulator.say(openid, "解读")
    assert posted.reply["MsgType"] == "news" and posted.reply["_encrypted"] == "1"
    [article] = posted.reply["Articles"]
    assert article["Title"] == "戊的政策解读" and article["Description"] == "三问三答"
    assert article["Url"].endswith(f"/items/{interp}.html")

    posted = await world.emulator.say(openid, "订阅 不存在的栏目")
    assert "没有名为“不存在的栏目”的栏目" in posted.reply["Content"] and "政策文件" in posted.reply["Content"]
    posted = await world.emulator.say(openid, "订阅 政策文件")
    assert "已订阅“政策文件”" in posted.reply["Content"]
    posted = await world.emulator.say(openid, "订阅 全部")
    assert "当前订阅：全部、政策文件" in posted.reply["Content"] or "当前订阅：政策文件、全部" in posted.reply["Content"]
    from content import subscribers

    async with world.service.store.sessions() as s:
        sub = await subscribers.get(s, "wechat", openid)
        assert set(await subscribers.topics_of(s, sub.id)) == {"政策文件", "all"}
    posted = await world.emulator.say(openid, "退订")
    assert "已退订全部提醒" in posted.reply["Content"]
    async with world.service.store.sessions() as s:
        assert await subscribers.topics_of(s, sub.id) == []
    posted = await world.emulator.say(openid, "你好")
    assert posted.reply["Content"] == world.settings.channels.wechat.default_reply


async def test_a_duplicate_publish_event_changes_nothing(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock, wechat={"notify": "off"})
    try:
        await world.release([await world.desk.approved("news", "己")])
        await world.run()
        [posted] = [await world.emulator.complete(k) for k in list(world.emulator.state.publications)]
        d = await world.delivery()
        assert d.state == "sent" and posted.status == 200
        pub = world.emulator.state.publications[d.receipt["publish_id"]]
        from channels.sandbox.wechat import events

        again = await world.emulator.poster.post("PUBLISHJOBFINISH", world.emulator.admin_openid,
                                                 events.publish_finished(pub, []))
        assert again.status == 200
        assert len(await world.attempts(d.id)) == 2 and (await world.delivery()).receipt == d.receipt
    finally:
        await world.stop()


@pytest.mark.parametrize("event", ["FREEPUBLISHJOBFINISH", "MASSSENDJOBFINISH"])
async def test_the_publish_event_variants_settle_the_publication(database_url, tmp_path, clock,  # noqa: ANN001
                                                                 event: str) -> None:
    world = await World.start(database_url, tmp_path, clock, wechat={"notify": "off"})
    try:
        world.emulator.config.callback_url = ""  # the emulator's own event is not sent …
        await world.release([await world.desk.approved("news", "庚")])
        await world.run()
        await world.emulator.complete_pending()
        d = await world.delivery()
        assert d.state == "submitted"
        pub = world.emulator.state.publications[d.receipt["publish_id"]]
        from channels.sandbox.wechat import events

        body = events.publish_finished(pub, [pub.url(world.emulator.config.public_url, 1)])
        world.emulator.config.callback_url = f"{world.url}/wechat/callback"  # … this variant is
        posted = await world.emulator.poster.post(event, world.emulator.admin_openid,
                                                  body.replace("PUBLISHJOBFINISH", event))
        assert posted.status == 200
        d = await world.delivery()
        assert d.state == "sent" and d.receipt["article_id"] == pub.article_id
    finally:
        await world.stop()


async def test_without_reminders_the_account_does_not_offer_them(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    """A 订阅号 cannot send template reminders (notify = "off" by default): replies must not
    promise subscriptions that would never notify anyone."""
    world = await World.start(database_url, tmp_path, clock, wechat={"notify": "off"})
    try:
        openid, followed = await world.emulator.follow()
        assert "订阅" not in followed.reply["Content"] and "解读" in followed.reply["Content"]
        posted = await world.emulator.say(openid, "订阅 全部")
        assert "暂未开通栏目更新提醒" in posted.reply["Content"]
        from content import subscribers

        async with world.service.store.sessions() as s:
            sub = await subscribers.get(s, "wechat", openid)
            assert await subscribers.topics_of(s, sub.id) == []  # nothing recorded
        posted = await world.emulator.say(openid, "你好")
        assert "订阅" not in posted.reply["Content"]
    finally:
        await world.stop()
