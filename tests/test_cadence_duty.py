"""Warnings reach the duty contacts: by SMS through the SMS channel's provider path (the Aliyun
emulator as a real local server), once; new-media accounts (C6) tracked by their sent
deliveries; the command line lists every rule by its RULES.md id, in Chinese."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import outbox
from bot.service import Service
from bot.settings import Settings
from channels.base import Outcome, Result
from channels.sandbox.sms_center import Template
from content.cadence import DutyMessage, ObligationNotice
from content.clock import FixedClock
from content.models import Delivery
from schedules import obligations as ob
from tests.botproc import bot_env, cli_json, invoke
from tests.desk import Desk
from tests.test_cadence_rules import CALENDAR, evaluate, rows, stages
from tests.test_sms_kit import ALIYUN_KEYS, start_emulators

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUTY = Template("notice", "时限提醒：${rule} ${what}${state}，期限${due}，请及时处理。")


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def test_a_duty_contact_gets_one_sms_per_warning_through_the_provider(
        tmp_path: Path, sqlite_url: str) -> None:
    emu = await start_emulators()
    emu.aliyun_options.templates["SMS_900000010"] = DUTY  # the duty template, "approved"
    conf = Settings.model_validate({
        "bot": {"data_dir": str(tmp_path / "var"), "database_url": sqlite_url, "load_sample": False},
        "channels": {"sms": {"enabled": True, "sandbox": False, "base_url": emu.aliyun_url,
                             "access_key_id": ALIYUN_KEYS[0], "access_key_secret": ALIYUN_KEYS[1],
                             "unsubscribe_secret": "s", "callback_token": "t"}},
        "rules": {"R5": {"live_columns": ["人事信息"]}},
        "duty_contacts": [{"department": "*", "name": "值班员", "sms": "13800000001"},
                          {"department": "市教委", "sms": "13800000002"}]})
    svc = await Service.create(conf, clock=FixedClock(beijing(2026, 11, 20, 9)))
    try:
        await svc.evaluate_obligations()
        await svc.evaluate_obligations()  # a second sweep: nothing new to say
        [text] = [m.content for m in emu.center.inbox("13800000001")]
        assert "R5" in text and "栏目“人事信息”" in text and "已超期未完成" in text
        assert emu.center.inbox("13800000002") == []  # another department's contact
        async with svc.store.sessions() as s:
            [msg] = list(await s.scalars(select(DutyMessage)))
        assert (msg.state, msg.attempts, msg.remote_id != "") == ("sent", 1, True)
    finally:
        await svc.store.close()
        await emu.close()


async def test_a_duty_sms_without_the_sms_channel_is_recorded_as_failed(tmp_path: Path,
                                                                        sqlite_url: str) -> None:
    conf = Settings.model_validate({
        "bot": {"data_dir": str(tmp_path / "var"), "database_url": sqlite_url, "load_sample": False},
        "channels": {"sms": {"enabled": False}},
        "rules": {"R5": {"live_columns": ["人事信息"]}},
        "duty_contacts": [{"department": "*", "sms": "13800000001"}]})
    svc = await Service.create(conf, clock=FixedClock(beijing(2026, 11, 20, 9)))
    try:
        await svc.evaluate_obligations()
        async with svc.store.sessions() as s:
            [msg] = list(await s.scalars(select(DutyMessage)))
        assert msg.state == "failed" and "短信渠道未启用" in (msg.last_error or "")
    finally:
        await svc.store.close()


async def _sent(desk: Desk, channel: str, at: datetime) -> None:
    """A release to the website and ``channel`` fired at ``at``; the channel reports it sent."""
    item = await desk.approved("news", f"{channel} 推送")
    release = await desk.publish([item], at=at, channels=("website", channel))

    async def settle(s: Any) -> None:
        d = await s.scalar(select(Delivery).where(Delivery.release_id == release, Delivery.channel == channel))
        await outbox.settle(s, d.id, Result(Outcome.SENT, "已发布"), now=at, source="test")

    await desk.store.transaction(settle)


async def test_a_new_media_account_not_updated_for_two_weeks_is_missed(desk: Desk) -> None:
    conf = Settings.model_validate({"rules": {"R5": {"enabled": False}},
                                    "channels": {"weibo": {"enabled": True}, "wechat": {"enabled": True}}})
    desk.clock.set(beijing(2026, 11, 1, 9))
    await _sent(desk, "weibo", beijing(2026, 11, 2, 10))
    await evaluate(desk.store, beijing(2026, 11, 12, 9), conf)
    accounts = await rows(desk.store, "C6")
    [wechat] = [r for r in accounts if r.period == "blank"]  # never sent: its clock starts now
    assert (wechat.state, wechat.due_on.isoformat()) == ("open", "2026-11-26")
    assert all(r.period == "blank" for r in accounts)  # weibo is not at risk yet
    made = await evaluate(desk.store, beijing(2026, 11, 13, 9), conf)
    [weibo] = [r for r in await rows(desk.store, "C6") if r.period == "2026-11-02"]
    assert weibo.due_on.isoformat() == "2026-11-16"
    assert any(n.obligation_id == weibo.id and "政务微博" in n.text for n in made)
    await evaluate(desk.store, beijing(2026, 11, 17, 9), conf)
    [weibo] = [r for r in await rows(desk.store, "C6") if r.period == "2026-11-02"]
    assert weibo.state == "missed" and await stages(desk.store, weibo.id) == ["before", "missed"]
    await _sent(desk, "weibo", beijing(2026, 11, 18, 12))
    await evaluate(desk.store, beijing(2026, 11, 18, 13), conf)
    [weibo] = [r for r in await rows(desk.store, "C6") if r.period == "2026-11-02"]
    assert weibo.state == "late" and weibo.met_at == beijing(2026, 11, 18, 12)
    assert CALENDAR.is_workday(weibo.due_on)


def test_the_command_line_lists_cadence_rules_by_id_in_chinese(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url, """
[rules.R5]
live_columns = ["人事信息"]
[rules.R5.columns]
"政策文件" = "3m"
[[departments]]
name = "市发展改革委"
head = "张主任"
press_conferences_per_quarter = 2
[[duty_contacts]]
department = "*"
sms = "13800000001"
wechat_openid = "oDutyOnCall0000000000000000A"
""")
    data = cli_json(env, "obligations")["obligations"]
    got = {(o["rule"], o["subject"]["type"], o["subject_name"]) for o in data}
    assert {("R5", "column", "人事信息"), ("R6", "department", "市发展改革委"),
            ("R7", "department", "市发展改革委")} <= got
    blank = next(o for o in data if o["subject_name"] == "人事信息")
    assert blank["state"] == "missed" and [n["stage"] for n in blank["notices"]] == ["missed"]
    text = invoke(env, "obligations", "--rule", "r5").output
    assert "R5 网站与栏目更新  栏目“人事信息”（空白栏目）" in text and "已提醒：已超期未完成" in text
    assert "R6 每季度新闻发布会  部门“市发展改革委”" in invoke(env, "obligations", "--rule", "R6").output
    status = invoke(env, "status").output
    assert "时限提醒（近 7 天" in status and "【R5】网站与栏目更新：栏目“人事信息”（空白栏目）" in status
    assert "通知值班人员：短信 138****0001 待发送" in status  # the bot's SMS sandbox is not running here
    assert "微信模板消息 oDut…000A 待发送" in status
    [told] = cli_json(env, "status")["obligation_notices"][0]["messages"][-1:]
    assert (told["channel"], told["address"], told["state"]) == ("wechat", "oDutyOnCall0000000000000000A", "pending")
    assert cli_json(env, "status")["obligation_notices"][0]["rule"] == "R5"
    assert "未知规则" in invoke(env, "obligations", "--rule", "R2", code=2).output
    bad = invoke(env, "obligations", "waive", str(blank["id"]), code=2).output
    assert "必须说明理由" in bad
    out = invoke(env, "obligations", "waive", str(blank["id"]), "--reason", "栏目已撤销", user="carol").output
    assert "已豁免" in out
    [row] = [o for o in cli_json(env, "obligations", "--state", "waived")["obligations"]]
    assert (row["waived_by"], row["waive_reason"]) == ("carol", "栏目已撤销")
    assert ob.State(row["state"]) is ob.State.WAIVED
    (tmp_path / "b").mkdir()
    bad_conf = bot_env(tmp_path / "b", sqlite_url, '[rules.C6]\nevery = "两周"\n', migrate=False)
    assert "rules.C6.every" in invoke(bad_conf, "obligations", code=2).output


async def test_a_miss_first_seen_long_after_is_recorded_without_texting_anyone(desk: Desk) -> None:
    conf = Settings.model_validate({"duty_contacts": [{"department": "*", "sms": "13800000001"}]})
    desk.clock.set(beijing(2026, 9, 24, 9))
    await desk.publish([await desk.approved("news", "动态")], at=beijing(2026, 9, 25, 10))
    made = await evaluate(desk.store, beijing(2026, 10, 12, 9), conf)  # W40 ended 8 days ago
    weeks = {r.period: r.id for r in await rows(desk.store, "R5", "site")}
    assert {n.obligation_id for n in made if n.stage == "missed"} >= {weeks["2026-W40"], weeks["2026-W41"]}
    async with desk.store.sessions() as s:
        texted = set(await s.scalars(select(ObligationNotice.obligation_id).join(
            DutyMessage, DutyMessage.notice_id == ObligationNotice.id)))
    assert weeks["2026-W41"] in texted  # ended 9 hours ago: the duty contact is told
    assert weeks["2026-W40"] not in texted  # ended a week ago: recorded only
