"""Recurring releases (rule R10): Chinese rules parsed into a structured form, occurrences on the
working-day calendar across National Day (the 调休 Saturday counts) and across 2026-12-31, one
obligation per occurrence with a reminder sent once when nothing is attached 3 working days
ahead, and an attached item released like any release at the occurrence's instant."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import settings as config
from bot.ops import recurring as ops
from bot.service import Service
from content.accounts import AccountView, Role
from content.clock import FixedClock
from content.errors import Forbidden, InputError, WorkflowError
from content.cadence import DutyMessage, ObligationNotice
from content.models import Obligation
from content.webhook_models import Event
from schedules import recurring
from schedules.calendar import WorkdayCalendar
from tests.botproc import bot_env, cli_json, invoke
from tests.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAROL = AccountView("carol", "carol", "", (Role.APPROVER,), False, False)
ALICE = AccountView("alice", "alice", "", (Role.AUTHOR,), False, False)
HOLIDAYS_2027 = '[years.2027]\nholidays = ["2027-01-01"]\n'


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


def local(when: datetime) -> str:
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
async def world(tmp_path: Path, database_url: str):
    (tmp_path / "holidays.toml").write_text(HOLIDAYS_2027, encoding="utf-8")
    file = tmp_path / "config.toml"
    file.write_text(f'[calendar]\ndata_file = "{tmp_path / "holidays.toml"}"\n[channels.sms]\nenabled = false\n'
                    '[channels.wechat]\nenabled = false\n[channels.weibo]\nenabled = false\n'
                    '[[duty_contacts]]\ndepartment = "*"\nname = "值班员"\nsms = "13800000001"\n', encoding="utf-8")
    settings = config.load(file, environ={"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"),
                                          "GONGKAI_BOT__DATABASE_URL": database_url})
    clock = FixedClock(beijing(2026, 9, 20, 10))
    svc = await Service.create(settings, clock=clock)
    yield svc, Desk(svc.store, clock, tmp_path / "files"), clock
    await svc.store.close()


def test_rules_are_parsed_into_a_structured_form_with_clear_errors() -> None:
    assert recurring.parse("每月第5个工作日 10:00").to_json() == {"period": "month", "day": "workday", "n": 5, "time": "10:00"}
    assert recurring.parse("每季度首月第10个工作日 9:30").to_json() == {
        "period": "quarter", "day": "workday", "n": 10, "time": "09:30"}
    assert recurring.parse("每月1日 9:00").to_json() == {"period": "month", "day": "calendar", "n": 1, "time": "09:00"}
    for bad, words in [("每周一 9:00", "无法识别的周期规则"), ("每月第0个工作日", "序号 0 超出范围"),
                       ("每月第5个工作日 24:00", "时间 24:00 无效"), ("每月首月第1个工作日", "只有“每季度”")]:
        with pytest.raises(InputError, match=words) as err:
            recurring.parse(bad)
        assert err.value.field == "--rule" and "每月第5个工作日 10:00" in err.value.render() or "范围" in err.value.render() \
            or "时间" in err.value.render()


def test_occurrences_skip_national_day_and_count_the_adjusted_saturday() -> None:
    cal = WorkdayCalendar.load()
    monthly = recurring.parse("每月第5个工作日 10:00")
    assert monthly.date_in(2026, 10, cal) == date(2026, 10, 13)  # 8, 9, 10 (调休 Saturday), 12, 13
    quarterly = recurring.parse("每季度首月第10个工作日 9:30")
    assert quarterly.occurrences(date(2026, 9, 1), date(2026, 12, 31), cal) == [date(2026, 10, 20)]


async def test_occurrences_across_the_year_end_and_the_reminder_sent_once(world) -> None:  # noqa: ANN001
    svc, desk, clock = world
    with pytest.raises(Forbidden):
        await ops.add(svc, ALICE, name="月度监督检查结果", rule="每月第5个工作日 10:00")
    sch = await ops.add(svc, CAROL, name="月度监督检查结果", rule="每月第5个工作日 10:00", lead=3)
    assert [local(o.due_at) for o in sch.upcoming][:2] == ["2026-10-13 10:00", "2026-11-06 10:00"]
    with pytest.raises(InputError, match="已有名为"):
        await ops.add(svc, CAROL, name="月度监督检查结果", rule="每月1日 9:00")
    clock.set(beijing(2026, 12, 20, 10))
    await svc.evaluate_obligations()
    [listed] = await ops.listing(svc, CAROL)
    # 2027-01-01 is a holiday (the calendar data file): the 5th working day is Friday 8 January
    assert [local(o.due_at) for o in listed.upcoming][:2] == ["2027-01-08 10:00", "2027-02-05 10:00"]

    clock.set(beijing(2026, 10, 8, 9))  # 4 working days before 13 October: no reminder yet
    await svc.evaluate_obligations()
    assert await warnings(svc) == []
    clock.set(beijing(2026, 10, 9, 9))  # 10, 12, 13 October: 3 working days ahead
    await svc.evaluate_obligations()
    await svc.evaluate_obligations()  # a second sweep (or node) sends nothing more
    [warning] = await warnings(svc)
    assert warning.payload["rule"] == "R10" and warning.payload["working_days_left"] == 3
    assert warning.payload["recurring"]["name"] == "月度监督检查结果"
    # the duty contact is told too, once, like every other warning (and it is on the board)
    [(notice, told)] = await duty_notices(svc)
    assert notice.stage == "before" and "【R10】定期发布" in notice.text and "2026-10-13" in notice.text
    assert [(m.channel, m.address) for m in told] == [("sms", "13800000001")]
    clock.set(beijing(2026, 10, 12, 9))  # the next working day: still nothing attached, not told again
    await svc.evaluate_obligations()
    assert len(await duty_notices(svc)) == 1 and len(await warnings(svc)) == 1


async def duty_notices(svc: Service) -> list[tuple[ObligationNotice, list[DutyMessage]]]:
    async with svc.store.sessions() as s:
        notices = list(await s.scalars(select(ObligationNotice).where(  # (the test's trip to December
            ObligationNotice.rule == "R10", ObligationNotice.stage == "before")))  # recorded misses)
        return [(n, list(await s.scalars(select(DutyMessage).where(DutyMessage.notice_id == n.id))))
                for n in notices]


async def warnings(svc: Service) -> list[Event]:
    async with svc.store.sessions() as s:
        return [e for e in await s.scalars(select(Event).where(Event.name == "obligation.warning"))
                if e.payload.get("rule") == "R10"]  # the site's weekly R5 warns on its own


async def test_an_attached_item_fires_at_the_occurrence_and_meets_the_obligation(world) -> None:  # noqa: ANN001
    svc, desk, clock = world
    sch = await ops.add(svc, CAROL, name="季度监督检查结果", rule="每季度首月第10个工作日 9:30", lead=2)
    [occ] = sch.upcoming
    assert local(occ.due_at) == "2026-10-20 09:30"
    draft = await desk.add("news", "三季度监督检查结果")
    with pytest.raises(WorkflowError, match="尚未审核通过"):
        await ops.attach(svc, CAROL, occ.id, draft)
    item = await desk.approved("news", "三季度监督检查结果（定稿）")
    done = await ops.attach(svc, CAROL, occ.id, item)
    assert done.created.release.due_at == occ.due_at and done.occurrence.item_id == item
    with pytest.raises(WorkflowError, match="已指定稿件"):
        await ops.attach(svc, CAROL, occ.id, item)
    clock.set(beijing(2026, 10, 16, 9))  # 2 working days ahead, but attached: no reminder
    await svc.evaluate_obligations()
    assert await warnings(svc) == [] and await duty_notices(svc) == []
    clock.set(occ.due_at)
    assert (await svc.fire(done.created.release.id)).outcome == "published"
    async with svc.store.sessions() as s:
        row = await s.scalar(select(Obligation).where(Obligation.rule == "R10", Obligation.subject_id == occ.id))
    assert row is not None and (row.state, row.met_by, row.met_at) == ("met", item, occ.due_at)


def test_the_cli_adds_lists_and_refuses_a_bad_rule_in_chinese(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url)
    bad = invoke(env, "release", "recurring", "add", "--name", "周报", "--rule", "每周五", user="carol", code=2).output
    assert "无法识别的周期规则“每周五”" in bad and "每月第5个工作日 10:00" in bad
    data = cli_json(env, "release", "recurring", "add", "--name", "月报", "--rule", "每月1日 9:00", user="carol")
    assert data["rule"] == {"period": "month", "day": "calendar", "n": 1, "time": "09:00"} and data["upcoming"]
    out = invoke(env, "release", "recurring", "list").output
    assert "月报：每月1日 09:00" in out and "未指定稿件" in out
    assert "已停用" in invoke(env, "release", "recurring", "remove", str(data["id"]), user="carol").output
    assert "没有定期发布" in invoke(env, "release", "recurring", "list").output


async def test_a_cancelled_release_leaves_the_occurrence_open_for_another_item(world) -> None:  # noqa: ANN001
    from bot.ops import releases

    svc, desk, clock = world
    [occ, *_] = (await ops.add(svc, CAROL, name="月报", rule="每月第5个工作日 10:00", lead=3)).upcoming
    first = await ops.attach(svc, CAROL, occ.id, await desk.approved("news", "十月月报（初稿）"))
    await releases.cancel(svc, CAROL, first.created.release.id, reason="换稿")
    clock.set(beijing(2026, 10, 9, 9))
    await svc.evaluate_obligations()
    assert len(await warnings(svc)) == 1  # nothing attached any more: reminded
    again = await ops.attach(svc, CAROL, occ.id, await desk.approved("news", "十月月报"))
    assert again.created.release.due_at == occ.due_at
