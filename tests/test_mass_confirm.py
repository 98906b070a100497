"""A release that messages or pushes to many people says to how many and asks first: at a
terminal it waits for a yes, in a script it needs --yes, and a no changes nothing."""
from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from content.db import Store
from schedules import releases
from tests.botproc import bot_env, cli_json, invoke

NEWS = "---\nkind: news\ntitle: 社区服务中心搬迁\ndepartment: 示例市民政局\n---\n新址启用。\n"
CSV = "phone,topics\n13800000001,all\n13800000002,all\n13800000003,示例市民政局\n13800000004,其他主题\n"


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict:
    (tmp_path / "news.md").write_text(NEWS, encoding="utf-8")
    (tmp_path / "s.csv").write_text(CSV, encoding="utf-8")
    env = bot_env(tmp_path, database_url, url=database_url)
    cli_json(env, "post", "add", str(tmp_path / "news.md"))  # the department is a topic once an item has it
    invoke(env, "subscribers", "import", str(tmp_path / "s.csv"), "--consent", "测试：本人书面同意", code=None)
    return env


def approved(env: dict) -> str:
    item = str(cli_json(env, "post", "add", str(env["dir"] / "news.md"))["id"])
    invoke(env, "post", "submit", item)
    invoke(env, "post", "approve", item, user="bob")
    return item


def test_an_sms_release_without_a_terminal_needs_yes(env: dict) -> None:
    item = approved(env)
    refused = cli_json(env, "release", "create", item, "--at", "2030-01-02 10:00", "--channels", "website,sms",
                       code=2)
    assert "短信订阅号码：3 个，每个 1 条计费短信，共 3 条" in refused["error"]["message"]
    assert "--yes" in refused["error"]["message"]
    assert cli_json(env, "release", "list")["releases"] == []
    done = cli_json(env, "release", "create", item, "--at", "2030-01-02 10:00", "--channels", "website,sms",
                    "--yes")
    assert done["reach"] == [{"channel": "sms", "people": 3, "parts": 1, "label": "短信订阅号码"}]


def test_a_release_that_reaches_nobody_asks_nothing(env: dict) -> None:
    item = approved(env)
    done = cli_json(env, "release", "create", item, "--at", "2030-01-02 10:00", "--channels", "website,wechat")
    assert done["reach"] == []


def test_a_split_that_sends_sms_asks_too(env: dict) -> None:
    policy = approved(env)
    other = str(cli_json(env, "post", "add", str(env["dir"] / "news.md"))["id"])
    invoke(env, "post", "submit", other)
    rel = cli_json(env, "release", "create", policy, other, "--at", "2030-01-02 10:00", "--channels", "website,sms",
                   "--allow-pending", "--yes")["id"]
    # hold the bundle: the unapproved member is not ready at the instant
    async def fire() -> None:
        store = Store.open(env["url"])
        try:
            await store.transaction(lambda s: releases.fire(
                s, rel, now=datetime(2030, 1, 2, 2, 0, tzinfo=timezone.utc)))
        finally:
            await store.close()

    asyncio.run(fire())
    refused = cli_json(env, "release", "split", str(rel), code=2)
    assert "短信订阅号码：3 个" in refused["error"]["message"] and "--yes" in refused["error"]["message"]
    assert [r["state"] for r in cli_json(env, "release", "list")["releases"]] == ["held"]
    out = invoke(env, "release", "split", str(rel), "--yes").output
    assert "短信订阅号码：3 个" in out and "调度器未运行：计划将在 gongkai run 启动后发出" in out


def _at_a_terminal(env: dict, answer: str, *args: str) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as its input and output; answer the question."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(env["config"]), *args,
                             "--as", "carol"], stdin=follower, stdout=follower, stderr=follower,
                            cwd=env["dir"], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    os.close(follower)
    seen = b""
    deadline = time.time() + 30
    while "确认发出".encode() not in seen and time.time() < deadline and proc.poll() is None:
        seen += os.read(leader, 4096)
    os.write(leader, answer.encode() + b"\n")
    try:
        while True:
            chunk = os.read(leader, 4096)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(leader)
    return proc.wait(timeout=30), seen.decode(errors="replace")


def test_at_a_terminal_the_release_waits_for_a_yes(env: dict) -> None:
    item = approved(env)
    args = ("release", "create", item, "--at", "2030-01-02 10:00", "--channels", "website,sms")
    code, out = _at_a_terminal(env, "n", *args)
    assert code == 2 and "共 3 条" in out and "已取消" in out
    assert cli_json(env, "release", "list")["releases"] == []
    code, out = _at_a_terminal(env, "y", *args)
    assert code == 0 and "已创建发布计划" in out
    assert len(cli_json(env, "release", "list")["releases"]) == 1


def test_a_wechat_push_to_followers_asks_with_the_count(env: dict) -> None:
    from content import subscribers

    async def follow() -> None:
        store = Store.open(env["url"])
        try:
            for n in range(4):
                await store.transaction(lambda s, n=n: subscribers.upsert(
                    s, "wechat", f"openid-{n}", now=datetime.now(timezone.utc),
                    status="active" if n else "unsubscribed"))
        finally:
            await store.close()

    asyncio.run(follow())
    item = approved(env)
    args = ("release", "create", item, "--at", "2030-01-02 10:00", "--channels", "website,wechat")
    refused = cli_json(env, *args, "--push", "all", code=2)["error"]["message"]
    assert "微信粉丝（群发）：3 人" in refused and "--yes" in refused
    assert cli_json(env, *args, "--push", "all", "--yes")["reach"] == [
        {"channel": "wechat", "people": 3, "parts": None, "label": "微信粉丝（群发）"}]
