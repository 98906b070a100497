"""Working-day arithmetic on China's official calendar, and the behaviour for uncovered years."""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from content.errors import InputError
from schedules.calendar import Source, WorkdayCalendar


@pytest.fixture
def cal() -> WorkdayCalendar:
    return WorkdayCalendar.load()


def test_national_day_2026_and_the_adjusted_saturday(cal: WorkdayCalendar) -> None:
    # Published on the last working day before the holiday: the 3 working days are
    # 10-08 (Thu), 10-09 (Fri) and 10-10, a Saturday that is a 调休 working day.
    assert cal.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert not cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 7))
    assert cal.is_workday(date(2026, 10, 10))
    assert cal.info(date(2026, 10, 10)).reason == "调休上班"
    assert cal.info(date(2026, 10, 1)).reason == "国庆节"
    assert cal.add_workdays(date(2026, 10, 8), -1) == date(2026, 9, 30)
    assert cal.add_workdays(date(2026, 10, 3), 0) == date(2026, 10, 8)
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3


def test_into_2027_without_data_falls_back_to_weekdays_with_a_warning(
        cal: WorkdayCalendar, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="gongkai.calendar"):
        # Thu 2026-12-31 + 3 working days: Fri 01-01, Mon 01-04, Tue 01-05 by Mon–Fri.
        assert cal.add_workdays(date(2026, 12, 31), 3) == date(2027, 1, 5)
    assert cal.source(2027) is Source.FALLBACK
    assert cal.info(date(2027, 1, 1)).source is Source.FALLBACK
    assert "2027 年没有官方节假日安排数据" in caplog.text
    assert cal.fallback_years(date(2026, 12, 31), date(2027, 1, 5)) == [2027]


def test_a_data_file_supplies_a_later_year(tmp_path: Path) -> None:
    data = tmp_path / "holidays.toml"
    data.write_text('[years.2027]\nholidays = ["2027-01-01/2027-01-03"]\nworkdays = ["2027-01-09"]\n'
                    'names = { "2027-01-01/2027-01-03" = "元旦" }\n', encoding="utf-8")
    cal = WorkdayCalendar.load(data)
    assert cal.source(2027) is Source.FILE
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.info(date(2027, 1, 1)).reason == "元旦"
    assert cal.is_workday(date(2027, 1, 9))  # a Saturday made a working day
    # Thu 2026-12-31 (package data) → Mon 01-04, Tue 01-05, Wed 01-06 (file data).
    assert cal.add_workdays(date(2026, 12, 31), 3) == date(2027, 1, 6)
    assert cal.add_workdays(date(2027, 1, 8), 1) == date(2027, 1, 9)


def test_a_data_file_overrides_the_package_for_a_covered_year(tmp_path: Path) -> None:
    data = tmp_path / "fix.toml"
    data.write_text('[years.2026]\nholidays = ["2026-11-27"]\n', encoding="utf-8")
    cal = WorkdayCalendar.load(data)
    assert not cal.is_workday(date(2026, 11, 27))
    assert cal.info(date(2026, 11, 27)).source is Source.FILE
    # Days the file does not list keep the package's answer.
    assert not cal.is_workday(date(2026, 10, 1))
    assert cal.is_workday(date(2026, 10, 10))
    assert cal.is_workday(date(2026, 11, 26))


@pytest.mark.parametrize("content, words", [
    ('[years.2027]\nholidays = ["2027-13-01"]\n', "不是日期"),
    ('[years.2027]\nholidays = ["2027-12-31/2028-01-02"]\n', "不在 2027 年内"),
    ('[years.20x7]\nholidays = []\n', "四位数字"),
    ('[years.2027\n', "不是有效的 TOML"),
])
def test_bad_data_files_name_the_problem(tmp_path: Path, content: str, words: str) -> None:
    data = tmp_path / "bad.toml"
    data.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=words):
        WorkdayCalendar.load(data)


def test_add_workdays_takes_a_negative_count_without_dashes(tmp_path: Path) -> None:
    from tests.botproc import cli_json, invoke

    env = {"config": tmp_path / "c.toml"}
    env["config"].write_text("", encoding="utf-8")
    out = invoke(env, "calendar", "add-workdays", "2026-10-10", "-3", user=None).output
    assert "2026-10-10 之前第 3 个工作日：2026-09-30" in out  # 10-09, 10-08, then the holiday
    assert cli_json(env, "calendar", "add-workdays", "2026-12-20", "-3", user=None)["date"] == "2026-12-16"


def test_a_result_in_a_year_without_data_is_marked_uncertain_in_the_text(tmp_path: Path) -> None:
    from tests.botproc import cli_json, invoke

    env = {"config": tmp_path / "c.toml"}
    env["config"].write_text("", encoding="utf-8")
    line = invoke(env, "calendar", "add-workdays", "2026-12-30", "2", user=None).output.splitlines()[0]
    assert line.startswith("2026-12-30 之后第 2 个工作日：2027-01-01")
    assert "不确定" in line and "2027 年" in line
    data = cli_json(env, "calendar", "add-workdays", "2026-12-30", "2", user=None)
    assert data["uncertain_years"] == [2027]
    line = invoke(env, "calendar", "add-workdays", "2026-10-08", "1", user=None).output.splitlines()[0]
    assert "不确定" not in line
