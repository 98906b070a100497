"""Reports: the compliance report over stored obligations and the site's cadence, table II of
the annual report with the figures staff enter, and the files an office hands in (CSV, XLSX,
JSON, HTML). Time moves through the project's clock on the 2026 calendar."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.ops import reports as ops
from bot.report_files import Format, render
from bot.report_sheets import annual as annual_doc
from bot.report_sheets import compliance as compliance_doc
from bot.service import Service
from bot.settings import load
from content.accounts import AccountView, Role
from content.clock import FixedClock
from content.errors import GongkaiError
from content.models import AuditEvent
from tests.botproc import bot_env, invoke
from tests.desk import Desk
from tests.test_website import correct

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUDITOR = AccountView("erin", "审计员", "", (Role.AUDITOR,), False, True)  # reads, changes nothing
YEAR = dict(start=date(2026, 1, 1), end=date(2026, 12, 31))


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


def of_rule(rows, rule: str) -> list:  # noqa: ANN001
    return [r for r in rows if r.rule == rule]


def environ(tmp_path: Path, database_url: str, **more: str) -> dict[str, str]:
    return {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
            "GONGKAI_BOT__LOAD_SAMPLE": "false", **more}


@pytest.fixture
async def svc(tmp_path: Path, database_url: str):  # noqa: ANN201
    clock = FixedClock(beijing(2026, 9, 1, 9))
    service = await Service.create(load(None, environ=environ(
        tmp_path, database_url, GONGKAI_REPORTS__PRESS_DEPARTMENTS='["市教育委员会"]')), clock=clock)
    service.desk = Desk(service.store, clock, tmp_path / "files")  # type: ignore[attr-defined]
    yield service
    await service.store.close()


async def test_a_missed_interpretation_is_still_in_the_report_a_year_later(svc: Service) -> None:
    desk: Desk = svc.desk  # type: ignore[attr-defined]
    desk.clock.set(beijing(2026, 10, 10, 9))  # a 调休 Saturday, a working day
    decision = await desk.approved("decision", "常务会议决定", issuer="示例市人民政府",
                                   issued="2026-10-10", meeting_date="2026-10-10")
    await desk.publish([decision])
    await svc.evaluate_obligations()
    desk.clock.set(beijing(2027, 11, 10, 9))  # a year on, never interpreted
    await svc.evaluate_obligations()
    report = await ops.compliance(svc, AUDITOR, **YEAR)
    [row] = of_rule(report.rules, "R3")  # cadence rules, where configured, add rows of their own
    assert (row.department, row.rule, row.obligations, row.missed, row.on_time_rate) == \
        ("市政务服务局", "R3", 1, 1, 0.0)
    [late] = of_rule(report.lateness, "R3")
    assert (late.state, late.subject_id, late.unit) == ("missed", decision, "workdays")
    # the report for 2026 counts up to the end of 2026, not up to the day it is run
    assert report.as_of == beijing(2027, 1, 1, 0) and late.workdays > 50
    text = render(compliance_doc(report, SHANGHAI), Format.TEXT, SHANGHAI, desk.clock.now()).decode()
    assert "R3" in text and "重大决策会后解读" in text and "已超期未完成" in text and "0.0%" in text


async def test_lateness_counts_working_days_across_national_day(svc: Service) -> None:
    desk: Desk = svc.desk  # type: ignore[attr-defined]
    desk.clock.set(beijing(2026, 9, 29, 9))
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    await desk.publish([policy], at=beijing(2026, 9, 29, 10))  # due the end of 2026-10-09
    interp = await desk.approved("interpretation", "图解：优化营商环境", interprets=policy)
    await desk.publish([interp], at=beijing(2026, 10, 12, 10))  # Monday after the holiday
    await svc.evaluate_obligations()
    report = await ops.compliance(svc, AUDITOR, start=date(2026, 10, 1), end=date(2026, 10, 31))
    [row] = of_rule(report.rules, "R1")
    assert (row.rule, row.obligations, row.met, row.late, row.on_time_rate) == ("R1", 1, 0, 1, 0.0)
    # late by the 调休 Saturday 10-10 and Monday 10-12: 2 working days (3 calendar days)
    assert (row.late_workdays, row.max_late_workdays) == (2, 2)
    [late] = of_rule(report.lateness, "R1")
    assert (late.state, late.met_at, late.workdays, late.hours) == ("late", beijing(2026, 10, 12, 10), 2, 58.0)
    assert late.subject_name == "关于优化营商环境的通知"
    text = render(compliance_doc(report, SHANGHAI), Format.TEXT, SHANGHAI, desk.clock.now()).decode()
    assert "2 个工作日" in text and "逾期完成" in text and f"稿件 {policy}《关于优化营商环境的通知》" in text
    assert "2026-10-09 当日" in text  # a working-day deadline is the whole due day
    # outside the period it is not counted
    later = await ops.compliance(svc, AUDITOR, start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert of_rule(later.rules, "R1") == []


async def test_quiet_weeks_stale_columns_accounts_and_press_conferences(svc: Service) -> None:
    desk: Desk = svc.desk  # type: ignore[attr-defined]
    desk.clock.set(beijing(2026, 9, 1, 9))
    first = await desk.approved("news", "九月第一周动态")
    await desk.publish([first], at=beijing(2026, 9, 2, 10))  # ISO week 36
    press = await desk.approved("press_conference", "教育新闻发布会", department="市教育委员会",
                                issued="2026-09-15")
    await desk.publish([press], at=beijing(2026, 9, 15, 10))  # week 38
    desk.clock.set(beijing(2026, 10, 5, 9))
    report = await ops.compliance(svc, AUDITOR, start=date(2026, 9, 1), end=date(2026, 9, 30))
    assert report.weeks_checked == 4  # weeks 36–39; week 40 ends in October
    assert [w.week for w in report.quiet_weeks] == [37, 39]
    columns = {c.column: c for c in report.columns}
    assert columns["工作动态"].stale and columns["工作动态"].days_since == 28
    assert columns["工作动态"].limit_days == 14 and not columns["新闻发布会"].stale
    assert {a.channel: a.stale for a in report.accounts} == {"wechat": True, "weibo": True}
    assert [(p.department, p.quarter, p.held, p.target, p.short, p.ended) for p in report.press] == \
        [("市教育委员会", "2026Q3", 1, 2, True, True)]
    # the quarter still running on 5 October is not yet short, only behind
    half = await ops.compliance(svc, AUDITOR, start=date(2026, 7, 1), end=date(2026, 12, 31))
    assert [(p.quarter, p.held, p.ended) for p in half.press] == [("2026Q3", 1, True), ("2026Q4", 0, False)]
    assert "进行中，尚差 2 场" in render(compliance_doc(half, SHANGHAI), Format.TEXT, SHANGHAI,
                                     desk.clock.now()).decode()
    text = render(compliance_doc(report, SHANGHAI), Format.TEXT, SHANGHAI, desk.clock.now()).decode()
    assert "2026年第37周" in text and "2026年第39周" in text and "超期未更新" in text and "不足" in text


async def _late_interpretation(config: Path, files: Path) -> None:
    service = await Service.create(load(config), clock=FixedClock(beijing(2026, 9, 29, 9)))
    desk = Desk(service.store, service.clock, files)  # type: ignore[arg-type]
    policy = await desk.approved("policy", "关于=SUM(A1)的通知")
    await desk.publish([policy], at=beijing(2026, 9, 29, 10))
    interp = await desk.approved("interpretation", "解读<b>要点</b>", interprets=policy)
    await desk.publish([interp], at=beijing(2026, 10, 12, 10))
    await service.evaluate_obligations()
    await service.store.close()


def test_the_report_files_an_office_hands_in(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url)
    asyncio.run(_late_interpretation(env["config"], tmp_path / "files"))
    period = ["--from", "2026-10-01", "--to", "2026-10-31"]

    out = tmp_path / "合规.csv"
    invoke(env, "report", "compliance", *period, "--format", "csv", "--output", str(out))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows.index(["部门", "规则", "规则名称", "义务数", "按时完成", "逾期完成", "逾期工作日合计",
                         "逾期小时合计", "已超期未完成", "已豁免", "未到期", "按时率"])
    assert ["市政务服务局", "R1", "政策文件发布后解读", "1", "0", "1", "2"] in [r[:7] for r in rows[header + 1:]]

    xlsx = tmp_path / "合规.xlsx"  # the format from the extension
    invoke(env, "report", "compliance", *period, "--output", str(xlsx))
    book = load_workbook(xlsx)
    ws = book["时限义务"]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    data = [r for r in cells[[r[0] for r in cells].index("部门") + 1:] if r[1] == "R1"][0]
    assert data[:7] == ["市政务服务局", "R1", "政策文件发布后解读", 1, 0, 1, 2]  # numbers stay numbers
    assert set(book.sheetnames) >= {"时限义务", "逾期明细", "网站更新", "新媒体与发布会"}
    late = [[c.value for c in row] for row in book["逾期明细"].iter_rows()]
    assert any(r[-1] == "2 个工作日" and r[4] == "逾期完成" for r in late)

    doc = json.loads(invoke(env, "report", "compliance", *period, "--format", "json").output)
    [rule] = [r for r in doc["rules"] if r["rule"] == "R1"]
    assert rule["rule"] == "R1" and rule["late_workdays"] == 2 and rule["on_time_rate"] == 0.0
    assert doc["period"] == {"from": "2026-10-01", "to": "2026-10-31"}
    assert [x["met_at"] for x in doc["lateness"] if x["rule"] == "R1"] == ["2026-10-12T02:00:00+00:00"]
    assert json.loads(invoke(env, "report", "compliance", *period, "--json").output) == doc

    html_file = tmp_path / "合规.html"
    invoke(env, "report", "compliance", *period, "--format", "html", "--output", str(html_file))
    html = html_file.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html and "<script" not in html
    assert "政务公开合规报告" in html and "按部门和规则统计" in html and "2 个工作日" in html

    shown = invoke(env, "report", "compliance", *period).output  # the terminal table
    assert "按时率" in shown and "市政务服务局" in shown and "R1" in shown

    bad = invoke(env, "report", "compliance", "--from", "2026-10-31", "--to", "2026-10-01", code=2)
    assert "结束日期 2026-10-01 早于开始日期 2026-10-31" in bad.output
    bad = invoke(env, "report", "compliance", *period, "--format", "pdf", code=2)
    assert "未知格式“pdf”" in bad.output and "csv、xlsx、json、html" in bad.output
    bad = invoke(env, "report", "compliance", *period, "--format", "xlsx", code=2)
    assert "--output" in bad.output


async def test_annual_table_two_counts_regulations_and_normative_documents(svc: Service) -> None:
    desk: Desk = svc.desk  # type: ignore[attr-defined]
    desk.clock.set(beijing(2025, 6, 2, 9))
    old = await desk.approved("policy", "关于规范停车收费的若干规定", normative=True, issued="2025-06-01",
                              validity="有效", doc_no="京政发〔2025〕8号")
    await desk.publish([old])
    desk.clock.set(beijing(2026, 3, 2, 9))
    rule = await desk.approved("policy", "示例市公共数据管理办法", doc_no="示例市人民政府令第5号",
                               issued="2026-03-01", validity="有效")
    norm = await desk.approved("policy", "关于加强政务公开的意见", normative=True, issued="2026-02-27",
                               doc_no="京政发〔2026〕3号", validity="有效")
    plain = await desk.approved("policy", "2026年工作要点", issued="2026-02-20", doc_no="京政办〔2026〕1号")
    news = await desk.approved("news", "市政府召开常务会议")
    await desk.publish([rule, norm, plain, news])
    desk.clock.set(beijing(2026, 7, 1, 9))
    await correct(desk, old, title="关于规范停车收费的若干规定", body="已废止。", note="本规定已废止",
                  normative=True, issued="2025-06-01", validity="已废止", doc_no="京政发〔2025〕8号",
                  index_no="11000000/2025-00001", issuer="示例市人民政府", topic="交通")
    report = await ops.annual(svc, AUDITOR, 2026)
    got = {(c.row, c.column): (c.text, c.source) for c in report.cells}
    assert got[("regulations", "issued")] == ("1", "store")
    assert got[("regulations", "abolished")] == ("0", "store")
    assert got[("regulations", "in_force")] == ("1", "store")
    assert got[("normative", "issued")] == ("1", "store")
    assert got[("normative", "abolished")] == ("1", "store")  # abolished by the July correction
    assert got[("normative", "in_force")] == ("1", "store")
    assert got[("licensing", "decisions")] == ("待填写", "missing")
    assert got[("fees", "amount")] == ("待填写", "missing")
    counts = {(d.column, d.kind): d.count for d in report.disclosures}
    assert counts == {("政策文件", "policy"): 3, ("工作动态", "news"): 1}
    # 2025: the old one issued and in force
    before = await ops.annual(svc, AUDITOR, 2025)
    assert before.cell("normative", "issued").text == "1" and before.cell("normative", "in_force").text == "1"
    text = render(annual_doc(report, SHANGHAI), Format.TEXT, SHANGHAI, desk.clock.now()).decode()
    assert "第二十条第（一）项" in text and "规章" in text and "行政规范性文件" in text
    assert "待填写" in text and "gongkai report annual-set 2026 licensing decisions" in text


def test_staff_figures_are_kept_audited_and_shown(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url)
    shown = invoke(env, "report", "annual-set", "2026", "licensing", "decisions", "128").output
    assert "行政许可·本年处理决定数量 = 128" in shown
    invoke(env, "report", "annual-set", "2026", "行政事业性收费", "本年收费金额", "12.5")
    invoke(env, "report", "annual-set", "2026", "penalty", "decisions", "7", user="bob")
    invoke(env, "report", "annual-set", "2026", "penalty", "decisions", "9", user="bob")  # replaced
    bad = invoke(env, "report", "annual-set", "2026", "licensing", "decisions", "1.5", code=2)
    assert "应为整数" in bad.output
    bad = invoke(env, "report", "annual-set", "2026", "permits", "decisions", "1", code=2)
    assert "没有“permits”这一行" in bad.output and "licensing（行政许可）" in bad.output
    bad = invoke(env, "report", "annual-set", "2026", "licensing", "amount", "1", code=2)
    assert "没有“amount”这一栏" in bad.output

    doc = json.loads(invoke(env, "report", "annual", "2026", "--format", "json").output)
    cells = {(c["row"], c["column"]): c for c in doc["table2"]}
    assert (cells[("licensing", "decisions")]["value"], cells[("licensing", "decisions")]["source"]) == (128, "staff")
    assert cells[("fees", "amount")]["value"] == 12.5
    assert (cells[("penalty", "decisions")]["value"], cells[("penalty", "decisions")]["entered_by"]) == (9, "bob")
    assert cells[("enforcement", "decisions")]["source"] == "missing"

    xlsx = tmp_path / "年报.xlsx"
    invoke(env, "report", "annual", "2026", "--format", "xlsx", "--output", str(xlsx))
    ws = load_workbook(xlsx)["二、主动公开政府信息情况"]
    rows = {r[0]: r for r in ([c.value for c in row] for row in ws.iter_rows()) if r[0]}
    assert rows["行政许可"][1] == 128 and rows["行政处罚"][1] == 9 and rows["行政强制"][1] == "待填写"
    assert rows["行政事业性收费"][1] == 12.5 and rows["规章"][1:4] == [0, 0, 0]
    assert "人工填写（alice" in rows["行政许可"][2]

    html_file = tmp_path / "年报.html"
    invoke(env, "report", "annual", "2026", "--output", str(html_file))
    html = html_file.read_text(encoding="utf-8")
    assert "2026年政府信息公开工作年度报告" in html and 'class="todo"' in html

    asyncio.run(_check_kept(env["config"]))


async def _check_kept(config: Path) -> None:
    svc = await Service.create(load(config))
    try:
        async with svc.store.sessions() as s:
            events = list(await s.scalars(select(AuditEvent).where(AuditEvent.action == "annual_report_set")
                                          .order_by(AuditEvent.id)))
        assert [(e.actor, e.detail["row"], e.detail["value"], e.detail["previous"]) for e in events] == [
            ("alice", "licensing", "128", None), ("alice", "fees", "12.5", None),
            ("bob", "penalty", "7", None), ("bob", "penalty", "9", "7")]
        author = AccountView("dave", "戴维", "", (Role.AUTHOR,), False, True)
        with pytest.raises(GongkaiError, match="审核签发"):
            await ops.annual_set(svc, author, 2026, "licensing", "decisions", "1")
        with pytest.raises(GongkaiError, match="审核签发"):  # an auditor reads but changes nothing
            await ops.annual_set(svc, AUDITOR, 2026, "licensing", "decisions", "1")
        assert (await ops.annual(svc, AUDITOR, 2026)).cell("licensing", "decisions").text == "128"
    finally:
        await svc.store.close()


def test_spans_of_the_cadence_rules_read_as_days() -> None:
    assert [ops.span_days(x) for x in ("14d", "2w", "6m", "1y", "10天", "6个月")] == [14, 14, 183, 365, 10, 183]
    with pytest.raises(GongkaiError, match="时长"):
        ops.span_days("两周")
