"""Instants and dates as staff type them: every written form, in the configured zone, and a day or
an hour that does not exist named as such."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.timeparse import parse_date, parse_instant
from content.errors import InputError

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 15, 0, tzinfo=BEIJING)
NINE = datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)


@pytest.mark.parametrize("text", ["2026-12-01 09:00", "2026/12/01 09:00", "2026.12.1 9:00", "2026年12月1日 9:00",
                                  "2026年12月1日9点", "2026-12-01T09:00", "2026-12-01T09:00:00+08:00",
                                  "2026-12-01 01:00Z", "２０２６－１２－０１　０９：００"])
def test_every_form_is_the_same_instant(text: str) -> None:
    assert parse_instant(text, BEIJING, now=NOW) == NINE


def test_a_time_alone_is_today_in_the_configured_zone() -> None:
    late_utc = datetime(2026, 11, 29, 17, 0, tzinfo=timezone.utc)  # already 30 Nov in Beijing
    assert parse_instant("9:00", BEIJING, now=late_utc) == datetime(2026, 11, 30, 9, 0, tzinfo=BEIJING)
    assert parse_instant("9:30", ZoneInfo("UTC"), now=late_utc).isoformat() == "2026-11-29T09:30:00+00:00"


@pytest.mark.parametrize(("text", "said"), [
    ("2026-02-30 09:00", "没有这一天：2026 年 2 月只有 28 天"), ("2026-13-01 09:00", "没有这一天"),
    ("2026-12-01 25:00", "没有这个时刻"), ("9:60", "没有这个时刻"), ("2026-12-01", "缺少时刻"),
    ("tomorrow", "无法识别的时间“tomorrow”"), (" ", "时间是空的"), ("0000-01-01 00:00", "年份 0 超出范围"),
    ("12/01/2026 09:00", "无法识别"),
])
def test_what_cannot_be_an_instant_is_named(text: str, said: str) -> None:
    with pytest.raises(InputError) as err:
        parse_instant(text, BEIJING, now=NOW)
    assert said in err.value.render() and err.value.render().startswith("--at: ")


def test_a_local_time_skipped_by_daylight_saving_does_not_exist() -> None:
    with pytest.raises(InputError, match="夏令时"):
        parse_instant("2026-03-08 02:30", ZoneInfo("America/New_York"), now=NOW)


def test_dates() -> None:
    assert parse_date("2026年10月8日") == parse_date("2026/10/08") == date(2026, 10, 8)
    with pytest.raises(InputError, match="没有这一天：2026 年 2 月只有 28 天"):
        parse_date("2026-02-29")
