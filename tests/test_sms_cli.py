"""``gongkai subscribers``: import (bad rows reported, good rows kept), list, export, remove, the
per-number report of a release, and a fan-out driven from the command line."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from content.clock import FixedClock
from content.db import Store
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
+86 138-0000-0002,工作动态;市应急局,
1380000000,all,
13800000004,,
13800000001,政策文件,
13800000006,emergency；all,社区登记
"""


def test_import_reports_bad_rows_and_keeps_the_good(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "s.csv").write_text(CSV, encoding="utf-8")
    out = gk("subscribers", "import", str(tmp_path / "s.csv"), code=1)
    assert (out["added"], out["updated"]) == (3, 0)
    bad = {b["line"]: b["problem"] for b in out["bad_rows"]}
    assert set(bad) == {4, 5, 6}
    assert "10 位" in bad[4] and "修正" in bad[4]
    assert "没有订阅主题" in bad[5]
    assert "与第 2 行重复" in bad[6]
    listed = {s["phone"]: s for s in gk("subscribers", "list")["subscribers"]}
    assert set(listed) == {"+8613800000001", "+8613800000002", "+8613800000006"}
    assert listed["+8613800000002"]["topics"] == ["工作动态", "市应急局"]
    assert listed["+8613800000006"]["topics"] == ["all", "emergency"]
    assert listed["+8613800000001"]["status"] == "active" and listed["+8613800000001"]["consent_method"] == "staff-import"
    assert listed["+8613800000001"]["source"] == "线下登记表"
    text = gk("subscribers", "import", str(tmp_path / "s.csv"), code=1, raw=True)
    assert "已导入：新增 0 个，更新 3 个" in text and "第 4 行" in text


def test_import_never_resubscribes_someone_who_opted_out(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text("13800000011,all\n13800000012,all\n", encoding="gb18030")
    assert gk("subscribers", "import", str(tmp_path / "a.csv"))["added"] == 2
    gk("subscribers", "remove", "13800000011", "--reason", "本人电话要求")
    out = gk("subscribers", "import", str(tmp_path / "a.csv"), code=1)
    assert out["updated"] == 1 and "已退订" in out["bad_rows"][0]["problem"]
    statuses = {s["phone"]: s["status"] for s in gk("subscribers", "list")["subscribers"]}
    assert statuses == {"+8613800000011": "unsubscribed", "+8613800000012": "active"}


def test_list_export_and_remove(gk, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "a.csv").write_text("phone,topics\n13800000021,all;工作动态\n13800000022,政策文件\n", encoding="utf-8")
    gk("subscribers", "import", str(tmp_path / "a.csv"))
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
    err = gk("subscribers", "remove", "12345", code=2)["error"]
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
        gk("subscribers", "import", str(tmp_path / "s.csv"), extra_env=env)
        release = asyncio.run(_published_release(gk.database_url, tmp_path))
        text = gk("subscribers", "push", str(release), extra_env=env, raw=True)
        assert "短信投递：sent" in text and "已提交 10 个号码" in text
        assert emu.center.counts() == {f"1380000{n:04d}": 1 for n in range(10)}
        shown = gk("release", "show", str(release), extra_env=env)
        sms = next(d for d in shown["deliveries"] if d["channel"] == "sms")
        assert sms["progress"]["summary"] == "完成：已提交 10 个号码" and sms["progress"]["batches_done"] == 4
        report = gk("subscribers", "report", str(release), extra_env=env)
        assert sum(report["counts"].values()) == 10 and len(report["recipients"]) == 10
        again = gk("subscribers", "push", str(release), extra_env=env, code=2)
        assert "已结束" in again["error"] and "subscribers report" in again["error"]
        assert emu.center.total() == 10


async def _published_release(database_url: str, tmp_path: Path) -> int:
    store = Store.open(database_url)
    try:
        desk = Desk(store, FixedClock(), tmp_path / "files")
        item = await desk.approved("news", "关于开展政务公开日活动的通知")
        return await desk.publish([item], channels=("sms",))
    finally:
        await store.close()
