"""Confirmation codes under pressure: many guesses at once against the running bot (on SQLite and
on PostgreSQL) check at most five, and the rest are refused with 429, never a server error; and
instants stored while the clock was wrong (far in the future) never lock a number out."""
from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.sms.models import SmsCode
from content.clock import FixedClock
from tests.test_sms_kit import SmsBot, start_bot
from tests.test_sms_subscribe import codes_received, form, post

GUESSES = 300


@pytest.fixture
async def bot(tmp_path: Path, database_url: str, clock: FixedClock) -> AsyncIterator[SmsBot]:
    b = await start_bot(tmp_path, database_url, clock)
    yield b
    await b.close()


async def stored_tries(bot: SmsBot, phone: str) -> int | None:
    async with bot.service.store.sessions() as s:
        return await s.scalar(select(SmsCode.tries).where(SmsCode.phone == phone))


async def test_three_hundred_parallel_guesses_check_at_most_five(bot: SmsBot) -> None:
    assert (await post(bot, "/subscribe", form("13812340100", "all")))[0] == 200
    code = (await codes_received(bot, "13812340100"))[0]
    wrong = [f"{(int(code) + n) % 10 ** 6:06d}" for n in range(1, GUESSES + 1)]
    answers = await asyncio.gather(*(post(bot, "/subscribe/confirm", {"phone": "13812340100", "code": guess})
                                     for guess in wrong))
    statuses = Counter(status for status, _ in answers)
    checked = [page for status, page in answers if status == 400 and "验证码不正确" in page]
    assert not [s for s in statuses if s >= 500], statuses
    assert 1 <= len(checked) <= 5, statuses
    assert statuses[429] == GUESSES - len(checked), statuses
    assert all("次数过多" in page or "繁忙" in page for status, page in answers if status == 429)
    assert (await stored_tries(bot, "+8613812340100")) <= 5
    # the right code is now refused too: the guesses used up its tries
    status, page = await post(bot, "/subscribe/confirm", {"phone": "13812340100", "code": code})
    assert status == 429 and "已作废" in page
    assert await bot.subscriber("+8613812340100") is None


async def requested_ahead(bot: SmsBot, days: int, *numbers: str) -> None:
    """Request codes while the bot's clock is ``days`` ahead, then put the clock back."""
    clock: FixedClock = bot.service.clock
    present = clock.now()
    clock.set(present + timedelta(days=days))
    for number in numbers:
        assert (await post(bot, "/subscribe", form(number, "all")))[0] == 200
    clock.set(present)


async def test_a_code_requested_while_the_clock_was_far_ahead_locks_nothing_out(bot: SmsBot) -> None:
    await requested_ahead(bot, 365 * 73, "13812340101")
    status, page = await post(bot, "/subscribe", form("13812340101", "all"))
    assert status == 200 and "如果该号码可以订阅" in page  # not 429 "try again in 38 million minutes"
    bot.service.clock.advance(seconds=61)  # and the ordinary limits still count from the present
    assert (await post(bot, "/subscribe", form("13812340101", "all")))[0] == 200
    assert (await post(bot, "/subscribe", form("13812340101", "all")))[0] == 429


async def test_a_pending_code_stamped_in_the_future_has_expired(bot: SmsBot) -> None:
    await requested_ahead(bot, 30, "13812340102")
    code = (await codes_received(bot, "13812340102"))[0]
    status, page = await post(bot, "/subscribe/confirm", {"phone": "13812340102", "code": code})
    assert status == 400 and "已过期" in page
    assert await bot.subscriber("+8613812340102") is None


async def test_client_limits_ignore_requests_stamped_in_the_future(bot: SmsBot) -> None:
    # the client's whole hourly allowance, spent "in the future"
    await requested_ahead(bot, 365 * 73, *(f"1391235{n:04d}" for n in range(10)))
    status, page = await post(bot, "/subscribe", form("13912359999", "all"))
    assert status == 200, page


async def test_parallel_requests_for_one_number_send_one_code(bot: SmsBot) -> None:
    answers = await asyncio.gather(*(post(bot, "/subscribe", form("13812340103", "all")) for _ in range(40)))
    statuses = Counter(status for status, _ in answers)
    assert statuses == Counter({200: 1, 429: 39}), statuses
    assert len(await codes_received(bot, "13812340103")) == 1
