"""The public side: /subscribe (a 6-digit code by SMS, 10 minutes, 5 tries, abuse limits, answers
that never reveal whether a number is subscribed), the signed one-click unsubscribe link,
unsubscribing by replying TD, and the providers' callbacks refusing forgeries."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from channels.sms.phone import normalise
from content.clock import FixedClock
from tests.test_sms_kit import SmsBot, start_bot


@pytest.fixture
async def bot(tmp_path: Path, database_url: str, clock: FixedClock) -> AsyncIterator[SmsBot]:
    b = await start_bot(tmp_path, database_url, clock)
    yield b
    await b.close()


async def post(bot: SmsBot, path: str, data: dict | list, headers: dict | None = None) -> tuple[int, str]:
    async with bot.http.post(bot.base + path, data=data, headers=headers or {}, allow_redirects=False) as r:
        return r.status, await r.text()


def form(number: str, *topics: str, agree: bool = True) -> list[tuple[str, str]]:
    return [("phone", number)] + [("topic", t) for t in topics] + ([("agree", "yes")] if agree else [])


async def codes_received(bot: SmsBot, number: str) -> list[str]:
    number = normalise(number)
    return [re.search(r"验证码为(\d{6})", t).group(1) for t in await bot.inbox(number) if "验证码" in t]


async def subscribe(bot: SmsBot, number: str, *topics: str) -> str:
    status, page = await post(bot, "/subscribe", form(number, *topics))
    assert status == 200, page
    code = (await codes_received(bot, number))[-1]
    status, page = await post(bot, "/subscribe/confirm", {"phone": number, "code": code})
    assert status == 200 and "订阅成功" in page
    return page


class Labels(HTMLParser):
    """Collects form controls and the labels that name them."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict] = []
        self.labels: set[str] = set()
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("type") != "hidden":
            self.inputs.append(a)
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag == "script":
            self.scripts += 1


async def test_the_page_is_chinese_accessible_and_needs_no_javascript(bot: SmsBot) -> None:
    async with bot.http.get(bot.base + "/subscribe") as r:
        assert r.status == 200
        page = await r.text()
    assert '<html lang="zh-CN">' in page and "短信订阅" in page
    parsed = Labels()
    parsed.feed(page)
    assert parsed.scripts == 0
    assert all(i["id"] in parsed.labels for i in parsed.inputs)  # every control has a label
    assert '<fieldset id="topics"' in page and "<legend>" in page
    assert 'autocomplete="tel"' in page and 'value="all"' in page and 'value="emergency"' in page
    status, page = await post(bot, "/subscribe", form("1381234", "all"))
    assert status == 400 and 'role="alert"' in page and 'href="#phone"' in page
    assert 'aria-invalid="true"' in page and "11 位" in page and 'value="1381234"' in page
    status, page = await post(bot, "/subscribe", form("13812345678"))
    assert status == 400 and "请至少选择一项订阅内容" in page
    status, page = await post(bot, "/subscribe", form("13812345678", "all", agree=False))
    assert status == 400 and "请勾选同意接收短信" in page
    assert bot.center.total() == 0 and await bot.subscriber("+8613812345678") is None


async def test_subscribe_confirm_then_receive(bot: SmsBot) -> None:
    page = await subscribe(bot, "138 1234 5678", "all", "emergency")
    sub = await bot.subscriber("+8613812345678")
    assert sub.status == "active" and sub.consent_method == "web-sms-code" and sub.consent_from == "127.0.0.1"
    assert "全部信息、突发事件与紧急通知" in page and "/unsubscribe?t=" in page and "13812345678" not in page
    await bot.publish("news", "关于开展政务公开日活动的通知")
    await bot.runner().run_once()
    texts = await bot.inbox("+8613812345678")
    assert texts[-1] == "【政务公开】市政务服务局发布了《关于开展政务公开日活动的通知》，详见政务公开网站。"
    assert texts[0].startswith("【政务公开】您的验证码为")


async def test_answers_never_reveal_whether_a_number_is_subscribed(bot: SmsBot) -> None:
    await bot.add_subscribers({"+8613800000001": ["all"]})
    await bot.add_subscribers({"+8613800000002": ["all"]}, status="blocked")
    pages = []
    for n in (1, 2, 3):
        status, page = await post(bot, "/subscribe", form(f"1380000000{n}", "工作动态"))
        pages.append((status, page.replace(f"138****000{n}", "MASK").replace(f"1380000000{n}", "NUM")))
    assert pages[0] == pages[1] == pages[2] and pages[0][0] == 200
    assert "如果该号码可以订阅" in pages[0][1]
    assert len(await codes_received(bot, "+8613800000001")) == 1
    assert await codes_received(bot, "+8613800000002") == []  # a blocked number gets nothing, silently


async def test_codes_expire_and_allow_five_tries(bot: SmsBot) -> None:
    await post(bot, "/subscribe", form("13812340001", "all"))
    code = (await codes_received(bot, "+8613812340001"))[0]
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        status, page = await post(bot, "/subscribe/confirm", {"phone": "13812340001", "code": wrong})
        assert status == 400 and f"还可以再试 {left} 次" in page
    status, page = await post(bot, "/subscribe/confirm", {"phone": "13812340001", "code": wrong})
    assert status == 400 and "已作废" in page
    status, page = await post(bot, "/subscribe/confirm", {"phone": "13812340001", "code": code})
    assert status == 429 and await bot.subscriber("+8613812340001") is None
    bot.service.clock.advance(minutes=2)
    await post(bot, "/subscribe", form("13812340002", "all"))
    code = (await codes_received(bot, "+8613812340002"))[0]
    bot.service.clock.advance(minutes=10, seconds=1)
    status, page = await post(bot, "/subscribe/confirm", {"phone": "13812340002", "code": code})
    assert status == 400 and "已过期" in page and await bot.subscriber("+8613812340002") is None


async def test_a_number_cannot_be_bombed_with_codes(bot: SmsBot) -> None:
    status, _ = await post(bot, "/subscribe", form("13812340003", "all"))
    assert status == 200
    status, page = await post(bot, "/subscribe", form("13812340003", "all"))
    assert status == 429 and "该号码获取验证码的次数已达上限" in page
    for _ in range(4):  # one a minute: five in the hour
        bot.service.clock.advance(seconds=61)
        assert (await post(bot, "/subscribe", form("13812340003", "all")))[0] == 200
    bot.service.clock.advance(seconds=61)
    status, page = await post(bot, "/subscribe", form("13812340003", "all"))
    assert status == 429 and "分钟" in page
    await asyncio.sleep(0)
    assert bot.center.counts()["13812340003"] <= 5


async def test_one_client_address_cannot_request_codes_for_many_numbers(bot: SmsBot) -> None:
    for n in range(10):
        assert (await post(bot, "/subscribe", form(f"1391234{n:04d}", "all")))[0] == 200
    status, page = await post(bot, "/subscribe", form("13912349999", "all"))
    assert status == 429 and "您的网络地址" in page
    assert "13912349999" not in bot.center.counts()


async def test_the_signed_link_unsubscribes_in_one_click(bot: SmsBot) -> None:
    page = await subscribe(bot, "13812340010", "all")
    link = re.search(r'href="(http[^"]+/unsubscribe\?[^"]+)"', page).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    tampered = link.replace(query["t"][0], query["t"][0][:-2] + "xx")
    async with bot.http.get(tampered) as r:
        assert r.status == 400 and "退订链接无效" in await r.text()
    async with bot.http.get(link) as r:
        page = await r.text()
        assert r.status == 200 and "确认退订" in page and "138****0010" in page
    assert (await bot.subscriber("+8613812340010")).status == "active"  # a GET (link preview) changes nothing
    async with bot.http.post(link) as r:  # the one click
        assert r.status == 200 and "已退订" in await r.text()
    assert (await bot.subscriber("+8613812340010")).status == "unsubscribed"
    await bot.publish()
    await bot.runner().run_once()
    assert len(await bot.inbox("+8613812340010")) == 1  # only the code


@pytest.mark.parametrize("word", ["TD", "退订", "t", "R"])
async def test_replying_td_unsubscribes_at_once(bot: SmsBot, word: str) -> None:
    await subscribe(bot, "13812340020", "all")
    status, _ = await post(bot, "/sandbox/sms/13812340020/reply", {"text": word})
    assert status == 303  # the phone view sends the reply; the emulator pushes it to the bot

    async def unsubscribed() -> bool:
        return (await bot.subscriber("+8613812340020")).status == "unsubscribed"

    for _ in range(100):
        if await unsubscribed():
            break
        await asyncio.sleep(0.05)
    assert await unsubscribed()
    assert (await bot.subscriber("+8613812340020")).meta["unsubscribed_via"].startswith("reply:")


async def test_other_replies_change_nothing(bot: SmsBot) -> None:
    await subscribe(bot, "13812340021", "all")
    await post(bot, "/sandbox/sms/13812340021/reply", {"text": "谢谢，TD是什么？"})
    await asyncio.sleep(0.5)
    assert (await bot.subscriber("+8613812340021")).status == "active"


async def test_forged_or_malformed_callbacks_change_nothing(bot: SmsBot) -> None:
    await bot.add_subscribers({"+8613800000009": ["all"]})
    token = bot.channel.callback_token
    fake = [{"phone_number": "13800000009", "send_time": "2026-11-20 10:00:00", "content": "TD",
             "sign_name": "政务公开", "dest_code": "", "sequence_id": 1}]
    async with bot.http.post(f"{bot.base}/sms/callback/aliyun/up/not-the-token", json=fake) as r:
        assert r.status == 403 and (await r.json())["code"] == 1
    async with bot.http.post(f"{bot.base}/sms/callback/aliyun/up/{token}", data=b"not json") as r:
        assert r.status == 400
    async with bot.http.post(f"{bot.base}/sms/callback/aliyun/up/{token}", json=[{"content": "TD"}]) as r:
        assert r.status == 400
    async with bot.http.post(f"{bot.base}/sms/callback/tencent/reply/{token}",
                             json={"mobile": "12345", "text": "TD"}) as r:
        assert r.status == 400 and (await r.json())["result"] == 1
    assert (await bot.subscriber("+8613800000009")).status == "active"
    async with bot.http.post(f"{bot.base}/sms/callback/aliyun/up/{token}", json=fake) as r:
        assert r.status == 200 and await r.json() == {"code": 0, "msg": "接收成功"}
    assert (await bot.subscriber("+8613800000009")).status == "unsubscribed"


async def test_reports_are_deduplicated_on_biz_id_and_number(bot: SmsBot) -> None:
    await bot.add_subscribers({"+8613800000011": ["all"]})
    release = await bot.publish()
    await bot.runner().run_once()
    row = (await bot.recipients(release))["+8613800000011"]
    token = bot.channel.callback_token
    report = [{"phone_number": "13800000011", "send_time": "2026-11-20 10:00:00", "report_time": "2026-11-20 10:00:05",
               "success": False, "err_code": "MK:0001", "err_msg": "模拟失败", "sms_size": "1",
               "biz_id": row.remote_id, "out_id": ""}]

    async def status() -> str:
        return (await bot.recipients(release))["+8613800000011"].status

    for _ in range(100):  # the emulator's own report arrives first
        if await status() == "delivered":
            break
        await asyncio.sleep(0.05)
    async with bot.http.post(f"{bot.base}/sms/callback/aliyun/report/{token}", json=report) as r:
        assert r.status == 200 and (await r.json())["code"] == 0
    assert await status() == "delivered"  # a second report for (biz id, number) changes nothing
