"""Self-inspection (`gongkai inspect`): the inspection indicators run against the site the bot
built and the new-media accounts, each finding a 单项否决 or a 扣分; time through the project's
clock."""
from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.ops import reports as ops
from bot.service import Service
from bot.settings import load
from content.accounts import AccountView, Role
from content.clock import FixedClock
from schedules.inspection import Severity
from aiohttp.test_utils import TestServer

from bot.web import make_app
from tests.botproc import bot_env, free_port, invoke
from tests.desk import Desk
from tests.test_website import retract

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUDITOR = AccountView("erin", "审计员", "", (Role.AUDITOR,), False, True)  # reads, changes nothing
QUIET_MEDIA = {"GONGKAI_CHANNELS__WECHAT__ENABLED": "false", "GONGKAI_CHANNELS__WEIBO__ENABLED": "false"}


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def make(tmp_path: Path, database_url: str, **more: str) -> Service:
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_REVIEW__SENSITIVE_WORDS": '["违规用语"]', **more}
    svc = await Service.create(load(None, environ=env), clock=FixedClock(beijing(2026, 11, 18, 9)))
    svc.desk = Desk(svc.store, svc.clock, tmp_path / "files")  # type: ignore[attr-defined]
    return svc


async def build(svc: Service) -> None:
    website = svc.channel("website")
    await website.open()
    try:
        await website.rebuild_all()  # type: ignore[attr-defined]
    finally:
        await website.close()


async def publish_a_clean_week(desk: Desk) -> dict[str, int]:
    policy = await desk.approved("policy", "关于推进政务公开标准化的通知")
    interp = await desk.approved("interpretation", "图解：政务公开标准化", interprets=policy)
    news = await desk.approved("news", "市政府召开常务会议", body="会议研究部署近期工作。")
    await desk.publish([policy, interp, news], at=beijing(2026, 11, 19, 10))
    return {"policy": policy, "interp": interp, "news": news}


@pytest.fixture
async def svc(tmp_path: Path, database_url: str):  # noqa: ANN201
    service = await make(tmp_path, database_url, **QUIET_MEDIA)
    yield service
    await service.store.close()


async def test_a_clean_site_has_no_veto(svc: Service) -> None:
    await publish_a_clean_week(svc.desk)  # type: ignore[attr-defined]
    await build(svc)
    svc.clock.set(beijing(2026, 11, 20, 10))  # type: ignore[attr-defined]
    result = await ops.inspect(svc, AUDITOR)
    assert result.pages > 5
    assert result.findings == ()
    assert all(result.passed(f"I{n}") for n in range(1, 11))
    async with TestServer(make_app(svc)) as server:  # the bot serving the site it built
        served = await ops.inspect(svc, AUDITOR, url=str(server.make_url("/")))
    assert served.findings == ()
    down = await ops.inspect(svc, AUDITOR, url=f"http://127.0.0.1:{free_port()}/")
    assert [(f.indicator, f.severity) for f in down.findings] == [("I10", Severity.VETO)]
    assert "无法访问" in down.findings[0].message


async def test_a_stale_home_page_and_stale_columns_are_vetoes(tmp_path: Path, database_url: str) -> None:
    svc = await make(tmp_path, database_url, GONGKAI_REPORTS__COLUMNS='["人事信息"]')
    try:
        desk: Desk = svc.desk  # type: ignore[attr-defined]
        ids = [await desk.approved("news", f"{name}信息", column=name)
               for name in ("本地动态", "部门动态", "区县动态", "乡镇动态", "要闻")]
        await desk.publish(ids, at=beijing(2026, 11, 19, 10))
        await build(svc)
        desk.clock.set(beijing(2026, 11, 27, 10))  # 8 days on: within 2 weeks
        result = await ops.inspect(svc, AUDITOR)
        assert {f.indicator for f in result.vetoes} == {"I5"}  # WeChat and Weibo never sent
        assert [(f.indicator, f.severity, f.where) for f in result.deductions] == [
            ("I4", Severity.DEDUCTION, "人事信息")]  # a configured column with nothing in it
        desk.clock.set(beijing(2026, 12, 10, 10))  # 21 days on
        result = await ops.inspect(svc, AUDITOR)
        vetoes = {(f.indicator, f.where) for f in result.vetoes}
        assert ("I1", "index.html") in vetoes
        assert {w for i, w in vetoes if i == "I2"} == {"本地动态", "部门动态", "区县动态", "乡镇动态", "要闻"}
        assert {w for i, w in vetoes if i == "I5"} == {"wechat", "weibo"}
        home = next(f for f in result.vetoes if f.indicator == "I1")
        assert "2026-11-19 10:00" in home.message and "14 天内没有更新" in home.message
    finally:
        await svc.store.close()


async def test_broken_link_missing_date_sensitive_word_and_unlinked_interpretation(svc: Service) -> None:
    desk: Desk = svc.desk  # type: ignore[attr-defined]
    ids = await publish_a_clean_week(desk)
    linked = await desk.approved("news", "关于调整办公地点的通知",
                                 body="详见[原通知](/items/9999.html)。")
    careless = await desk.approved("news", "近期工作安排", body="本文含有违规用语，应当删除。")
    await desk.publish([linked, careless], at=beijing(2026, 11, 19, 11))
    await retract(desk, ids["policy"], "政策已调整")
    await build(svc)
    page = svc.settings.site_path / f"items/{ids['news']}.html"  # a page edited by hand on the server
    html = page.read_text(encoding="utf-8")
    html, n = re.subn(r"<dt>发布时间</dt><dd>.*?</dd>", "<dt>发布时间</dt><dd></dd>", html, flags=re.S)
    assert n == 1
    page.write_text(html, encoding="utf-8")
    desk.clock.set(beijing(2026, 11, 20, 10))
    result = await ops.inspect(svc, AUDITOR)
    got = {(f.indicator, f.severity, f.where) for f in result.findings}
    assert ("I6", Severity.DEDUCTION, f"items/{linked}.html") in got
    assert ("I8", Severity.DEDUCTION, f"items/{ids['news']}.html") in got
    assert ("I9", Severity.VETO, f"items/{careless}.html") in got
    assert ("I7", Severity.DEDUCTION, f"items/{ids['interp']}.html") in got
    broken = next(f for f in result.findings if f.indicator == "I6")
    assert "/items/9999.html" in broken.message
    word = next(f for f in result.findings if f.indicator == "I9")
    assert "违规用语" in word.message
    assert {f.indicator for f in result.vetoes} == {"I9"}


async def _stale_site(config: Path, files: Path) -> None:
    svc = await Service.create(load(config), clock=FixedClock(beijing(2026, 9, 1, 9)))
    try:
        desk = Desk(svc.store, svc.clock, files)  # type: ignore[arg-type]
        news = await desk.approved("news", "九月工作动态")
        await desk.publish([news], at=beijing(2026, 9, 1, 10))
        await build(svc)
    finally:
        await svc.store.close()


def test_the_command_exits_non_zero_on_a_veto_and_zero_on_a_clean_site(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url, "[channels.wechat]\nenabled = false\n[channels.weibo]\nenabled = false\n")
    asyncio.run(_stale_site(env["config"], tmp_path / "files"))
    out = invoke(env, "inspect", code=3)  # the machine's clock: long after September 2026
    assert "单项否决" in out.output and "I1" in out.output and "首页两周内更新" in out.output
    doc = json.loads(invoke(env, "inspect", "--format", "json", code=3).output)
    assert doc["veto"] is True and doc["findings"][0]["indicator"] == "I1"
    assert doc["findings"][0]["severity"] == "veto"
    missing = invoke(env, "inspect", "--site", str(tmp_path / "nowhere"), code=2)
    assert "网站目录" in missing.output and "gongkai site build" in missing.output
    (tmp_path / "empty").mkdir()
    clean = tmp_path / "clean"
    (clean / "items").mkdir(parents=True)
    now = datetime.now(timezone.utc).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M%z")
    (clean / "index.html").write_text(
        f'<h1>首页</h1><a href="items/1.html">通知</a><time datetime="{now}">今天</time>', encoding="utf-8")
    (clean / "items" / "1.html").write_text(
        f'<h1>通知</h1><dl><dt>发布时间</dt><dd><time datetime="{now}">今天</time></dd></dl>'
        '<a href="../index.html">首页</a>', encoding="utf-8")
    ok = invoke(env, "inspect", "--site", str(clean), code=0)
    assert "全部指标通过" in ok.output
