"""The release calendar (发布计划) and the release records (发布记录): the calendar's data at real
2026 boundaries (National Day and its 调休 Saturday, the turn of 2026 into 2027), each day's
WeChat push quota use counted as the push precheck counts it, and the console pages on top."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from channels.plan_notes import Level
from channels.wechat import push
from channels.wechat.config import WechatSettings
from content.errors import InputError
from schedules import obligations as ob
from schedules import plan_calendar as pc
from schedules import releases
from schedules.calendar import WorkdayCalendar
from tests.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkdayCalendar.load()


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def calendar_of(desk: Desk, **which: str) -> pc.PlanCalendar:
    span = pc.parse_span(**which, today=desk.clock.now().astimezone(SHANGHAI).date())
    async with desk.store.sessions() as s:
        return await pc.build(s, CALENDAR, span, tz=SHANGHAI, now=desk.clock.now())


def day(cal: pc.PlanCalendar, iso: str) -> pc.Day:
    return next(d for d in cal.days if d.day == date.fromisoformat(iso))


# ---------------------------------------------------------------------- spans
def test_month_view_runs_whole_weeks_and_links_to_its_neighbours() -> None:
    span = pc.parse_span(month="2026-12", today=date(2026, 11, 29))
    assert (span.first, span.last) == (date(2026, 11, 30), date(2027, 1, 3))
    assert (span.prev_key, span.next_key, span.title) == ("2026-11", "2027-01", "2026 年 12 月")
    assert len(span.days) % 7 == 0


def test_week_53_of_2026_crosses_into_2027() -> None:
    span = pc.parse_span(week="2026-W53", today=date(2026, 11, 29))
    assert (span.first, span.last) == (date(2026, 12, 28), date(2027, 1, 3))
    assert (span.prev_key, span.next_key) == ("2026-W52", "2027-W01")
    assert pc.week_of(date(2027, 1, 1)) == "2026-W53"


@pytest.mark.parametrize(("which", "words"), [
    ({"month": "2026-13"}, "没有 2026 年 13 月"), ({"month": "十二月"}, "无法识别的年月"),
    ({"week": "2026-W54"}, "2026 年没有第 54 周"), ({"week": "W49"}, "无法识别的周")])
def test_a_malformed_month_or_week_is_named_with_the_form_to_use(which: dict, words: str) -> None:
    with pytest.raises(InputError) as caught:
        pc.parse_span(**which, today=date(2026, 11, 29))
    assert words in str(caught.value) and caught.value.fix


# ---------------------------------------------------------------------- days, releases, deadlines
async def test_national_day_week_marks_holidays_the_adjusted_saturday_and_the_r1_deadline(desk: Desk) -> None:
    desk.clock.set(beijing(2026, 9, 29, 10))
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    await desk.publish([policy], at=beijing(2026, 9, 30, 10))
    await desk.store.transaction(lambda s: ob.evaluate(s, CALENDAR, dict(_rules()), tz=SHANGHAI,
                                                       now=desk.clock.now()))
    news = await desk.approved("news", "节后第一个工作日的通知")
    rel = await desk.schedule([news], at=beijing(2026, 10, 9, 9), channels=("website", "wechat"),
                              options={"push": "all"})
    cal = await calendar_of(desk, month="2026-10")
    assert day(cal, "2026-10-01").holiday and day(cal, "2026-10-01").info.reason == "国庆节"
    assert all(not day(cal, f"2026-10-0{n}").info.workday for n in range(1, 8))
    assert day(cal, "2026-10-08").info.workday and not day(cal, "2026-10-08").holiday
    assert day(cal, "2026-10-10").adjusted and day(cal, "2026-10-10").info.workday
    assert not day(cal, "2026-10-11").holiday  # an ordinary Sunday
    [deadline] = day(cal, "2026-10-10").deadlines
    assert (deadline.rule, deadline.subject_id, deadline.subject_title) == ("R1", policy, "关于优化营商环境的通知")
    [entry] = day(cal, "2026-10-09").releases
    assert (entry.id, entry.state, entry.channels, entry.push) == (rel, "pending", ("website", "wechat"), "all")
    assert [m.title for m in entry.items] == ["节后第一个工作日的通知"]
    [published] = day(cal, "2026-09-30").releases
    assert published.state == "published" and published.fired_at is not None
    assert not day(cal, "2026-09-28").in_focus and day(cal, "2026-10-31").in_focus


async def test_new_years_eve_releases_fall_on_their_local_day_and_2027_is_marked_uncertain(desk: Desk) -> None:
    a, b, c = [await desk.approved("news", f"稿件{n}") for n in "甲乙丙"]
    eve = await desk.schedule([a], at=beijing(2026, 12, 31, 23, 30))  # 15:30 UTC
    new_year = await desk.schedule([b], at=beijing(2027, 1, 1, 0, 10))  # still 2026-12-31 in UTC
    gone = await desk.schedule([c], at=beijing(2026, 12, 31, 9))
    await desk.store.transaction(lambda s: releases.cancel(s, gone, actor="carol", now=desk.clock.now()))
    cal = await calendar_of(desk, week="2026-W53")
    assert [r.id for r in day(cal, "2026-12-31").releases] == [eve]
    assert [r.id for r in day(cal, "2027-01-01").releases] == [new_year]
    assert not day(cal, "2026-12-31").uncertain and day(cal, "2027-01-01").uncertain
    month = await calendar_of(desk, month="2026-12")
    assert [r.id for r in day(month, "2027-01-01").releases] == [new_year]
    assert not day(month, "2027-01-01").in_focus


async def test_each_days_push_quota_use_is_what_the_push_precheck_counts(desk: Desk) -> None:
    first, second = await desk.approved("news", "一"), await desk.approved("news", "二")
    await desk.schedule([first], at=beijing(2026, 12, 1, 9), channels=("wechat",), options={"push": "all"})
    await desk.schedule([second], at=beijing(2026, 12, 1, 15), channels=("wechat",), options={"push": "all"})
    subscription = WechatSettings()
    async with desk.store.sessions() as s:
        notes = await push.calendar_notes(s, subscription, date(2026, 11, 30), date(2026, 12, 2))
        verdict = await push.judge(s, subscription, push.PushTarget("all"), beijing(2026, 12, 1, 20))
        service = await push.calendar_notes(s, WechatSettings(account_type="service", notify="off"),
                                            date(2026, 12, 1), date(2026, 12, 2))
    by_day = {n.day: n for n in notes}
    assert (by_day[date(2026, 11, 30)].text, by_day[date(2026, 11, 30)].level) == ("微信群发 0/1", Level.INFO)
    assert (by_day[date(2026, 12, 1)].text, by_day[date(2026, 12, 1)].level) == ("微信群发 2/1", Level.OVER)
    assert "发布计划" in by_day[date(2026, 12, 1)].detail
    assert not verdict.allowed  # the precheck refuses a third push that day, from the same count
    assert [n.text for n in service] == ["微信群发 2 次，本月 2/4", "微信群发 0 次，本月 2/4"]


def _rules():  # noqa: ANN202
    from bot.settings import RulesSettings

    return RulesSettings()
