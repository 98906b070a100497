"""One validator for every number that comes in (the page, the staff import, replies and reports
from the providers): ASCII digits only, after full-width digits are made half-width and spaces,
dashes and the +86 prefix are removed. Look-alike digits of other scripts are refused, so
"13٩12345678" can never be a second, fresh copy of 13912345678 with its own allowance of codes."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from channels.sms.phone import normalise
from content.clock import FixedClock
from content.errors import InputError
from tests.test_sms_kit import SmsBot, start_bot
from tests.test_sms_subscribe import codes_received, form, post

LOOKALIKES = ["13٩12345678",  # ARABIC-INDIC DIGIT NINE
              "13۹12345678",  # EXTENDED ARABIC-INDIC DIGIT NINE
              "13९12345678",  # DEVANAGARI DIGIT NINE
              "13𝟗12345678",  # MATHEMATICAL BOLD DIGIT NINE (NFKC would make it 9)
              "13⁹12345678",  # SUPERSCRIPT NINE (NFKC would make it 9)
              "13⑨12345678"]  # CIRCLED DIGIT NINE


@pytest.mark.parametrize("raw", LOOKALIKES)
def test_digits_of_other_scripts_are_refused(raw: str) -> None:
    with pytest.raises(InputError) as err:
        normalise(raw)
    assert "0–9" in err.value.message or "数字" in err.value.message
    assert err.value.fix


@pytest.mark.parametrize("raw", ["13912345678", "+86 139-1234-5678", "１３９１２３４５６７８", "＋８６ １３９ １２３４ ５６７８",
                                 "0086 139 1234 5678", "(+86)13912345678"])
def test_ascii_and_full_width_digits_with_separators_are_one_number(raw: str) -> None:
    assert normalise(raw) == "+8613912345678"


@pytest.fixture
async def bot(tmp_path: Path, sqlite_url: str, clock: FixedClock) -> AsyncIterator[SmsBot]:
    b = await start_bot(tmp_path, sqlite_url, clock)
    yield b
    await b.close()


async def test_the_page_refuses_lookalike_digits_and_sends_nothing(bot: SmsBot) -> None:
    for raw in LOOKALIKES:
        status, page = await post(bot, "/subscribe", form(raw, "all"))
        assert status == 400 and 'href="#phone"' in page and "0–9" in page
    assert bot.center.total() == 0


async def test_a_reply_from_a_lookalike_number_is_refused(bot: SmsBot) -> None:
    await bot.add_subscribers({"+8613912345678": ["all"]})
    reply = [{"phone_number": "13٩12345678", "send_time": "2026-11-20 10:00:00", "content": "TD",
              "sign_name": "政务公开", "dest_code": "", "sequence_id": 7}]
    async with bot.http.post(f"{bot.base}/sms/callback/aliyun/up/{bot.channel.callback_token}", json=reply) as r:
        assert r.status == 400 and (await r.json())["code"] == 1
    assert (await bot.subscriber("+8613912345678")).status == "active"


def test_the_staff_import_refuses_lookalike_digits(tmp_path: Path, sqlite_url: str) -> None:
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": sqlite_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_CHANNELS__SMS__ENABLED": "true", "GONGKAI_USER": "王芳"}
    (tmp_path / "s.csv").write_text("phone,topics\n13٩12345678,all\n１３９１２３４５６７８,all\n", encoding="utf-8")
    assert CliRunner(env=env).invoke(main, ["db", "upgrade"]).exit_code == 0  # only run and db upgrade make a store
    result = CliRunner(env=env).invoke(main, ["subscribers", "import", str(tmp_path / "s.csv"),
                                              "--consent", "测试：本人书面同意", "--json"])
    out = json.loads(result.stdout)
    assert out["added"] == 1 and [b["line"] for b in out["bad_rows"]] == [2]
    listed = json.loads(CliRunner(env=env).invoke(main, ["subscribers", "list", "--json"]).stdout)
    assert [s["phone"] for s in listed["subscribers"]] == ["+8613912345678"]


async def test_a_code_in_lookalike_digits_costs_no_try(bot: SmsBot) -> None:
    assert (await post(bot, "/subscribe", form("13912345679", "all")))[0] == 200
    for _ in range(6):
        status, page = await post(bot, "/subscribe/confirm", {"phone": "13912345679", "code": "١٢٣٤٥٦"})
        assert status == 400 and "请输入短信中的 6 位数字验证码" in page
    code = (await codes_received(bot, "13912345679"))[0]
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    status, page = await post(bot, "/subscribe/confirm", {"phone": "13912345679", "code": full_width})
    assert status == 200 and "订阅成功" in page
