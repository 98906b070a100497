"""The unsubscribe link carries an opaque signed token, not the number: no digit of the number can
be read off the link, a tampered or forged token is refused and changes nothing, a link never
works for another number that later gets the same row id, and links of the older form
(?p=number&t=…) keep working."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import delete

from content.clock import FixedClock
from content.models import Subscriber, SubscriberTopic
from tests.test_sms_kit import SmsBot, start_bot
from tests.test_sms_subscribe import subscribe


@pytest.fixture
async def bot(tmp_path: Path, database_url: str, clock: FixedClock) -> AsyncIterator[SmsBot]:
    b = await start_bot(tmp_path, database_url, clock)
    yield b
    await b.close()


def link_in(page: str) -> str:
    return re.search(r'href="(http[^"]+/unsubscribe\?[^"]+)"', page).group(1).replace("&amp;", "&")


async def refused(bot: SmsBot, url: str) -> None:
    async with bot.http.get(url) as r:
        assert r.status == 400 and "退订链接无效" in await r.text()
    async with bot.http.post(url) as r:
        assert r.status == 400 and "退订链接无效" in await r.text()


async def test_the_link_shows_no_digit_of_the_number(bot: SmsBot) -> None:
    link = link_in(await subscribe(bot, "13812345678", "all"))
    query = urlsplit(link).query
    assert set(parse_qs(query)) == {"t"}
    assert not re.search(r"[0-9]", query), link
    async with bot.http.get(link) as r:
        page = await r.text()
        assert r.status == 200 and "138****5678" in page and "13812345678" not in page
    async with bot.http.post(link) as r:
        assert r.status == 200 and "已退订" in await r.text()
    assert (await bot.subscriber("+8613812345678")).status == "unsubscribed"


async def test_tampered_and_forged_tokens_change_nothing(bot: SmsBot) -> None:
    link = link_in(await subscribe(bot, "13812340030", "all"))
    await subscribe(bot, "13812340031", "all")
    token = parse_qs(urlsplit(link).query)["t"][0]
    base = link.split("?")[0]
    flipped = token[:-1] + ("c" if token[-1] != "c" else "b")
    other_id = ("cc" if token[:2] != "cc" else "cb") + token[2:]  # the same MAC on another row id
    for bad in (flipped, other_id, token[:-2], token + "cb", token.upper(), "", "13812340031"):
        await refused(bot, f"{base}?{urlencode({'t': bad})}")
    assert (await bot.subscriber("+8613812340030")).status == "active"
    assert (await bot.subscriber("+8613812340031")).status == "active"


async def test_a_link_never_unsubscribes_a_later_number_with_the_same_row_id(bot: SmsBot) -> None:
    link = link_in(await subscribe(bot, "13812340032", "all"))
    first = await bot.subscriber("+8613812340032")

    async def purge(s):  # noqa: ANN001, ANN202 - as `subscribers remove --purge` would
        await s.execute(delete(SubscriberTopic).where(SubscriberTopic.subscriber_id == first.id))
        await s.execute(delete(Subscriber).where(Subscriber.id == first.id))
        s.add(Subscriber(id=first.id, channel="sms", address="+8613812340033", status="active", source="test",
                         consent_method="test", consent_from="", created_at=first.created_at,
                         updated_at=first.created_at, meta={}))

    await bot.service.store.transaction(purge)
    await refused(bot, link)
    assert (await bot.subscriber("+8613812340033")).status == "active"


async def test_links_of_the_older_form_keep_working(bot: SmsBot) -> None:
    await subscribe(bot, "13812340034", "all")
    query = urlencode({"p": "13812340034", "t": bot.channel.unsubscribe_token("+8613812340034")})
    legacy = f"{bot.base}/unsubscribe?{query}"
    await refused(bot, legacy.replace("13812340034", "13812340035"))
    async with bot.http.get(legacy) as r:
        assert r.status == 200 and "确认退订" in await r.text()
    async with bot.http.post(legacy) as r:
        assert r.status == 200 and "已退订" in await r.text()
    assert (await bot.subscriber("+8613812340034")).status == "unsubscribed"
