"""End to end through the command line and a running bot: an officer writes a policy and its
interpretation, a colleague approves them, both are scheduled for one instant, and they appear
together on the website and in the feeds; a restart doubles nothing."""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from click.testing import CliRunner

from tests.botproc import bot_env, cli_json, invoke, start_bot, stop_bot

from bot.cli import main

POLICY = """---
kind: policy
title: 关于推行政务服务“一网通办”的通知
department: 示例市政务服务局
summary: 推行线上办理，压缩办理时限。
index_no: 000000000/2026-00077
doc_no: 示政服发〔2026〕9号
issuer: 示例市政务服务局
topic: 政务服务
issued: 2026-11-20
validity: 有效
normative: true
---
## 一、工作目标

到年底，高频事项全部实现线上办理。
"""

INTERPRETATION = """---
kind: interpretation
title: 《关于推行政务服务“一网通办”的通知》解读
department: 示例市政务服务局
summary: 三问三答说明新办法。
interprets: 示政服发〔2026〕9号
---
## 为什么要推行一网通办？

让群众少跑腿。
"""


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict:
    (tmp_path / "policy.md").write_text(POLICY, encoding="utf-8")
    (tmp_path / "interp.md").write_text(INTERPRETATION, encoding="utf-8")
    return bot_env(tmp_path, database_url, """
[channels.wechat]
sandbox_publish_delay_seconds = 0.3
[channels.sms]
quiet_start = "00:00"
quiet_end = "00:00"
""")


def gk(env: dict, *args: str, user: str | None = "alice", code: int = 0) -> dict:
    return cli_json(env, *args, user=user, code=code)


def get(env: dict, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{env['port']}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def wait_for(env: dict, path: str, timeout: float = 15) -> bytes:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, _, body = get(env, path)
        if status == 200:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{path} never appeared")


def test_the_whole_flow(env: dict) -> None:
    bot = start_bot(env)
    try:
        policy = gk(env, "post", "add", str(env["dir"] / "policy.md"))["id"]
        interp = gk(env, "post", "add", str(env["dir"] / "interp.md"))["id"]
        assert gk(env, "post", "submit", str(policy))["findings"] == []
        gk(env, "post", "submit", str(interp))
        refused = gk(env, "post", "approve", str(policy), code=2)
        assert "规则 C1" in refused["error"]["message"]
        gk(env, "post", "approve", str(policy), user="bob")
        gk(env, "post", "approve", str(interp), user="bob")
        gk(env, "release", "create", str(policy), str(interp), "--at", "2020-01-01 09:00", user="carol", code=2)
        at = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(seconds=3)).replace(microsecond=0)
        rel = gk(env, "release", "create", str(interp), str(policy), "--at",
                 at.strftime("%Y-%m-%d %H:%M:%S"), user="carol")
        assert get(env, f"/items/{policy}.html")[0] == 404
        page = wait_for(env, f"/items/{policy}.html").decode()
        assert f"/items/{interp}.html" in page  # 相关解读 links the interpretation
        interp_page = wait_for(env, f"/items/{interp}.html", timeout=1).decode()
        assert f"/items/{policy}.html" in interp_page
        status, headers, rss = get(env, "/rss.xml")
        feed = feedparser.parse(rss)
        assert feed.bozo == 0
        titles = [e.title for e in feed.entries]
        assert "关于推行政务服务“一网通办”的通知" in titles and len(titles) == 2
        assert headers["Content-Type"].startswith("application/rss+xml")
        assert get(env, "/rss.xml", {"If-None-Match": headers["ETag"]})[0] == 304
        assert get(env, "/atom.xml")[0] == 200
        shown = gk(env, "release", "show", str(rel["id"]))
        assert shown["state"] == "published"
        # the embedded default: every channel, each against its sandbox emulator
        assert rel["channels"] == ["website", "wechat", "weibo", "sms"]
        deadline = time.time() + 30
        while {d["state"] for d in shown["deliveries"]} != {"sent"} and time.time() < deadline:
            time.sleep(0.2)
            shown = gk(env, "release", "show", str(rel["id"]))
        assert {d["channel"]: d["state"] for d in shown["deliveries"]} == {
            "website": "sent", "wechat": "sent", "weibo": "sent", "sms": "sent"}
        human = invoke(env, "release", "show", str(rel["id"])).output  # the same, for a person
        assert "发布计划 1（发布）：已发布" in human and "投递" in human and "：已送达" in human
        assert not re.search(r"\d{4}-\d\d-\d\dT|\+00:00|\{'|\b(sent|publish|published|website|sms)\b", human), human
        fired = datetime.fromisoformat(shown["fired_at"])
        assert fired >= at and shown["late_ms"] < 2000
        listed = {p["id"]: p for p in gk(env, "post", "list")["items"]}
        assert set(listed) == {policy, interp}  # load_sample = false: no sample content
        assert listed[policy]["published_at"] == listed[interp]["published_at"]
    finally:
        stop_bot(bot)
    bot = start_bot(env)  # a restart publishes nothing twice
    try:
        time.sleep(1)
        again = gk(env, "release", "show", str(rel["id"]))
        assert len(again["deliveries"]) == 4
        assert [d["attempts"] for d in again["deliveries"]] == [d["attempts"] for d in shown["deliveries"]]
        status = gk(env, "status")
        assert status["ticker"]["running"] is True
        assert status["obligations"] == []  # nothing due soon, nothing late or missed
        r1 = gk(env, "obligations", "--rule", "R1")["obligations"]
        assert [(o["subject"]["id"], o["state"], o["met_by"]) for o in r1] == [(policy, "met", interp)]
    finally:
        stop_bot(bot)


def test_cli_bad_input(env: dict) -> None:
    bad = env["dir"] / "bad.md"
    bad.write_text("---\nkind: notice\ntitle: 错\n---\n", encoding="utf-8")
    err = gk(env, "post", "add", str(bad), code=2)["error"]["message"]
    assert "kind" in err and "未知稿件类型“notice”" in err
    assert gk(env, "post", "list")["items"] == []
    assert "GONGKAI_USER" in gk(env, "post", "add", str(env["dir"] / "policy.md"), user=None, code=2)["error"]["message"]
    item = gk(env, "post", "add", str(env["dir"] / "policy.md"))["id"]
    err = gk(env, "release", "create", str(item), "--at", "2030-01-01 09:00", code=2)["error"]["message"]
    assert "尚未提交审核" in err and "post submit" in err
    err = gk(env, "release", "create", str(item), "--at", "tomorrow", code=2)["error"]["message"]
    assert "--at" in err
    err = gk(env, "release", "create", str(item), "--at", "2030-01-01 09:00", "--channels", "fax", code=2)["error"]["message"]
    assert "fax" in err
    missing = gk(env, "post", "show", "999", code=2)["error"]
    assert missing["code"] == "not_found" and missing["message"].startswith("稿件 999 不存在")


def test_calendar_commands(env: dict) -> None:
    out = gk(env, "calendar", "add-workdays", "2026-09-30", "3", user=None)
    assert out["date"] == "2026-10-10" and out["reason"] == "调休上班"
    out = gk(env, "calendar", "add-workdays", "2026-12-31", "1", user=None)
    assert out["date"] == "2027-01-01" and "2027" in out["warnings"][0]
    out = gk(env, "calendar", "is-workday", "2026-10-01", user=None)
    assert out == {**out, "workday": False, "reason": "国庆节"}
    assert "YYYY-MM-DD" in gk(env, "calendar", "is-workday", "10/01/2026", user=None, code=2)["error"]["message"]


def test_an_unreachable_database_stops_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[bot]\ndatabase_url = "postgresql://nobody@127.0.0.1:1/none"\n'
                      f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "run"])
    assert result.exit_code == 2
    assert "bot.database_url: 无法连接数据库" in result.output
    assert not (tmp_path / "site").exists()


def test_invalid_config_starts_nothing(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[bot]\ntimezone = "Moon/Base"\ndata_dir = "{tmp_path / "var"}"\n[web]\nlisen = "x"\n',
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "run"])
    assert result.exit_code == 2
    assert "bot.timezone: 未知时区" in result.output and "web.lisen: 未知的配置项" in result.output
    assert not (tmp_path / "var").exists()


def test_a_past_instant_needs_now(env: dict) -> None:
    item = gk(env, "post", "add", str(env["dir"] / "policy.md"))["id"]
    gk(env, "post", "submit", str(item))
    gk(env, "post", "approve", str(item), user="bob")
    err = gk(env, "release", "create", str(item), "--at", "2026-01-05 09:00", code=2)["error"]["message"]
    assert "--at" in err and "--now" in err
    rel = gk(env, "release", "create", str(item), "--at", "2026-01-05 09:00", "--now")
    assert rel["due_at"].startswith("2026-01-05T01:00:00")  # 09:00 in Beijing, stored in UTC
    assert gk(env, "release", "list")["releases"][0]["state"] == "pending"
