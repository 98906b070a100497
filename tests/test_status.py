"""``gongkai status`` tells the person on duty what is wrong: a release past due that nobody
sent, a scheduler that stopped, items returned to them, deadlines that rest on guessed
calendars; ``release create`` warns when no scheduler will send what it just planned."""
from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import RulesSettings
from content.clock import FixedClock
from content.db import Store
from schedules import obligations
from schedules.calendar import WorkdayCalendar
from tests.botproc import bot_env, cli_json, invoke, start_bot, stop_bot
from tests.desk import Desk

NEWS = "---\nkind: news\ntitle: 社区服务中心搬迁\ndepartment: 示例市民政局\n---\n新址启用。\n"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str) -> dict:
    (tmp_path / "news.md").write_text(NEWS, encoding="utf-8")
    return bot_env(tmp_path, sqlite_url, url=sqlite_url)


def approved(env: dict) -> str:
    item = str(cli_json(env, "post", "add", str(env["dir"] / "news.md"))["id"])
    invoke(env, "post", "submit", item)
    invoke(env, "post", "approve", item, user="bob")
    invoke(env, "post", "approve", item, user="dave")
    return item


def test_a_release_past_due_and_not_sent_is_flagged(env: dict) -> None:
    item = approved(env)
    at = (datetime.now(SHANGHAI) - timedelta(minutes=7)).strftime("%Y-%m-%d %H:%M:%S")
    out = invoke(env, "release", "create", item, "--at", at, "--now", "--channels", "website").output
    assert "调度器未运行：计划将在 gongkai run 启动后发出" in out
    board = invoke(env, "status").output
    assert "已过期 7 分钟未发出！调度器未运行？" in board
    data = cli_json(env, "status")
    assert data["upcoming"][0]["overdue_minutes"] == 7
    assert data["ticker"]["state"] == "never"


def test_a_release_far_ahead_says_nothing_about_the_scheduler(env: dict) -> None:
    item = approved(env)
    at = (datetime.now(SHANGHAI) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    out = invoke(env, "release", "create", item, "--at", at, "--channels", "website").output
    assert "调度器未运行" not in out
    assert "已过期" not in invoke(env, "status").output


def test_a_clean_stop_shows_at_once_and_a_crash_soon(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONGKAI_SCHEDULE__SWEEP_SECONDS", "1")  # the bot's heartbeat every second
    bot = start_bot(env, quiet=True)
    try:
        deadline = time.time() + 15
        while cli_json(env, "status")["ticker"]["state"] != "running" and time.time() < deadline:
            time.sleep(0.2)
        assert "调度器：运行中" in invoke(env, "status").output
    finally:
        stop_bot(bot)
    data = cli_json(env, "status")
    assert data["ticker"]["state"] == "stopped" and data["ticker"]["running"] is False
    assert "调度器：已停止" in invoke(env, "status").output

    bot = start_bot(env, quiet=True)
    deadline = time.time() + 15
    while cli_json(env, "status")["ticker"]["state"] != "running" and time.time() < deadline:
        time.sleep(0.2)
    bot.send_signal(signal.SIGKILL)
    bot.wait(timeout=10)
    killed = time.time()
    while cli_json(env, "status")["ticker"]["state"] == "running":
        assert time.time() - killed < 10, "a crashed scheduler still shows as running"
        time.sleep(0.2)
    assert "心跳已中断" in invoke(env, "status").output


def test_a_returned_item_is_shown_to_its_author_with_the_comment(env: dict) -> None:
    item = str(cli_json(env, "post", "add", str(env["dir"] / "news.md"))["id"])
    invoke(env, "post", "submit", item)
    invoke(env, "post", "return", item, "--comment", "请补充新址的开放时间", user="bob")
    board = invoke(env, "status", user="alice").output
    assert "退回给我（1）" in board
    assert f"稿件 {item}" in board and "bob" in board and "请补充新址的开放时间" in board
    data = cli_json(env, "status", user="alice")
    assert data["returned_to_me"] == [{"id": int(item), "title": "社区服务中心搬迁", "by": "bob",
                                       "comment": "请补充新址的开放时间",
                                       "at": data["returned_to_me"][0]["at"]}]
    assert "退回给我" not in invoke(env, "status", user="carol").output


def test_an_r1_deadline_in_a_year_without_data_says_uncertain_in_the_text(env: dict) -> None:
    async def publish_policy() -> int:
        store = Store.open(env["url"])
        try:
            clock = FixedClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc))
            desk = Desk(store, clock, env["dir"] / "files")
            policy = await desk.approved("policy", "关于年末事项的通知")
            await desk.publish([policy], at=datetime(2026, 12, 30, 2, 0, tzinfo=timezone.utc))
            later = datetime(2027, 1, 11, 2, 0, tzinfo=timezone.utc)  # past due, no interpretation
            await store.transaction(lambda s: obligations.evaluate(
                s, WorkdayCalendar.load(), dict(RulesSettings()), tz=SHANGHAI, now=later))
            return policy
        finally:
            await store.close()

    policy = asyncio.run(publish_policy())
    board = invoke(env, "status").output
    line = next(x for x in board.splitlines() if f"稿件 {policy}" in x and "R1" in x)
    assert "不确定" in line and "2027 年" in line
