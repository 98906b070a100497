"""The cadence rules (R5 site and columns, R6, R7, C6) and the clock-hour and consultation rules
(R9, R11), each at its boundary on the real 2026 calendar, through the project's clock; the
warnings before breach recorded once per stage; a miss kept a year later."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import duty
from bot.settings import Settings
from content.cadence import DutyMessage, ObligationNotice
from content.db import Store
from content.errors import InputError
from content.models import Obligation
from schedules import cadence
from schedules import obligations as ob
from schedules.calendar import WorkdayCalendar
from tests.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkdayCalendar.load()
DEPT = "市发展改革委"


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


def settings(**data: Any) -> Settings:
    return Settings.model_validate(data)


async def evaluate(store: Store, now: datetime, conf: Settings | None = None,
                   node: str = "n1") -> list[ObligationNotice]:
    conf = conf or settings()
    _, made = await store.transaction(
        lambda s: duty.evaluate_all(s, CALENDAR, conf, now=now, node=node))
    return made


async def rows(store: Store, rule: str, subject_type: str | None = None) -> list[Obligation]:
    async with store.sessions() as s:
        found = await ob.listing(s, rule=rule)
    return [r for r in found if subject_type is None or r.subject_type == subject_type]


async def stages(store: Store, obligation_id: int) -> list[str]:
    async with store.sessions() as s:
        return list(await s.scalars(select(ObligationNotice.stage).where(
            ObligationNotice.obligation_id == obligation_id).order_by(ObligationNotice.id)))


# ------------------------------------------------------------------------------------------ R5
async def test_a_national_day_week_without_an_update_is_missed_and_still_listed_a_year_later(
        desk: Desk) -> None:
    desk.clock.set(beijing(2026, 9, 24, 9))
    news = await desk.approved("news", "国庆前的工作动态")
    await desk.publish([news], at=beijing(2026, 9, 25, 10))  # week 39
    made = await evaluate(desk.store, beijing(2026, 10, 12, 9))
    weeks = {r.period: r for r in await rows(desk.store, "R5", "site")}
    assert (weeks["2026-W39"].state, weeks["2026-W39"].met_by) == ("met", news)
    assert weeks["2026-W40"].state == "missed"  # 28 Sep – 4 Oct, National Day from the 1st
    assert weeks["2026-W41"].state == "missed"  # 5 – 11 Oct, with the 调休 Saturday
    assert weeks["2026-W40"].due_at == beijing(2026, 10, 5, 0)  # the end of Sunday 4 Oct, in Beijing
    assert weeks["2026-W42"].state == "open"
    assert {(n.obligation_id, n.stage) for n in made} >= {
        (weeks["2026-W40"].id, "missed"), (weeks["2026-W41"].id, "missed")}
    assert "【R5】网站与栏目更新：网站" in next(n.text for n in made if n.obligation_id == weeks["2026-W40"].id)
    assert await evaluate(desk.store, beijing(2026, 10, 12, 9, 5)) == []  # recorded once
    made = await evaluate(desk.store, beijing(2027, 10, 12, 9))
    weeks = {r.period: r for r in await rows(desk.store, "R5", "site")}
    assert weeks["2026-W40"].state == "missed"  # the record stays
    assert all(n.obligation_id != weeks["2026-W40"].id for n in made)


async def test_the_adjusted_saturday_is_the_weeks_last_working_day(desk: Desk) -> None:
    desk.clock.set(beijing(2026, 9, 29, 9))
    await desk.publish([await desk.approved("news", "九月动态")], at=beijing(2026, 9, 30, 10))
    assert await evaluate(desk.store, beijing(2026, 10, 8, 9)) == []  # W41 open, no warning yet
    [w41] = [r for r in await rows(desk.store, "R5", "site") if r.period == "2026-W41"]
    made = await evaluate(desk.store, beijing(2026, 10, 9, 9))  # Friday: 1 working day before
    assert [(n.obligation_id, n.stage) for n in made] == [(w41.id, "before")]
    made = await evaluate(desk.store, beijing(2026, 10, 10, 8))  # Saturday 10 Oct is a working day
    assert [(n.obligation_id, n.stage) for n in made] == [(w41.id, "due_day")]
    assert "今日到期" in made[0].text and "2026-10-11 23:59" in made[0].text
    item = await desk.approved("news", "调休日更新")
    await desk.publish([item], at=beijing(2026, 10, 10, 10))
    await evaluate(desk.store, beijing(2026, 10, 12, 9))
    [w41] = [r for r in await rows(desk.store, "R5", "site") if r.period == "2026-W41"]
    assert (w41.state, w41.met_by) == ("met", item)
    assert await stages(desk.store, w41.id) == ["before", "due_day"]


async def test_a_ten_day_period_where_a_province_sets_one(desk: Desk) -> None:
    conf = settings(rules={"R5": {"period_days": 10, "anchor": "2026-01-01"}})
    desk.clock.set(beijing(2026, 9, 29, 9))
    await desk.publish([await desk.approved("news", "动态")], at=beijing(2026, 9, 30, 10))
    await evaluate(desk.store, beijing(2026, 10, 12, 9), conf)
    periods = {r.period: r.state for r in await rows(desk.store, "R5", "site")}
    # 2026-09-28 … 10-07 (met on 30 Sep), 10-08 … 10-17 (open)
    assert periods == {"2026-09-28/10d": "met", "2026-10-08/10d": "open"}


async def test_a_column_is_stale_after_its_freshness_and_met_late_by_the_next_item(desk: Desk) -> None:
    desk.clock.set(beijing(2026, 11, 1, 9))
    await desk.publish([await desk.approved("news", "动态一")], at=beijing(2026, 11, 2, 10))
    await evaluate(desk.store, beijing(2026, 11, 12, 9))
    assert await rows(desk.store, "R5", "column") == []  # not at risk yet: no row
    made = await evaluate(desk.store, beijing(2026, 11, 13, 9))  # 1 working day before Mon 16
    [col] = await rows(desk.store, "R5", "column")
    assert (col.period, col.due_on.isoformat(), col.state) == ("2026-11-02", "2026-11-16", "open")
    [warned] = [n for n in made if n.obligation_id == col.id]
    assert warned.stage == "before" and "栏目“工作动态”" in warned.text
    await evaluate(desk.store, beijing(2026, 11, 17, 9))
    [col] = await rows(desk.store, "R5", "column")
    assert col.state == "missed"
    assert await stages(desk.store, col.id) == ["before", "missed"]
    late = await desk.approved("news", "动态二")
    await desk.publish([late], at=beijing(2026, 11, 18, 10))
    await evaluate(desk.store, beijing(2026, 11, 18, 11))
    [col] = await rows(desk.store, "R5", "column")  # fresh again: no new row until at risk
    assert (col.state, col.met_by) == ("late", late)


async def test_freshness_spans_and_blank_columns(desk: Desk) -> None:
    assert cadence.freshness("工作动态", {"动态": "2w", "要闻": "2w"}) == "2w"
    assert cadence.freshness("人事任免", {"人事": "1y", "人事任免": "6m"}) == "6m"
    assert cadence.add_span(datetime(2026, 8, 31).date(), "6m").isoformat() == "2027-02-28"
    conf = settings(rules={"R5": {"live_columns": ["人事信息", "工作动态"]}})
    await desk.publish([await desk.approved("news", "动态")])
    made = await evaluate(desk.store, desk.clock.now(), conf)
    [blank] = await rows(desk.store, "R5", "column")
    assert (blank.period, blank.state) == ("blank", "missed")
    assert any("栏目“人事信息”（空白栏目）" in n.text and n.stage == "missed" for n in made)
    with pytest.raises(Exception, match="14d、2w、6m 或 1y"):
        settings(rules={"R5": {"columns": {"动态": "两周"}}})


# ------------------------------------------------------------------------------------- R6 R7
REGISTER = {"rules": {"R5": {"enabled": False}},  # no weekly site duty in these tests
            "departments": [{"name": DEPT, "head": "张主任", "press_conferences_per_quarter": 2},
                            {"name": "市教委", "head": "王局长", "press_conferences_per_quarter": 1}]}


async def test_a_quarter_with_one_press_conference_is_warned_a_month_before_and_missed_after(
        desk: Desk) -> None:
    conf = settings(**REGISTER)
    desk.clock.set(beijing(2026, 10, 20, 9))
    pc = await desk.approved("press_conference", "第一场发布会", department=DEPT, held_on="2026-10-20",
                             speakers=["李副主任"], head_spoke=False)
    await desk.publish([pc], at=beijing(2026, 10, 21, 10))
    assert await evaluate(desk.store, beijing(2026, 11, 30, 12), conf) == []
    [q4] = [r for r in await rows(desk.store, "R6") if r.department == DEPT]
    assert (q4.period, q4.due_on.isoformat(), q4.state) == ("2026-Q4", "2026-12-31", "open")
    made = await evaluate(desk.store, beijing(2026, 12, 1, 9), conf)  # a month before quarter end
    assert (q4.id, "before") in {(n.obligation_id, n.stage) for n in made}
    await evaluate(desk.store, beijing(2026, 12, 31, 9), conf)
    await evaluate(desk.store, beijing(2027, 1, 1, 0), conf)
    [q4] = [r for r in await rows(desk.store, "R6") if r.department == DEPT and r.period == "2026-Q4"]
    assert q4.state == "missed"
    assert await stages(desk.store, q4.id) == ["before", "due_day", "missed"]


async def test_two_press_conferences_meet_the_quarter_the_second_one_is_the_one(desk: Desk) -> None:
    conf = settings(**REGISTER)
    desk.clock.set(beijing(2026, 10, 20, 9))
    first = await desk.approved("press_conference", "一", department=DEPT, held_on="2026-10-20")
    await desk.publish([first], at=beijing(2026, 10, 20, 18))
    second = await desk.approved("press_conference", "二", department=DEPT, held_on="2026-11-26")
    await desk.publish([second], at=beijing(2026, 11, 26, 18))
    await evaluate(desk.store, beijing(2026, 11, 27, 9), conf)
    [q4] = [r for r in await rows(desk.store, "R6") if r.department == DEPT]
    assert (q4.state, q4.met_by) == ("met", second)


async def test_a_head_who_did_not_speak_in_2026_is_missed_across_the_year_boundary(desk: Desk) -> None:
    conf = settings(**REGISTER)
    desk.clock.set(beijing(2026, 6, 1, 9))
    other = await desk.approved("press_conference", "教育发布会", department="市教委",
                                held_on="2026-06-02", speakers=["王局长", "赵处长"])
    await desk.publish([other], at=beijing(2026, 6, 2, 15))
    mine = await desk.approved("press_conference", "发改发布会", department=DEPT,
                               held_on="2026-06-03", speakers=["李副主任"])
    await desk.publish([mine], at=beijing(2026, 6, 3, 15))
    await evaluate(desk.store, beijing(2026, 12, 31, 23, 59), conf)
    r7 = {r.department: r for r in await rows(desk.store, "R7") if r.period == "2026"}
    assert (r7["市教委"].state, r7["市教委"].met_by) == ("met", other)  # named among the speakers
    assert r7[DEPT].state == "open"
    assert await stages(desk.store, r7[DEPT].id) == ["due_day"]  # the latest stage only
    await evaluate(desk.store, beijing(2027, 1, 1, 0), conf)
    r7 = {(r.department, r.period): r for r in await rows(desk.store, "R7")}
    assert r7[(DEPT, "2026")].state == "missed"
    assert r7[(DEPT, "2027")].state == "open"
    assert r7[(DEPT, "2026")].uncertain is False and r7[(DEPT, "2027")].uncertain  # no 2027 data yet


def test_press_conference_and_emergency_front_matter_is_checked_in_chinese() -> None:
    from content.frontmatter import build

    cases = [
        ({"kind": "press_conference", "issued": "2026-11-20", "held_on": "2026-11-31"}, "held_on", "YYYY-MM-DD"),
        ({"kind": "press_conference", "issued": "2026-11-20", "speakers": "张三", "head_spoke": "是"},
         "head_spoke", "true 或 false"),
        ({"kind": "press_conference", "issued": "2026-11-20", "speakers": [{"a": 1}]}, "speakers", "姓名列表"),
        ({"kind": "news", "held_on": "2026-11-20"}, "held_on", "只有 kind: press_conference"),
        ({"kind": "emergency", "severity": "很大"}, "severity", "特别重大"),
        ({"kind": "emergency", "severity": "重大"}, "occurred_at", "24 小时"),
        ({"kind": "emergency", "severity": "重大", "occurred_at": "2026-11-20"}, "occurred_at", "精确到分钟"),
        ({"kind": "news", "consultation_closes": "明天"}, "consultation_closes", "YYYY-MM-DD"),
        ({"kind": "news", "feedback_for": "第三号"}, "feedback_for", "稿件编号"),
    ]
    for meta, field, words in cases:
        with pytest.raises(InputError) as err:
            build({"title": "标题", "department": DEPT, **meta}, "正文。")
        assert err.value.field == field and words in err.value.render(), meta
    draft = build({"title": "发布会", "kind": "新闻发布会", "department": DEPT, "issued": "2026-11-20",
                   "held_on": "2026-11-20", "speakers": ["张主任"], "head_spoke": True}, "正文。")
    assert draft.extra == {"held_on": "2026-11-20", "speakers": ["张主任"], "head_spoke": True}


# ---------------------------------------------------------------------------------------- R9
async def test_a_major_emergency_needs_a_press_conference_notice_within_24_clock_hours(desk: Desk) -> None:
    conf = settings(rules={"R5": {"enabled": False}})
    desk.clock.set(beijing(2026, 11, 20, 9))
    major = await desk.approved("emergency", "某区发生重大火灾", severity="重大", occurred_at="2026-11-20 08:30")
    worse = await desk.approved("emergency", "特别重大事故", severity="特别重大", occurred_at="2026-11-20T09:00+08:00")
    minor = await desk.approved("emergency", "一般事件", severity="一般", occurred_at="2026-11-20 08:00")
    await desk.publish([major, worse, minor], at=beijing(2026, 11, 20, 9, 30))
    await evaluate(desk.store, beijing(2026, 11, 20, 10), conf)
    r9 = {r.subject_id: r for r in await rows(desk.store, "R9")}
    assert set(r9) == {major, worse}  # 一般 needs none
    assert r9[major].due_at == beijing(2026, 11, 21, 8, 30)  # 24 clock hours, a Saturday
    notice = await desk.approved("press_conference", "新闻发布会通知", follows=major)
    await desk.publish([notice], at=beijing(2026, 11, 21, 8, 29))
    made = await evaluate(desk.store, beijing(2026, 11, 21, 8, 59, 59), conf)
    r9 = {r.subject_id: r for r in await rows(desk.store, "R9")}
    assert (r9[major].state, r9[major].met_by) == ("met", notice)
    assert r9[worse].state == "open" and [(n.obligation_id, n.stage) for n in made] == [(r9[worse].id, "due_day")]
    await evaluate(desk.store, beijing(2026, 11, 21, 9), conf)  # exactly 24 h after 09:00: missed
    r9 = {r.subject_id: r for r in await rows(desk.store, "R9")}
    assert r9[worse].state == "missed"


# --------------------------------------------------------------------------------------- R11
async def test_consultation_feedback_counts_working_days_across_spring_festival(desk: Desk) -> None:
    conf = settings(rules={"R11": {"workdays": 5}})
    desk.clock.set(beijing(2026, 2, 1, 9))
    on_time = await desk.approved("news", "征求意见稿一", consultation_closes="2026-02-13")
    slow = await desk.approved("news", "征求意见稿二", consultation_closes="2026-02-13")
    await desk.publish([on_time, slow], at=beijing(2026, 2, 2, 10))
    await evaluate(desk.store, beijing(2026, 2, 3, 9), conf)
    [a, b] = await rows(desk.store, "R11")
    # Sat 14 Feb (调休) is the 1st working day; the holiday runs 15–23 Feb; then 24…27
    assert a.due_on.isoformat() == "2026-02-27" and a.due_at == beijing(2026, 2, 28, 0)
    fb1 = await desk.approved("news", "意见采纳情况一", feedback_for=on_time)
    await desk.publish([fb1], at=beijing(2026, 2, 27, 22))
    fb2 = await desk.approved("news", "意见采纳情况二", feedback_for=slow)
    await desk.publish([fb2], at=beijing(2026, 2, 28, 9))
    await evaluate(desk.store, beijing(2026, 2, 28, 10), conf)
    got = {r.subject_id: (r.state, r.met_by) for r in await rows(desk.store, "R11")}
    assert got == {on_time: ("met", fb1), slow: ("late", fb2)}
    with pytest.raises(InputError, match="不存在"):
        await desk.add("news", "反馈", feedback_for=99999)


# ------------------------------------------------------------------------------------ notices
async def test_a_warning_is_recorded_once_across_two_nodes_and_a_restart(
        desk: Desk, database_url: str) -> None:
    import asyncio

    conf = settings(duty_contacts=[{"department": "*", "sms": "13800000001"},
                                   {"department": DEPT, "sms": "13800000002"},
                                   {"department": "市教委", "sms": "13800000003"}], **REGISTER)
    desk.clock.set(beijing(2026, 10, 20, 9))
    pc = await desk.approved("press_conference", "发布会", department=DEPT, held_on="2026-10-20")
    await desk.publish([pc], at=beijing(2026, 10, 21, 10))
    now = beijing(2026, 12, 1, 9)
    other = Store.open(database_url)  # a second node on the same store
    try:
        results = await asyncio.gather(evaluate(desk.store, now, conf, "n1"), evaluate(other, now, conf, "n2"),
                                       evaluate(other, now, conf, "n2"))
    finally:
        await other.close()
    made = [n for found in results for n in found]
    [q4] = [r for r in await rows(desk.store, "R6") if r.department == DEPT]
    assert [(n.obligation_id, n.stage) for n in made if n.obligation_id == q4.id] == [(q4.id, "before")]
    restarted = Store.open(database_url)  # the bot restarted: the record is in the store
    try:
        assert await evaluate(restarted, now, conf, "n3") == []
    finally:
        await restarted.close()
    async with desk.store.sessions() as s:
        sms = sorted(await s.execute(select(DutyMessage.address, DutyMessage.state).join(
            ObligationNotice, ObligationNotice.id == DutyMessage.notice_id)
            .where(ObligationNotice.obligation_id == q4.id)))
    assert sms == [("13800000001", "pending"), ("13800000002", "pending")]  # not 市教委's contact


async def test_a_waiver_with_a_reason_is_kept_with_the_account_and_silences_warnings(desk: Desk) -> None:
    desk.clock.set(beijing(2026, 9, 24, 9))
    await desk.publish([await desk.approved("news", "动态")], at=beijing(2026, 9, 25, 10))
    await evaluate(desk.store, beijing(2026, 10, 9, 9))
    weeks = {r.period: r for r in await rows(desk.store, "R5", "site")}
    await desk.store.transaction(lambda s: ob.waive(
        s, weeks["2026-W41"].id, reason="国庆假期网站维护，经批准暂停更新", actor="carol", now=desk.clock.now()))
    await evaluate(desk.store, beijing(2026, 10, 12, 9))
    weeks = {r.period: r for r in await rows(desk.store, "R5", "site")}
    assert (weeks["2026-W41"].state, weeks["2026-W41"].waived_by) == ("waived", "carol")
    assert weeks["2026-W41"].waive_reason == "国庆假期网站维护，经批准暂停更新"
    assert await stages(desk.store, weeks["2026-W41"].id) == ["before"]  # no miss after the waiver
    from content.models import AuditEvent as Audit

    async with desk.store.sessions() as s:
        event = await s.scalar(select(Audit).where(Audit.action == "obligation_waived"))
    assert event is not None and event.actor == "carol" and event.item_id is None
    assert event.detail["rule"] == "R5" and event.detail["period"] == "2026-W41"


async def test_each_department_of_the_register_can_owe_its_own_weekly_update(desk: Desk) -> None:
    conf = settings(rules={"R5": {"per_department": True, "backfill_periods": 0}}, **{
        "departments": [{"name": DEPT, "head": ""}, {"name": "市教委", "head": ""}]})
    desk.clock.set(beijing(2026, 10, 8, 9))
    mine = await desk.approved("news", "发改动态", department=DEPT)
    await desk.publish([mine], at=beijing(2026, 10, 10, 11))  # the 调休 Saturday
    await evaluate(desk.store, beijing(2026, 10, 10, 12), conf)
    await evaluate(desk.store, beijing(2026, 10, 12, 9), conf)
    week = {r.department: (r.state, r.met_by) for r in await rows(desk.store, "R5", "department")
            if r.period == "2026-W41"}
    assert week == {DEPT: ("met", mine), "市教委": ("missed", None)}
