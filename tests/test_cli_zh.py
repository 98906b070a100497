"""The command line speaks Chinese and never shows a traceback: bad input of every sort, run as the
real program, gets one Chinese line; a defect gets one line and a log file; help and click's own
messages are Chinese; ``release show`` and ``post show`` print no codes, dicts or UTC instants."""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.botproc import bot_env, cli_json, invoke, run_cli, run_cli_many
from tests.test_cli_flow import INTERPRETATION, POLICY

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_CLICK = ("Traceback", "Error:", "Usage:", "Options:", "Commands:", "Try '", "Aborted!",
                 "Show this message", "Show the version", "Missing argument", "No such", "[default",
                 "[required", " TEXT", " INTEGER", " PATH")
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str) -> dict:
    (tmp_path / "policy.md").write_text(POLICY, encoding="utf-8")
    (tmp_path / "interp.md").write_text(INTERPRETATION, encoding="utf-8")
    return bot_env(tmp_path, sqlite_url)


def _english_in(text: str) -> list[str]:
    return [w for w in ENGLISH_CLICK if w in text]


def test_bad_input_never_prints_a_traceback(env: dict) -> None:
    d = env["dir"]
    draft = cli_json(env, "post", "add", str(d / "policy.md"))["id"]
    (d / "bad.md").write_text("---\nkind: notice\ntitle: 错\n---\n", encoding="utf-8")
    (d / "empty.md").write_text("", encoding="utf-8")
    (d / "binary.md").write_bytes(b"\xff\xfe\x00\x81 not text")
    (d / "no_front_matter.md").write_text("只有正文。\n", encoding="utf-8")
    future = f"{datetime.now(BEIJING).year + 1}"
    cases: list[tuple[list[str], str]] = [
        (["release", "create", "999", "--now"], "稿件 999 不存在"),
        (["release", "create", "999", "--at", f"{future}-01-05 09:00", "--push", "all"], "稿件 999 不存在"),
        (["release", "create", str(draft), "--at", f"{future}-01-05 09:00", "--push", "all"], "尚未提交审核"),
        (["release", "create", str(draft), str(draft), "--now"], "出现了两次"),
        (["release", "create", "abc", "--now"], "不是整数"),
        (["release", "create", "9" * 30, "--now"], "太大"),
        (["release", "create", str(draft), "--at", f"{future}-02-30 09:00"], "没有这一天"),
        (["release", "create", str(draft), "--at", f"{future}-12-01 25:00"], "没有这个时刻"),
        (["release", "create", str(draft), "--at", " "], "时间是空的"),
        (["release", "create", str(draft), "--at", "明天上午"], "无法识别"),
        (["release", "create", str(draft), "--at"], "后面要写一个值"),
        (["release", "create", str(draft), "--now", "--channels", "fax"], "fax"),
        (["release", "create", str(draft), "--now", "--option", "novalue"], "KEY=VALUE"),
        (["release", "create", str(draft), "--now", "--push", ""], "--push"),
        (["release", "create"], "缺少参数"),
        (["release", "create", str(draft)], "缺少发布时间"),
        (["release", "reschedule", "999", "--now"], "999"),
        (["release", "reschedule", "999", "--at", "2026/13/01 9:00"], "没有这一天"),
        (["release", "cancel", "999"], "999"),
        (["release", "split", "999"], "999"),
        (["release", "show", "999"], "999"),
        (["release", "list", "--state", "bogus"], "不是可选的值"),
        (["release", "list", "--limit", "-5"], "超出允许的范围"),
        (["delivery", "resolve", "999", "--sent"], "999"),
        (["delivery", "resolve", "999"], "--sent"),
        (["post", "add", str(d / "missing.md")], "不存在"),
        (["post", "add", str(d)], "是目录"),
        (["post", "add", ""], "不存在"),
        (["post", "add", str(d / "bad.md")], "kind"),
        (["post", "add", str(d / "empty.md")], ""),
        (["post", "add", str(d / "binary.md")], ""),
        (["post", "add", str(d / "no_front_matter.md")], ""),
        (["post", "edit", "999", str(d / "policy.md")], "999"),
        (["post", "correct", "999", str(d / "policy.md")], "999"),
        (["post", "show", ""], "不是整数"),
        (["post", "show", "999"], "稿件 999 不存在"),
        (["post", "show", str(draft), "extra"], "多余的参数"),
        (["post", "submit", "999"], "999"),
        (["post", "approve", "999"], "999"),
        (["post", "approve"], "缺少参数 稿件编号"),
        (["post", "return", str(draft), "--comment", ""], ""),
        (["post", "retract", str(draft), "--reason", ""], ""),
        (["post", "preview", str(draft), "--channel", "fax"], "fax"),
        (["post", "preview", str(draft)], "缺少选项 --channel"),
        (["post", "list", "--kind", "memo"], "未知稿件类型"),
        (["post", "list", "--frob"], "没有选项 --frob"),
        (["post", "-Z"], "没有选项 -Z"),  # a short option has no spelling suggestions
        (["-Z", "status"], "没有选项 -Z"),
        (["post", "frobnicate"], "没有命令 frobnicate"),
        (["frobnicate"], "没有命令 frobnicate"),
        (["calendar", "is-workday", "2026-02-30"], "没有这一天"),
        (["calendar", "add-workdays", "2026-01-01", "abc"], "不是整数"),
        (["subscribers", "import", str(d / "missing.csv")], "missing.csv"),
    ]
    results = run_cli_many(env, [args for args, _ in cases])
    for (args, expected), (code, shown) in zip(cases, results):
        assert code != 0, (args, shown)
        assert not _english_in(shown), (args, shown)
        errors = [line for line in shown.splitlines() if line.startswith("错误：")]
        assert len(errors) == 1 and CJK.search(errors[0]), (args, shown)
        assert expected in errors[0], (args, shown)
        assert not re.search(r"(\S+): \1\b", errors[0]), (args, shown)  # no "--push: --push …"
    assert cli_json(env, "post", "list")["items"][0]["state"] == "draft"  # nothing changed


def test_bad_input_with_json_is_one_json_document(env: dict) -> None:
    for args in (["post", "show", "abc", "--json"], ["--json", "post", "list", "--limit", "0"],
                 ["release", "create", "999", "--now", "--json"], ["post", "nope", "--json"]):
        proc = run_cli(env, *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        error = json.loads(proc.stdout)["error"]
        assert set(error) == {"code", "message", "field"} and error["code"] in ("invalid_input", "not_found")
        assert CJK.search(error["message"]) and not error["message"].startswith("错误："), proc.stdout


def test_an_unreadable_config_is_one_chinese_message(env: dict) -> None:
    broken = env["dir"] / "broken.toml"
    broken.write_text("[bot\nlog_level = INFO\n", encoding="utf-8")
    for config, expected in ((broken, "第 1 行第 5 列：表名后面缺少“]”"), (env["dir"], "这是一个目录")):
        proc = run_cli({**env, "config": config}, "post", "list")
        assert proc.returncode == 2 and not _english_in(proc.stdout + proc.stderr), proc.stderr
        assert expected in proc.stderr


def test_a_defect_is_one_line_on_the_terminal_and_a_traceback_in_the_log(env: dict) -> None:
    cli_json(env, "post", "list")  # creates the store
    database = env["dir"] / "gongkai.db"
    with sqlite3.connect(database) as db:  # a damaged store: a table gone behind the bot's back
        db.execute("DROP TABLE revisions")
    proc = run_cli(env, "post", "list")
    log = env["dir"] / "var" / "logs" / "errors.log"
    assert proc.returncode == 1
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"内部错误：OperationalError；详细信息已写入 {log}；请报告此问题"
    written = log.read_text(encoding="utf-8")
    assert "Traceback" in written and "revisions" in written and "post list" in written
    as_json = run_cli(env, "post", "list", "--json")
    assert json.loads(as_json.stdout)["error"]["message"].startswith("内部错误：OperationalError")


def test_help_and_usage_are_chinese(env: dict) -> None:
    for args in (["--help"], ["post", "--help"], ["release", "create", "--help"], ["post", "list", "--help"],
                 ["subscribers", "list", "--help"], ["channel", "--help"]):
        out = invoke(env, *args, user=None).output
        assert out.startswith("用法：gongkai"), out
        assert "选项：" in out and "显示此帮助并退出" in out
        assert not _english_in(out), (args, out)
    top = invoke(env, "--help", user=None).output
    assert "命令：" in top and "显示版本并退出" in top
    assert "版本" in invoke(env, "--version", user=None).output
    assert "[必填]" in invoke(env, "post", "preview", "--help", user=None).output
    wrong = invoke(env, "post", "add", "--fooo", code=2)
    assert wrong.stderr.strip() == "错误：没有选项 --fooo（用 gongkai post add --help 查看用法）"
    missing = invoke(env, "release", "show", code=2)
    assert missing.stderr.strip() == "错误：缺少参数 发布计划编号（用 gongkai release show --help 查看用法）"


def test_release_and_post_show_print_chinese_names_and_local_times(env: dict) -> None:
    policy = cli_json(env, "post", "add", str(env["dir"] / "policy.md"))["id"]
    cli_json(env, "post", "submit", str(policy))
    cli_json(env, "post", "edit", str(policy), str(env["dir"] / "policy.md"))  # a second revision
    cli_json(env, "post", "submit", str(policy))
    cli_json(env, "post", "approve", str(policy), user="bob")
    rel = cli_json(env, "release", "create", str(policy), "--at", "2026-01-05 09:00", "--now")["id"]
    shown = invoke(env, "release", "show", str(rel)).output
    listed = invoke(env, "release", "list").output
    post = invoke(env, "post", "show", str(policy)).output
    for text in (shown, listed, post):
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), text  # no ISO instants
        assert not re.search(r"\{'|\[[a-z_]+\]|\b(publish|pending|superseded|scheduled|approved|"
                             r"submitted|created|edited|policy)\b", text), text
    assert "发布计划 1（发布）：待发布" in shown and "2026-01-05 09:00:00（Asia/Shanghai）" in shown
    assert "稿件 1［政策文件，已排期］" in shown and "渠道：网站、微信公众号、微博、短信" in shown
    assert re.search(r"版本：第1版 [\u4e00-\u9fff]+ alice；第2版 已审核 alice", post), post
    assert "  bob  审核通过  第2版" in post and "  alice  排期  第2版" in post
    assert cli_json(env, "release", "show", str(rel))["state"] == "pending"  # --json keeps the codes


def test_approving_the_second_of_a_bundle_proposes_releasing_both(env: dict) -> None:
    policy = cli_json(env, "post", "add", str(env["dir"] / "policy.md"))["id"]
    interp = cli_json(env, "post", "add", str(env["dir"] / "interp.md"))["id"]
    cli_json(env, "post", "submit", str(policy))
    cli_json(env, "post", "submit", str(interp))
    first = invoke(env, "post", "approve", str(interp), user="bob").output
    assert f"稿件 {policy} 尚未审核" in first
    assert f"gongkai release create {policy} {interp} --at" in first
    second = invoke(env, "post", "approve", str(policy), user="bob").output
    assert f"  gongkai release create {policy} {interp} --at \"YYYY-MM-DD HH:MM\"" in second
    assert cli_json(env, "post", "show", str(policy))["state"] == "approved"


def test_instants_in_every_written_form(env: dict) -> None:
    item = cli_json(env, "post", "add", str(env["dir"] / "policy.md"))["id"]
    cli_json(env, "post", "submit", str(item))
    cli_json(env, "post", "approve", str(item), user="bob")
    year = datetime.now(BEIJING).year + 1
    forms = [f"{year}-12-01 09:00", f"{year}/12/01 09:00", f"{year}年12月1日 9:00", f"{year}-12-01T09:00",
             f"{year}-12-01T01:00:00Z"]
    for form in forms:
        rel = cli_json(env, "release", "create", str(item), "--at", form, "--channels", "website")
        assert rel["due_at"] == f"{year}-12-01T01:00:00+00:00", form  # 09:00 in Beijing
        cli_json(env, "release", "cancel", str(rel["id"]))
    today = cli_json(env, "release", "create", str(item), "--at", "9:00", "--now", "--channels", "website")
    assert datetime.fromisoformat(today["due_at"]).astimezone(BEIJING) == datetime.now(BEIJING).replace(
        hour=9, minute=0, second=0, microsecond=0)


def test_a_release_in_sms_quiet_hours_warns_when_sms_will_go(env: dict) -> None:
    item = cli_json(env, "post", "add", str(env["dir"] / "policy.md"))["id"]
    cli_json(env, "post", "submit", str(item))
    cli_json(env, "post", "approve", str(item), user="bob")
    day = (datetime.now(BEIJING) + timedelta(days=2)).strftime("%Y-%m-%d")
    night = cli_json(env, "release", "create", str(item), "--at", f"{day} 22:30", "--channels", "website,sms")
    quiet = [w for w in night["warnings"] if "免打扰" in w]
    assert quiet == ["发布时刻 22:30 在短信免打扰时段（21:00–08:00）内：短信将等到次日 08:00 才发送"
                     "（突发事件类稿件不受此限）；网站等其他渠道按时发布"]
    cli_json(env, "release", "cancel", str(night["id"]))
    noon = cli_json(env, "release", "create", str(item), "--at", f"{day} 12:00", "--channels", "website,sms")
    assert not [w for w in noon["warnings"] if "免打扰" in w]
