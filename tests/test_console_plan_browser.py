"""In a real browser against a real ``gongkai run``: an approver opens the calendar, schedules
a policy with its interpretation from a day's cell, confirms the SMS reach, and sees the
deliveries settle against the sandbox emulators on the release's page (发布记录)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.settings import load
from content import accounts, subscribers, workflow
from content.accounts import Role
from content.clock import FixedClock, SystemClock
from content.db import Store
from tests.botproc import bot_env, start_bot, stop_bot
from tests.browser_support import browser, run, shoot
from tests.desk import Desk

PASSWORD = "correct-horse-1"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)

SMS = """
[channels.sms]
quiet_start = "00:00"
quiet_end = "00:00"
"""


async def _history(store: Store, now: datetime) -> int:
    """What makes the calendar worth looking at: a policy published before National Day (its R1
    deadline falls on the 调休 Saturday), a release in two days pushing to WeChat, and a bundle
    held because its interpretation is still under review (returns that release's id)."""
    desk = Desk(store, FixedClock(beijing(2026, 9, 29, 10)), Path("files"))
    earlier = await desk.approved("policy", "关于加强基层政务公开的通知")
    await desk.publish([earlier], at=beijing(2026, 9, 30, 10))
    desk.clock.set(now)
    december = await desk.approved("news", "冬季供暖服务热线开通")
    await desk.schedule([december], at=now + timedelta(days=2), channels=("website", "wechat"),
                        options={"push": "all"})
    policy = await desk.approved("policy", "关于调整公共租赁住房租金的通知")
    reading = await desk.add("interpretation", "租金调整政策解读", interprets=policy)
    await store.transaction(lambda s: workflow.submit(s, reading, actor="alice", now=now, rules=desk.rules,
                                                      files=desk.files))
    return await desk.schedule([policy, reading], at=now - timedelta(minutes=1), allow_pending=True,
                               allow_past=True)


async def _prepare(env: dict) -> tuple[int, int, int]:
    settings = load(env["config"], {})
    store = Store.open(settings.database_url)
    now = SystemClock().now()
    try:
        await store.transaction(lambda s: accounts.add(
            s, "chen", name="陈签发", roles=(Role.APPROVER,), department="办公室", password=PASSWORD,
            actor="test", now=now))
        desk = Desk(store, FixedClock(now), env["dir"] / "var" / "files")
        policy = await desk.approved("policy", "关于优化营商环境的若干措施")
        reading = await desk.approved("interpretation", "《若干措施》政策解读", interprets=policy)
        async with store.sessions() as s, s.begin():
            for phone in ("13800000001", "13800000002"):
                await subscribers.upsert(s, "sms", phone, now=now, status="active", topics=["all"],
                                         consent_method="test")
        return policy, reading, await _history(store, now)
    finally:
        await store.close()


def test_an_approver_schedules_a_bundle_from_the_calendar(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url, SMS)
    policy, reading, held = run(_prepare(env))
    proc = start_bot(env, quiet=True)
    base = f"http://127.0.0.1:{env['port']}"
    try:
        with browser() as chrome:
            page = chrome.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/console/login?next=/console/plan/")
            page.fill("#login", "chen")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/console/plan/")
            shoot(page, "plan-month")
            page.click("a[rel=next]")
            shoot(page, "plan-month-next")
            now = SystemClock().now().astimezone(SHANGHAI)
            page.keyboard.press("ArrowLeft")  # the script's shortcut back to the month before
            page.wait_for_url(base + f"/console/plan/?month={now:%Y-%m}")
            page.click("a.switch")
            shoot(page, "plan-week")
            page.goto(base + "/console/plan/?month=2026-10")
            assert "调休上班" in page.inner_text("main") and "R1 时限" in page.inner_text("main")
            shoot(page, "plan-month-national-day")
            page.goto(base + "/console/plan/?week=2026-W41")
            shoot(page, "plan-week-national-day")
            page.goto(base + f"/console/plan/?month={SystemClock().now().astimezone(SHANGHAI) + timedelta(days=2):%Y-%m}")
            assert "微信群发 1/1" in page.inner_text("main")
            shoot(page, "plan-month-push")
            page.goto(base + f"/console/releases/{held}")
            assert "拆分" in page.inner_text("main")
            shoot(page, "release-held")
            page.goto(base + "/console/plan/")
            today = SystemClock().now().astimezone(ZoneInfo("Asia/Shanghai"))
            page.click(f"a.add[href='/console/plan/new?day={today:%Y-%m-%d}']")
            assert page.input_value("#at") == f"{today:%Y-%m-%d} 09:00"
            page.click(f"a.bundle[href^='/console/plan/new?item={policy}']")
            assert page.is_checked(f"input[name=items][value='{policy}']")
            assert page.is_checked(f"input[name=items][value='{reading}']")
            due = SystemClock().now().astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=8)
            page.fill("#at", f"{due:%Y-%m-%d %H:%M:%S}")
            for name in ("wechat", "weibo"):
                page.uncheck(f"input[name=channels][value={name}]")
            shoot(page, "plan-new")
            page.click("button.primary")
            assert "短信订阅号码" in page.inner_text("main") and "确认创建" in page.inner_text("main")
            shoot(page, "plan-confirm")
            page.click("text=确认创建")
            page.wait_for_url(base + "/console/releases/*")
            assert "已创建发布计划" in page.inner_text("main")
            deadline = time.time() + 40
            while time.time() < deadline:
                text = page.inner_text("main")
                if text.count("已送达") >= 2:
                    break
                time.sleep(1)
                page.reload()
            text = page.inner_text("main")
            assert "网站" in text and "短信" in text and text.count("已送达") >= 2, text
            assert page.locator("article.delivery a[href^='http']").count() >= 1  # the published page
            shoot(page, "release")
            page.goto(base + "/console/releases/")
            assert "已发布" in page.inner_text("main")
            shoot(page, "releases")
            assert errors == []
    finally:
        stop_bot(proc)
