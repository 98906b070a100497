"""Behind proxies we run, the client address is the one our outermost proxy saw (the
trusted_proxies-th X-Forwarded-For entry from the right), never an entry the client wrote itself:
forged headers neither dodge the per-client limits nor end up in the consent record."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from content.clock import FixedClock
from tests.test_sms_kit import SmsBot, start_bot
from tests.test_sms_subscribe import codes_received, form, post, subscribe


@pytest.fixture
async def bot_behind_one_proxy(tmp_path: Path, sqlite_url: str, clock: FixedClock) -> AsyncIterator[SmsBot]:
    b = await start_bot(tmp_path, sqlite_url, clock, trusted_proxies=1)
    yield b
    await b.close()


async def test_forged_first_entries_do_not_dodge_the_per_client_limit(bot_behind_one_proxy: SmsBot) -> None:
    bot = bot_behind_one_proxy
    for n in range(10):  # a new forged address each time; our proxy appends the real one
        forged = {"X-Forwarded-For": f"10.0.{n}.1, 198.51.100.23"}
        assert (await post(bot, "/subscribe", form(f"1391236{n:04d}", "all"), forged))[0] == 200
    status, page = await post(bot, "/subscribe", form("13912369999", "all"),
                              {"X-Forwarded-For": "10.0.99.1, 198.51.100.23"})
    assert status == 429 and "您的网络地址" in page
    # another client behind the same proxy is not affected
    status, _ = await post(bot, "/subscribe", form("13912369999", "all"), {"X-Forwarded-For": "198.51.100.24"})
    assert status == 200


async def test_the_consent_record_keeps_the_address_the_proxy_saw(bot_behind_one_proxy: SmsBot) -> None:
    bot = bot_behind_one_proxy
    headers = {"X-Forwarded-For": "203.0.113.66, 198.51.100.30"}
    status, _ = await post(bot, "/subscribe", form("13812340200", "all"), headers)
    assert status == 200
    code = (await codes_received(bot, "13812340200"))[0]
    status, _ = await post(bot, "/subscribe/confirm", {"phone": "13812340200", "code": code}, headers)
    assert status == 200
    assert (await bot.subscriber("+8613812340200")).consent_from == "198.51.100.30"


@pytest.mark.parametrize("proxies, header, expected", [
    (2, "6.6.6.6, 203.0.113.9, 10.1.1.1", "203.0.113.9"),  # forged, client, first proxy
    (2, "203.0.113.9", "127.0.0.1"),  # fewer entries than proxies: not through our proxies
    (1, "203.0.113.9, not-an-address", "127.0.0.1"),
])
async def test_the_nth_entry_from_the_right(tmp_path: Path, sqlite_url: str, clock: FixedClock,
                                           proxies: int, header: str, expected: str) -> None:
    bot = await start_bot(tmp_path, sqlite_url, clock, trusted_proxies=proxies)
    try:
        status, _ = await post(bot, "/subscribe", form("13812340201", "all"), {"X-Forwarded-For": header})
        assert status == 200
        code = (await codes_received(bot, "13812340201"))[0]
        await post(bot, "/subscribe/confirm", {"phone": "13812340201", "code": code}, {"X-Forwarded-For": header})
        assert (await bot.subscriber("+8613812340201")).consent_from == expected
    finally:
        await bot.close()


async def test_without_trusted_proxies_the_header_is_ignored(tmp_path: Path, sqlite_url: str,
                                                             clock: FixedClock) -> None:
    bot = await start_bot(tmp_path, sqlite_url, clock)
    try:
        await subscribe(bot, "13812340202", "all")
        assert (await bot.subscriber("+8613812340202")).consent_from == "127.0.0.1"
    finally:
        await bot.close()


async def test_the_older_boolean_means_one_proxy(tmp_path: Path, sqlite_url: str, clock: FixedClock) -> None:
    bot = await start_bot(tmp_path, sqlite_url, clock, trust_forwarded_for="true")
    try:
        status, _ = await post(bot, "/subscribe", form("13812340203", "all"),
                               {"X-Forwarded-For": "6.6.6.6, 198.51.100.40"})
        assert status == 200
        for n in range(9):
            forged = {"X-Forwarded-For": f"10.2.{n}.1, 198.51.100.40"}
            assert (await post(bot, "/subscribe", form(f"1391237{n:04d}", "all"), forged))[0] == 200
        status, _ = await post(bot, "/subscribe", form("13912379999", "all"), {"X-Forwarded-For": "7.7.7.7, 198.51.100.40"})
        assert status == 429
    finally:
        await bot.close()
