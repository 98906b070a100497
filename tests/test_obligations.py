"""Obligations: the statutory deadlines (R1, R3, R4, L26) stored as rows, evaluated on the
working-day calendar at its real 2026 boundaries, idempotent across sweeps and nodes, never
deleted, waivable with a reason."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.settings import RulesSettings
from content.db import Store
from content.errors import InputError
from content.models import AuditEvent, Obligation
from schedules import obligations as ob
from schedules.calendar import WorkdayCalendar
from tests.botproc import bot_env, cli_json, invoke
from tests.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = dict(RulesSettings())
CALENDAR = WorkdayCalendar.load()


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def evaluate(store: Store, now: datetime) -> int:
    return await store.transaction(lambda s: ob.evaluate(s, CALENDAR, RULES, tz=SHANGHAI, now=now))


async def rows(store: Store, **kw: str) -> list[Obligation]:
    async with store.sessions() as s:
        return await ob.listing(s, **kw)


async def test_a_policy_published_before_national_day_is_due_on_the_adjusted_saturday(desk: Desk) -> None:
    desk.clock.set(beijing(2026, 9, 29, 10))
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    await desk.publish([policy], at=beijing(2026, 9, 30, 10))
    assert await evaluate(desk.store, desk.clock.now()) == 1
    [r1] = await rows(desk.store, rule="R1")
    assert (r1.subject_id, r1.period, r1.state, r1.uncertain) == (policy, "2026-09-30", "open", False)
    assert r1.due_on.isoformat() == "2026-10-10"  # after the holiday, the 调休 Saturday
    assert r1.due_at == beijing(2026, 10, 11, 0)  # the end of that day in Beijing
    interp = await desk.approved("interpretation", "解读", interprets=policy)
    await desk.publish([interp], at=beijing(2026, 10, 10, 23, 50))
    await evaluate(desk.store, desk.clock.now())
    [r1] = await rows(desk.store, rule="R1")
    assert (r1.state, r1.met_by, r1.met_at) == ("met", interp, beijing(2026, 10, 10, 23, 50))


async def test_a_meeting_on_an_adjusted_saturday_counts_from_that_working_day(desk: Desk) -> None:
    desk.clock.set(beijing(2026, 10, 10, 9))
    decision = await desk.approved("decision", "常务会议决定", issuer="示例市人民政府",
                                   issued="2026-10-10", meeting_date="2026-10-10")
    await desk.publish([decision])
    await evaluate(desk.store, desk.clock.now())
    [r3] = await rows(desk.store, rule="R3")
    assert r3.subject_id == decision and r3.due_on.isoformat() == "2026-10-14"
    desk.clock.set(beijing(2026, 10, 15, 9))  # past due and no interpretation: missed
    await evaluate(desk.store, desk.clock.now())
    assert (await rows(desk.store, rule="R3"))[0].state == "missed"
    interp = await desk.approved("interpretation", "决策解读", interprets=decision)
    await desk.publish([interp])
    await evaluate(desk.store, desk.clock.now())
    [r3] = await rows(desk.store, rule="R3")
    assert (r3.state, r3.met_by) == ("late", interp)  # met after its due instant: late, kept


async def test_a_deadline_into_2027_is_marked_uncertain_and_a_missed_one_stays_a_year_later(
        desk: Desk) -> None:
    desk.clock.set(beijing(2026, 12, 24, 9))
    item = await desk.add("list_change", "权责清单调整", issued="2026-12-24", changed_on="2026-12-24")
    await evaluate(desk.store, desk.clock.now())
    [r4] = await rows(desk.store, rule="R4")
    assert r4.subject_id == item and r4.uncertain and r4.due_on.year == 2027
    desk.clock.set(beijing(2027, 12, 24, 9))
    await evaluate(desk.store, desk.clock.now())
    [r4] = await rows(desk.store, rule="R4")
    assert r4.state == "missed"


async def test_evaluation_twice_and_from_two_services_creates_each_obligation_once(
        desk: Desk, database_url: str) -> None:
    policy = await desk.approved("policy", "通知", formed_on="2026-11-10")
    await desk.publish([policy])
    now = desk.clock.now()
    assert await evaluate(desk.store, now) == 2  # R1 and L26
    assert await evaluate(desk.store, now) == 0
    other = Store.open(database_url)  # a second node on the same store
    try:
        extra = await desk.add("list_change", "名单变更", issued="2026-11-20", changed_on="2026-11-19")
        counts = await asyncio.gather(evaluate(desk.store, now), evaluate(other, now),
                                      evaluate(other, now))
    finally:
        await other.close()
    assert sum(counts) == 1
    assert sorted((r.rule, r.subject_id) for r in await rows(desk.store)) == sorted(
        [("R1", policy), ("L26", policy), ("R4", extra)])


async def test_a_waiver_needs_a_reason_and_is_audited(desk: Desk) -> None:
    await desk.add("list_change", "名单变更", issued="2026-11-20", changed_on="2026-11-19")
    await evaluate(desk.store, desk.clock.now())
    [r4] = await rows(desk.store)
    with pytest.raises(InputError, match="必须说明理由"):
        await desk.store.transaction(lambda s: ob.waive(s, r4.id, reason=" ", actor="carol",
                                                         now=desk.clock.now()))
    await desk.store.transaction(lambda s: ob.waive(s, r4.id, reason="调整已撤销", actor="carol",
                                                     now=desk.clock.now()))
    desk.clock.advance(days=60)
    await evaluate(desk.store, desk.clock.now())  # a waiver is never overwritten
    [r4] = await rows(desk.store)
    assert (r4.state, r4.waived_by, r4.waive_reason) == ("waived", "carol", "调整已撤销")
    async with desk.store.sessions() as s:
        event = await s.scalar(select(AuditEvent).where(AuditEvent.action == "obligation_waived"))
    assert event is not None and event.actor == "carol" and event.detail["obligation"] == r4.id


async def test_a_policy_marked_as_needing_no_interpretation_is_waived_with_its_reason(desk: Desk) -> None:
    policy = await desk.approved("policy", "通知", interpretation="none",
                                 interpretation_reason="仅调整文号，无实质内容")
    await desk.publish([policy])
    await evaluate(desk.store, desk.clock.now() + timedelta(days=30))
    [r1] = await rows(desk.store, rule="R1")
    assert (r1.state, r1.waived_by, r1.waive_reason) == ("waived", "alice", "仅调整文号，无实质内容")


async def test_the_ticker_sweep_evaluates_and_a_release_it_fires_meets_the_obligation(desk: Desk) -> None:
    from schedules import releases
    from schedules.ticker import Ticker

    await desk.add("list_change", "名单变更", issued="2026-11-20", changed_on="2026-11-19")
    item = await desk.approved("list_change", "清单调整", issued="2026-11-20", changed_on="2026-11-18")
    await desk.schedule([item])

    async def fire(rid: int) -> releases.FireResult:
        return await desk.fire(rid)

    ticker = Ticker(desk.store, desk.clock, fire, node="n1",
                    on_sweep=lambda: evaluate(desk.store, desk.clock.now()))
    await ticker.sweep()  # nothing due yet: two open obligations
    assert [r.state for r in await rows(desk.store, rule="R4")] == ["open", "open"]
    desk.clock.advance(minutes=5)
    await ticker.sweep()  # fires the release, then evaluates
    assert {r.subject_id: r.state for r in await rows(desk.store, rule="R4")}[item] == "met"


POLICY = """---
kind: policy
title: 关于印发实施办法的通知
department: 市政务服务局
index_no: 11000000/2026-00123
doc_no: 京政服发〔2026〕12号
issuer: 示例市政务服务局
issued: 2026-11-18
formed_on: {formed}
---
正文。
"""


def test_the_cli_lists_in_chinese_and_json_and_waives(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url, "[rules.R5]\nenabled = false\n")  # only L26 here
    (tmp_path / "p.md").write_text(POLICY.format(formed="2026-13-01"), encoding="utf-8")
    bad = invoke(env, "post", "add", str(tmp_path / "p.md"), code=2).output
    assert "formed_on" in bad and "YYYY-MM-DD" in bad
    (tmp_path / "p.md").write_text(POLICY.format(formed="2025-01-02"), encoding="utf-8")
    item = cli_json(env, "post", "add", str(tmp_path / "p.md"))["id"]
    data = cli_json(env, "obligations", "--rule", "L26")["obligations"]
    assert [(o["rule"], o["subject"], o["state"]) for o in data] == [
        ("L26", {"type": "item", "id": item}, "missed")]
    assert data[0]["due_at"] == "2025-02-06T16:00:00+00:00"  # end of 6 Feb 2025 in Beijing (after 春节)
    board = invoke(env, "obligations").output
    assert f"稿件 {item}" in board and "2025-02-06 23:59 前完成：已超期未完成" in board
    status = invoke(env, "status").output
    assert "时限义务（即将到期或已超期，1）" in status and "已超期未完成" in status
    assert [o["id"] for o in cli_json(env, "status")["obligations"]] == [data[0]["id"]]
    assert "原因" not in invoke(env, "obligations", "waive", str(data[0]["id"]), code=2).output
    out = invoke(env, "obligations", "waive", str(data[0]["id"]), "--reason", "已在公报公开").output
    assert "已豁免" in out
    assert "已豁免（alice：已在公报公开）" in invoke(env, "obligations", "--state", "waived").output
    assert "未知状态" in invoke(env, "obligations", "--state", "gone", code=2).output
    assert "时限义务" not in invoke(env, "status").output  # waived: off the duty board


@pytest.mark.parametrize(("meta", "field", "words"), [
    ({"kind": "decision", "meeting_date": "2026-02-30"}, "meeting_date", "YYYY-MM-DD"),
    ({"kind": "policy", "interpretation": "none"}, "interpretation_reason", "必须说明理由"),
    ({"kind": "policy", "interpretation": "不要"}, "interpretation", "interpretation: none"),
    ({"kind": "news", "interpretation": "none", "interpretation_reason": "无"}, "interpretation",
     "只有 kind: policy"),
])
def test_bad_deadline_front_matter_is_refused_in_chinese(meta: dict, field: str, words: str) -> None:
    from content.frontmatter import build

    with pytest.raises(InputError) as err:
        build({"title": "标题", **meta}, "正文。")
    assert err.value.field == field and words in err.value.render()
