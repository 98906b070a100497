"""Warnings reach the duty contacts by WeChat template message as well as by SMS: a policy
published the day before National Day 2026 owes its interpretation (R1) on the adjusted Saturday
10 October; one working day before (Friday 9 October, after the holiday) the warning reaches the
contact's phone (the Aliyun emulator) and openid (the bot's WeChat sandbox, a real local server)
exactly once across sweeps and two nodes; a contact who unfollowed the account fails with the
Chinese error without holding up anyone else; WeChat being busy is retried."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from bot.ops import board
from bot.ops import obligations as ops
from bot.service import Service
from bot import settings as config
from bot.settings import Settings
from bot.web import make_app
from channels.sandbox.sms_center import Template
from channels.wechat.config import WechatSettings
from channels.wechat.duty import FINAL, template_data
from content.accounts import AccountView, Role
from content.cadence import DutyMessage
from content.clock import FixedClock
from tests.console_support import add_account, sign_in
from tests.test_sms_kit import ALIYUN_KEYS, start_emulators
from tests.test_wechat_emulator import start
from tests.wechat_support import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
DUTY = Template("notice", "时限提醒：${rule} ${what}${state}，期限${due}，请及时处理。")
ON_DUTY = "oDutyOnCall0000000000000000A"  # follows the account
LEFT = "oDutyLeftTheAccount00000000B"  # followed, then unfollowed
CAROL = AccountView("carol", "carol", "", (Role.AUTHOR,), False, False)
CONSOLE = "http://gongkai.example.gov.cn"  # http: the test client keeps no Secure cookie


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def messages(svc: Service) -> dict[tuple[str, str], list[DutyMessage]]:
    async with svc.store.sessions() as s:
        found: dict[tuple[str, str], list[DutyMessage]] = {}
        for m in await s.scalars(select(DutyMessage).order_by(DutyMessage.id)):
            found.setdefault((m.channel, m.address), []).append(m)
        return found


@pytest.fixture
async def duty_world(database_url: str, tmp_path: Path) -> Any:
    sms = await start_emulators()
    sms.aliyun_options.templates["SMS_900000010"] = DUTY  # the duty template, "approved"
    world = await World.start(database_url, tmp_path, FixedClock(beijing(2026, 9, 29, 10)),
                              wechat={"account_type": "service"}, extra={
        "channels": {"sms": {"enabled": True, "sandbox": False, "base_url": sms.aliyun_url,
                             "access_key_id": ALIYUN_KEYS[0], "access_key_secret": ALIYUN_KEYS[1],
                             "unsubscribe_secret": "s", "callback_token": "t"}},
        "console": {"base_url": CONSOLE},
        "rules": {"R5": {"enabled": False}},  # only the interpretation's deadline here
        "bot": {"data_dir": str(tmp_path / "var"), "database_url": database_url, "load_sample": False,
                "node_name": "node-a"},
        "duty_contacts": [{"department": "*", "name": "值班员甲", "sms": "13800000001", "wechat_openid": ON_DUTY},
                          {"department": "*", "name": "值班员乙", "wechat_openid": LEFT}]})
    await world.emulator.follow(ON_DUTY)
    await world.emulator.follow(LEFT)
    await world.emulator.unfollow(LEFT)
    yield world, sms
    await world.stop()
    await sms.close()


async def test_the_warning_one_working_day_before_reaches_sms_and_wechat_once_across_two_nodes(
        duty_world: Any) -> None:
    world, sms = duty_world
    clock, svc = world.clock, world.service
    policy = await world.desk.approved("policy", "关于优化营商环境的通知", department="市发展改革委")
    await world.desk.publish([policy], at=beijing(2026, 9, 30, 10), channels=("wechat",))
    second = world.settings.model_copy(deep=True)
    second.bot.node_name = "node-b"
    other = await Service.create(second, clock=clock)  # a second node on the same store
    try:
        clock.set(beijing(2026, 10, 8, 22))  # the last day of the holiday: not yet
        await svc.evaluate_obligations()
        assert await messages(svc) == {} and list(world.emulator.state.templates) == []

        clock.set(beijing(2026, 10, 9, 9))  # Friday, the working day before the due Saturday
        await svc.evaluate_obligations()
        await other.evaluate_obligations()
        await svc.evaluate_obligations()

        [text] = [m.content for m in sms.center.inbox("13800000001")]
        assert "R1" in text and "即将到期" in text and "期限10-10 23:59" in text
        [sent] = list(world.emulator.state.templates)
        assert sent["touser"] == ON_DUTY and sent["template_id"] == world.channel.creds.duty_template_id
        assert {k: v["value"] for k, v in sent["data"].items()} == {
            "character_string1": "R1", "thing2": f"稿件 {policy}",
            "time3": "2026年10月10日 23:59", "phrase4": "提前提醒"}
        assert sent["url"] == f"{CONSOLE}/console/items/{policy}"

        found = await messages(svc)
        [phone], [wechat], [left] = found["sms", "13800000001"], found["wechat", ON_DUTY], found["wechat", LEFT]
        assert (phone.state, phone.attempts) == ("sent", 1)
        assert (wechat.state, wechat.attempts, wechat.remote_id) == ("sent", 1, str(sent["msgid"]))
        assert (left.state, left.attempts) == ("failed", 1)  # final at once: not retried
        assert "43004" in left.last_error and "未关注公众号" in left.last_error

        # the duty board (gongkai status and 工作台) and the obligations list show each message
        shown = board.to_json(await board.gather(svc, with_alerts=False))["obligation_notices"]
        [notice] = [n for n in shown if n["rule"] == "R1"]
        assert {(m["channel"], m["state"]) for m in notice["messages"]} == {
            ("sms", "sent"), ("wechat", "sent"), ("wechat", "failed")}
        listing = await ops.listing(svc, CAROL, rule="R1")
        [row] = listing.to_json()["obligations"]
        assert [len(n["messages"]) for n in row["notices"]] == [3]
        await add_account(svc, "carol", Role.AUTHOR)
        async with TestClient(TestServer(make_app(svc, public=False))) as c:
            await sign_in(c, "carol")
            page = await (await c.get("/console/")).text()
        assert "时限提醒（近 7 天）" in page and "短信 138****0001" in page
        assert f"微信模板消息 {ON_DUTY[:4]}…{ON_DUTY[-4:]}" in page and "已发送" in page
        assert "发送失败" in page and "对方未关注公众号" in page

        clock.set(beijing(2026, 10, 10, 9))  # the adjusted Saturday: due today
        await other.evaluate_obligations()
        await svc.evaluate_obligations()
        assert len(sms.center.inbox("13800000001")) == 2
        assert [t["data"]["phrase4"]["value"] for t in world.emulator.state.templates] == ["提前提醒", "当日到期"]
    finally:
        await other.store.close()


async def test_wechat_busy_quota_and_network_are_retried_and_a_missing_duty_template_fails_naming_the_setting(
        duty_world: Any, tmp_path: Path) -> None:
    world, _ = duty_world
    clock, svc = world.clock, world.service
    policy = await world.desk.approved("policy", "关于推进数字政府建设的意见")
    await world.desk.publish([policy], at=beijing(2026, 9, 30, 10), channels=("wechat",))
    faults = world.emulator.faults
    seen = []
    for minute, fault in ((0, lambda: faults.errcode("message/template/send", -1)),  # 系统繁忙
                          (2, lambda: faults.errcode("message/template/send", 45009)),  # the day's quota
                          (4, lambda: faults.http_error("message/template/send", 503))):  # no clear answer
        fault()  # each sweep after the lease (60 s) has lapsed tries again
        clock.set(beijing(2026, 10, 9, 9, minute))
        await svc.evaluate_obligations()
        [wechat] = (await messages(svc))["wechat", ON_DUTY]
        seen.append((wechat.state, wechat.attempts, wechat.last_error or ""))
    assert [(state, n) for state, n, _ in seen] == [("pending", 1), ("pending", 2), ("pending", 3)]
    assert "系统繁忙" in seen[0][2] and "45009" in seen[1][2] and "HTTP 503" in seen[2][2]
    clock.set(beijing(2026, 10, 9, 9, 6))
    await svc.evaluate_obligations()
    [wechat] = (await messages(svc))["wechat", ON_DUTY]
    assert (wechat.state, wechat.attempts, wechat.last_error) == ("sent", 4, None)
    assert [t["touser"] for t in world.emulator.state.templates] == [ON_DUTY]

    # an account outside sandbox mode without duty_template_id: failed at once, naming the fix
    conf = Settings.model_validate({
        "bot": {"data_dir": str(tmp_path / "prod"), "database_url": f"sqlite:///{tmp_path / 'prod.db'}",
                "load_sample": False},
        "channels": {"wechat": {"enabled": True, "sandbox": False, "base_url": f"{world.url}/sandbox/wechat/api",
                                "app_id": "wx0000000000000001", "app_secret": "s" * 32, "token": "t",
                                "message_mode": "plain", "account_type": "service"}},
        "rules": {"R5": {"live_columns": ["人事信息"]}},
        "duty_contacts": [{"department": "*", "wechat_openid": ON_DUTY}]})
    prod = await Service.create(conf, clock=FixedClock(beijing(2026, 11, 20, 9)))
    try:
        await prod.evaluate_obligations()
        [msg] = (await messages(prod))["wechat", ON_DUTY]
        assert msg.state == "failed" and msg.attempts == 1
        assert "duty_template_id" in msg.last_error and "微信值班提醒未启用" in msg.last_error
        [alert] = [line for line in await prod.alerts() if line.startswith("时限提醒")]  # gongkai status, 工作台
        assert "未设置 [channels.wechat] duty_template_id" in alert
    finally:
        await prod.store.close()


async def test_wechatpys_client_sends_the_duty_template_data_as_the_channel_builds_it(tmp_path: Path) -> None:
    """The same data through wechatpy's own ``send_template``: the emulator (a service account)
    records it for the openid; an unfollowed openid and a wrong template id get the errcodes
    the channel treats as final."""
    emu = await start(tmp_path / "state", account_type="service")
    try:
        follower, _ = await emu.emu.follow(ON_DUTY)
        await emu.emu.follow(LEFT)
        await emu.emu.unfollow(LEFT)
        values = {"rule": "R1", "subject": "稿件“关于优化营商环境的通知（第二次征求意见稿）”", "stage": "before",
                  "due_at": "2026年10月10日 23:59"}
        data = template_data(WechatSettings(enabled=False).duty_fields, values)
        client = emu.client()

        def flow() -> dict[str, Any]:
            sent = client.message.send_template(follower, "TPL", data, url=f"{CONSOLE}/console/items/1")
            codes = []
            for openid, template in ((LEFT, "TPL"), (follower, "NOT-A-TEMPLATE")):
                with pytest.raises(WeChatClientException) as refused:
                    client.message.send_template(openid, template, data)
                codes.append(refused.value.errcode)
            return {"sent": sent, "codes": codes}

        result = await asyncio.to_thread(flow)
        assert result["sent"]["errcode"] == 0 and result["codes"] == [43004, 40037]
        assert set(FINAL) >= {43004, 40037}
        [got] = list(emu.emu.state.templates)
        assert got["touser"] == follower and got["data"]["phrase4"]["value"] == "提前提醒"
        assert len(got["data"]["thing2"]["value"]) == 20  # a long subject is cut to the thing limit
    finally:
        await emu.server.close()


def test_duty_settings_come_from_the_environment_and_bad_fields_are_refused_in_chinese(tmp_path: Path) -> None:
    s = config.load(environ={"GONGKAI_CHANNELS__WECHAT__DUTY_TEMPLATE_ID": "tpl-from-env"})
    assert s.channels.wechat.duty_template_id == "tpl-from-env"
    for fields, words in (('thing1 = "title"',
                           "channels.wechat: duty_fields.thing1 的取值 'title' 无效（修正：改为 rule、rule_label、subject"),
                          ('time1 = "subject"', "duty_fields.time1：time 类型的字段只能填到期时间"),
                          ('number1 = "rule"', "duty_fields.number1：模板字段类型 number 无法填入时限提醒")):
        f = tmp_path / "c.toml"
        f.write_text(f"[channels.wechat]\nduty_fields = {{ {fields} }}\n", encoding="utf-8")
        with pytest.raises(config.ConfigError) as err:
            config.load(f, environ={})
        assert words in str(err.value)
    f = tmp_path / "c.toml"
    f.write_text('[[duty_contacts]]\nname = "值班室"\nwechat_openid = "wxid_zhangsan"\n', encoding="utf-8")
    with pytest.raises(config.ConfigError) as err:
        config.load(f, environ={})
    assert "'wxid_zhangsan' 不是微信 OpenID" in str(err.value)
