"""``gongkai subscribers``: import (bad rows reported, good rows kept), list, export, remove, the
per-number report of a release, and a fan-out driven from the command line."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from channels.sandbox.aliyun_sms.app import GATEWAY_KEY
from content.clock import FixedClock
from content.db import Store
from content.models import AuditEvent
from tests.desk import Desk
from tests.test_sms_kit import ALIYUN_KEYS, EmulatorThread


@pytest.fixture
def gk(tmp_path: Path, database_url: str):  # noqa: ANN201
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_CHANNELS__SMS__ENABLED": "true", "GONGKAI_USER": "王芳",
           "GONGKAI_CHANNELS__SMS__QUIET_START": "00:00", "GONGKAI_CHANNELS__SMS__QUIET_END": "00:00"}

    def run(*args: str, code: int = 0, extra_env: dict | None = None, raw: bool = False):  # noqa: ANN202
        result = CliRunner(env={**env, **(extra_env or {})}).invoke(main, [*args] + ([] if raw else ["--json"]))
        assert result.exit_code == code, result.output
        return result.stdout if raw else json.loads(result.stdout)

    run.env = env  # type: ignore[attr-defined]
    run.database_url = database_url  # type: ignore[attr-defined]
    run("db", "upgrade")  # commands other than run and db upgrade never create a store
    return run


CSV = """phone,topics,source
13800000001,all,线下登记表
+86 138-0000-0002,工作动态;政策文件,
1380000000,all,
13800000004,,
13800000001,政策文件,
13800000006,emergency；all,社区登记
"""


def test_import_reports_bad_rows_and_keeps_the_good(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "s.csv").write_text(CSV, encoding="utf-8")
    out = gk("subscribers", "import", str(tmp_path / "s.csv"), "--consent", "线下登记表，本人签字", code=1)
    assert (out["added"], out["updated"]) == (3, 0)
    bad = {b["line"]: b["problem"] for b in out["bad_rows"]}
    assert set(bad) == {4, 5, 6}
    assert "10 位" in bad[4] and "修正" in bad[4]
    assert "没有订阅主题" in bad[5]
    assert "与第 2 行重复" in bad[6]
    listed = {s["phone"]: s for s in gk("subscribers", "list")["subscribers"]}
    assert set(listed) == {"+8613800000001", "+8613800000002", "+8613800000006"}
    assert listed["+8613800000002"]["topics"] == ["工作动态", "政策文件"]
    assert listed["+8613800000006"]["topics"] == ["all", "emergency"]
    assert listed["+8613800000001"]["status"] == "active" and listed["+8613800000001"]["consent_method"] == "staff-import"
    assert listed["+8613800000001"]["source"] == "线下登记表"
    text = gk("subscribers", "import", str(tmp_path / "s.csv"), "--consent", "线下登记表，本人签字", code=1, raw=True)
    assert "已导入：新增 0 个，更新 0 个，未变 3 个" in text and "第 4 行" in text


def test_import_never_resubscribes_someone_who_opted_out(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text("13800000011,all\n13800000012,all\n", encoding="gb18030")
    assert gk("subscribers", "import", str(tmp_path / "a.csv"), "--consent", "电话录音确认")["added"] == 2
    gk("subscribers", "remove", "13800000011", "--reason", "本人电话要求")
    out = gk("subscribers", "import", str(tmp_path / "a.csv"), "--consent", "电话录音确认", code=1)
    assert out["unchanged"] == 1 and "已退订" in out["bad_rows"][0]["problem"]
    statuses = {s["phone"]: s["status"] for s in gk("subscribers", "list")["subscribers"]}
    assert statuses == {"+8613800000011": "unsubscribed", "+8613800000012": "active"}


def test_list_export_and_remove(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text("phone,topics\n13800000021,all;工作动态\n13800000022,政策文件\n", encoding="utf-8")
    gk("subscribers", "import", str(tmp_path / "a.csv"), "--consent", "线下登记表")
    assert [s["phone"] for s in gk("subscribers", "list", "--topic", "政策文件")["subscribers"]] == ["+8613800000022"]
    text = gk("subscribers", "export", raw=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["phone"], r["topics"], r["status"]) for r in rows] == [
        ("13800000021", "all;工作动态", "active"), ("13800000022", "政策文件", "active")]
    gk("subscribers", "export", "--output", str(tmp_path / "out.csv"))
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").startswith("phone,topics,status")
    assert gk("subscribers", "remove", "13800000022", "--purge")["removed"] == ["+8613800000022"]
    assert gk("subscribers", "list")["total"] == 1
    out = gk("subscribers", "remove", "13800000099", code=1)
    assert out["not_found"] == ["+8613800000099"]
    err = gk("subscribers", "remove", "12345", code=2)["error"]["message"]
    assert "手机号码" in err and "11 位" in err


def test_push_from_the_command_line_and_the_per_number_report(gk, tmp_path: Path) -> None:  # noqa: ANN001
    with EmulatorThread() as emu:
        env = {"GONGKAI_CHANNELS__SMS__SANDBOX": "false", "GONGKAI_CHANNELS__SMS__BASE_URL": emu.aliyun_url,
               "GONGKAI_CHANNELS__SMS__ACCESS_KEY_ID": ALIYUN_KEYS[0],
               "GONGKAI_CHANNELS__SMS__ACCESS_KEY_SECRET": ALIYUN_KEYS[1],
               "GONGKAI_CHANNELS__SMS__UNSUBSCRIBE_SECRET": "s", "GONGKAI_CHANNELS__SMS__CALLBACK_TOKEN": "t",
               "GONGKAI_CHANNELS__SMS__BATCH_SIZE": "3"}
        lines = "phone,topics\n" + "".join(f"1380000{n:04d},all\n" for n in range(10))
        (tmp_path / "s.csv").write_text(lines, encoding="utf-8")
        gk("subscribers", "import", str(tmp_path / "s.csv"), "--consent", "线下登记表", extra_env=env)
        release = asyncio.run(_published_release(gk.database_url, tmp_path))
        text = gk("subscribers", "push", str(release), "--yes", extra_env=env, raw=True)
        assert "短信投递：已送达" in text and "已提交 10 个号码" in text
        assert emu.center.counts() == {f"1380000{n:04d}": 1 for n in range(10)}
        shown = gk("release", "show", str(release), extra_env=env)
        sms = next(d for d in shown["deliveries"] if d["channel"] == "sms")
        assert sms["progress"]["summary"] == "完成：已提交 10 个号码" and sms["progress"]["batches_done"] == 4
        report = gk("subscribers", "report", str(release), extra_env=env)
        assert sum(report["counts"].values()) == 10 and len(report["recipients"]) == 10
        again = gk("subscribers", "push", str(release), "--yes", extra_env=env, code=2)
        assert "已结束" in again["error"]["message"] and "subscribers report" in again["error"]["message"]
        assert emu.center.total() == 10


async def _published_release(database_url: str, tmp_path: Path) -> int:
    store = Store.open(database_url)
    try:
        desk = Desk(store, FixedClock(), tmp_path / "files")
        item = await desk.approved("news", "关于开展政务公开日活动的通知")
        return await desk.publish([item], channels=("sms",))
    finally:
        await store.close()


# ------------------------------------------------------------------ issue 8: export, search, import
def _audit(database_url: str, action: str) -> list[dict]:
    async def read() -> list[dict]:
        store = Store.open(database_url)
        try:
            async with store.sessions() as s:
                rows = await s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
                return [{"actor": e.actor, "reason": e.reason, **e.detail} for e in rows]
        finally:
            await store.close()

    return asyncio.run(read())


def test_export_neutralises_formula_cells_and_is_audited(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text(
        "phone,topics,source,consent\n"
        "13800000031,all,=HYPERLINK(\"http://evil.example\"),@SUM(1+1)\n"
        "13800000032,all,+1 线下,-2 登记\n"
        "13800000033,all,社区登记,本人签字同意\n", encoding="utf-8")
    gk("subscribers", "import", str(tmp_path / "a.csv"))
    text = gk("subscribers", "export", "--status", "active", raw=True)
    rows = {r["phone"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["13800000031"]["source"] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows["13800000031"]["consent_detail"] == "'@SUM(1+1)"
    assert (rows["13800000032"]["source"], rows["13800000032"]["consent_detail"]) == ("'+1 线下", "'-2 登记")
    assert rows["13800000033"]["source"] == "社区登记"
    dangerous = [cell for r in csv.reader(io.StringIO(text)) for cell in r if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    gk("subscribers", "export", "--output", str(tmp_path / "out.csv"))
    events = _audit(gk.database_url, "sms_subscribers_exported")
    assert [(e["actor"], e["count"], e["status"]) for e in events] == [("王芳", 3, "active"), ("王芳", 3, None)]
    assert events[1]["file"] == str(tmp_path / "out.csv")
    # the export can be imported again unchanged: the quote added against formulas is taken off
    again = gk("subscribers", "import", str(tmp_path / "out.csv"))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)


def test_list_search_takes_percent_and_underscore_literally(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text("13800000021,all\n13800000022,all\n", encoding="utf-8")
    gk("subscribers", "import", str(tmp_path / "a.csv"), "--consent", "线下登记表，本人签字")
    assert gk("subscribers", "list", "--search", "0022")["total"] == 1
    assert gk("subscribers", "list", "--search", "%")["total"] == 0
    assert gk("subscribers", "list", "--search", "0_2")["total"] == 0
    assert gk("subscribers", "list", "--search", "_")["total"] == 0


def test_import_skips_rows_with_unknown_topics_and_records_consent(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text(
        "phone,topics,consent\n"
        "13800000041,all;政策文件,\n"
        "13800000042,政策文件;政策文件s,\n"
        "13800000043,不存在的主题,窗口登记，本人签字\n"
        "13800000044,emergency,窗口登记，本人签字\n", encoding="utf-8")
    out = gk("subscribers", "import", str(tmp_path / "a.csv"), "--consent", "2026 年社区登记表，本人签字同意", code=1)
    assert (out["added"], out["updated"]) == (2, 0)
    bad = {b["line"]: b["problem"] for b in out["bad_rows"]}
    assert set(bad) == {3, 4}
    assert "政策文件s" in bad[3] and "修正" in bad[3] and "不存在的主题" in bad[4]
    assert out["unknown_topics"] == {"不存在的主题": 1, "政策文件s": 1}
    listed = {s["phone"]: s for s in gk("subscribers", "list")["subscribers"]}
    assert set(listed) == {"+8613800000041", "+8613800000044"}
    assert listed["+8613800000041"]["consent_detail"] == "2026 年社区登记表，本人签字同意"
    assert listed["+8613800000044"]["consent_detail"] == "窗口登记，本人签字"
    text = gk("subscribers", "list", raw=True)
    assert "同意说明" in text and "窗口登记，本人签字" in text
    text = gk("subscribers", "import", str(tmp_path / "a.csv"), "--consent", "登记表", code=1, raw=True)
    assert "第 3 行" in text and "没有这个主题：政策文件s" in text


def test_import_without_a_consent_description_changes_nothing(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text("13800000051,all\n", encoding="utf-8")
    err = gk("subscribers", "import", str(tmp_path / "a.csv"), code=2)["error"]["message"]
    assert "同意" in err and "--consent" in err
    assert gk("subscribers", "list")["total"] == 0
    (tmp_path / "b.csv").write_text("phone,topics,consent\n13800000051,all,本人签字\n13800000052,all,\n",
                                    encoding="utf-8")
    out = gk("subscribers", "import", str(tmp_path / "b.csv"), code=1)
    assert out["added"] == 1 and [b["line"] for b in out["bad_rows"]] == [3]
    assert "--consent" in out["bad_rows"][0]["problem"]


def test_import_is_idempotent_and_shows_progress_in_chinese(gk, tmp_path: Path) -> None:  # noqa: ANN001
    lines = ["phone,topics,source"] + [f"1390000{n:04d},all;{'政策文件' if n % 2 else '工作动态'},窗口"
                                       for n in range(2500)]
    lines.insert(100, "12345,all,窗口")
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner(env=gk.env).invoke(main, ["subscribers", "import", str(tmp_path / "big.csv"),
                                                 "--consent", "窗口登记"])
    assert result.exit_code == 1, result.output
    assert "导入" in result.stderr and "2501/2501" in result.stderr
    assert "新增 2500 个" in result.stdout and "第 101 行" in result.stdout
    again = CliRunner(env=gk.env).invoke(main, ["subscribers", "import", str(tmp_path / "big.csv"),
                                                "--consent", "窗口登记", "--json"])
    assert again.stderr == ""
    data = json.loads(again.stdout)
    assert (data["added"], data["updated"], data["unchanged"]) == (0, 0, 2500)
    first = gk("subscribers", "list", "--limit", "1")["subscribers"][0]
    assert first["topics"] == ["all", "政策文件"] and first["consent_detail"] == "窗口登记"
    lines[5] = "13900000004,all,窗口"  # one subscriber's topics changed
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = gk("subscribers", "import", str(tmp_path / "big.csv"), "--consent", "窗口登记", code=1)
    assert (data["added"], data["updated"], data["unchanged"]) == (0, 1, 2499)
    assert gk("subscribers", "list", "--search", "13900000004")["subscribers"][0]["topics"] == ["all"]


def test_removing_many_numbers_asks_first(gk, tmp_path: Path) -> None:  # noqa: ANN001
    numbers = [f"1380000{n:04d}" for n in range(12)]
    (tmp_path / "a.csv").write_text("".join(f"{n},all\n" for n in numbers), encoding="utf-8")
    gk("subscribers", "import", str(tmp_path / "a.csv"), "--consent", "登记表")
    refused = CliRunner(env=gk.env).invoke(main, ["subscribers", "remove", *numbers])
    assert refused.exit_code == 2
    assert "12 个号码" in refused.stderr and "--yes" in refused.stderr
    assert gk("subscribers", "list", "--status", "active")["total"] == 12
    declined = _on_a_terminal(gk.env, ["subscribers", "remove", *numbers], "n\n")
    assert declined.returncode == 2 and "将停止向 12 个号码发送短信" in declined.stderr
    assert gk("subscribers", "list", "--status", "active")["total"] == 12
    out = gk("subscribers", "remove", *numbers, "--yes")
    assert len(out["removed"]) == 12
    assert gk("subscribers", "list", "--status", "active")["total"] == 0


def _on_a_terminal(env: dict, args: list[str], answer: str) -> subprocess.CompletedProcess:
    """Run ``gongkai ARGS`` as a subprocess whose standard input is a terminal, typing ``answer``."""
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode())
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], stdin=follower, capture_output=True,
                              text=True, env={**os.environ, **env}, timeout=120, cwd=Path(__file__).parents[1])
    finally:
        os.close(leader)
        os.close(follower)


# ------------------------------------------------------------------ issue 8: push
def _sms_env(emu) -> dict:  # noqa: ANN001
    return {"GONGKAI_CHANNELS__SMS__SANDBOX": "false", "GONGKAI_CHANNELS__SMS__BASE_URL": emu.aliyun_url,
            "GONGKAI_CHANNELS__SMS__ACCESS_KEY_ID": ALIYUN_KEYS[0],
            "GONGKAI_CHANNELS__SMS__ACCESS_KEY_SECRET": ALIYUN_KEYS[1],
            "GONGKAI_CHANNELS__SMS__UNSUBSCRIBE_SECRET": "s", "GONGKAI_CHANNELS__SMS__CALLBACK_TOKEN": "t",
            "GONGKAI_CHANNELS__SMS__BATCH_SIZE": "3", "GONGKAI_CHANNELS__SMS__CONCURRENCY": "1"}


def _subscribers_and_a_release(gk, emu, tmp_path: Path, count: int) -> tuple[dict, int]:  # noqa: ANN001
    """``count`` subscribers of ``all`` and a published release to them; the environment that
    points the SMS channel at the emulators."""
    env = _sms_env(emu)
    (tmp_path / "s.csv").write_text("".join(f"1380000{n:04d},all\n" for n in range(count)), encoding="utf-8")
    gk("subscribers", "import", str(tmp_path / "s.csv"), "--consent", "登记表", extra_env=env)
    return env, asyncio.run(_published_release(gk.database_url, tmp_path))


def test_push_that_the_provider_refuses_fails_and_names_the_batches(gk, tmp_path: Path) -> None:  # noqa: ANN001
    with EmulatorThread() as emu:
        env, release = _subscribers_and_a_release(gk, emu, tmp_path, 10)
        gateway(emu).fail_with(405, "405: Method Not Allowed")  # every call, like a misrouted gateway
        result = CliRunner(env={**gk.env, **env}).invoke(main, ["subscribers", "push", str(release), "--yes"])
        assert result.exit_code == 1, result.output
        assert "10/10" not in result.stderr and "0/10" in result.stderr
        assert "短信推送失败" in result.stderr and "第 0 批" in result.stderr and "HTTP405" in result.stderr
        assert emu.center.total() == 0
        shown = gk("release", "show", str(release), extra_env=env)
        progress = next(d for d in shown["deliveries"] if d["channel"] == "sms")["progress"]
        assert progress["accepted"] == 0 and progress["failed_batches"][0]["code"] == "HTTP405"
        gateway(emu).fail_with(None)  # the gateway is fixed: the push goes on from where it stopped
        data = gk("subscribers", "push", str(release), "--yes", extra_env=env)
        assert data["state"] == "sent" and data["progress"]["accepted"] == 10
        assert emu.center.counts() == {f"1380000{n:04d}": 1 for n in range(10)}


def test_push_says_how_many_numbers_and_parts_and_asks(gk, tmp_path: Path) -> None:  # noqa: ANN001
    with EmulatorThread() as emu:
        env, release = _subscribers_and_a_release(gk, emu, tmp_path, 7)
        refused = CliRunner(env={**gk.env, **env}).invoke(main, ["subscribers", "push", str(release)])
        assert refused.exit_code == 2 and "--yes" in refused.stderr
        assert "7 个号码" in refused.stderr and "计费短信" in refused.stderr
        declined = _on_a_terminal({**gk.env, **env}, ["subscribers", "push", str(release)], "n\n")
        assert declined.returncode == 2 and "将向 7 个号码发送短信，每个号码 1 条计费短信，共 7 条" in declined.stderr
        assert emu.center.total() == 0
        accepted = _on_a_terminal({**gk.env, **env}, ["subscribers", "push", str(release)], "y\n")
        assert accepted.returncode == 0, accepted.stderr
        assert emu.center.total() == 7


def gateway(emu):  # noqa: ANN001, ANN201
    return emu.aliyun.app[GATEWAY_KEY]
