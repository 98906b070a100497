"""The reports as tables a person reads (Chinese headings, times in the configured zone) and as
JSON documents (English keys, ISO dates and instants). :mod:`bot.report_files` writes the tables
as a terminal table, CSV, XLSX or an HTML page."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from content.annual_report import ROWS, SOURCE_LABELS, AnnualReport, Source
from schedules.compliance_report import ComplianceReport, Lateness, QuietWeek
from schedules.inspection import INDICATORS, SEVERITY_LABELS, Inspection, Severity

Value = str | int | float | Decimal | None
STATE_LABELS = {"late": "逾期完成", "missed": "已超期未完成"}
SUBJECT_LABELS = {"item": "稿件", "column": "栏目", "account": "账号", "department": "部门", "site": "网站"}
CHANNEL_LABELS = {"wechat": "微信公众号", "weibo": "微博"}


@dataclass(frozen=True)
class Block:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    empty: str = "无"  # shown instead of an empty table


@dataclass(frozen=True)
class Sheet:
    title: str  # also the XLSX worksheet's name (cut to 31 characters)
    blocks: tuple[Block, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    sheets: tuple[Sheet, ...]
    data: dict[str, Any] = field(default_factory=dict)  # the JSON document


def _local(when: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return when.astimezone(tz).strftime(fmt) if when else ""


def _due(x: Lateness, tz: ZoneInfo) -> str:
    """A working-day deadline is the whole due day; a clock-hour one is the instant."""
    if x.unit == "workdays":
        return f"{x.due_on.isoformat()} 当日"
    return _local(x.due_at, tz)


def _subject(x: Lateness) -> str:
    label = SUBJECT_LABELS.get(x.subject_type, x.subject_type)
    if x.subject_type == "item":
        return f"{label} {x.subject_id}《{x.subject_name}》" if x.subject_name else f"{label} {x.subject_id}"
    if x.subject_type == "site":
        return label
    name = CHANNEL_LABELS.get(x.subject_name, x.subject_name) if x.subject_type == "account" else x.subject_name
    return f"{label}“{name}”" if name else f"{label} {x.subject_id}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# ------------------------------------------------------------------------------ compliance
def compliance(report: ComplianceReport, tz: ZoneInfo) -> Document:
    period = f"{report.start.isoformat()} 至 {report.end.isoformat()}"
    scope = f"（{report.department}）" if report.department else "（全部部门）"
    rules = Block("按部门和规则统计", (
        "部门", "规则", "规则名称", "义务数", "按时完成", "逾期完成", "逾期工作日合计", "逾期小时合计",
        "已超期未完成", "已豁免", "未到期", "按时率"), tuple(
        (r.department or "未填部门", r.rule, r.label, r.obligations, r.met, r.late, r.late_workdays,
         r.late_hours, r.missed, r.waived, r.open, _rate(r.on_time_rate)) for r in report.rules),
        "本期没有到期的时限义务")
    late = Block("逾期完成与超期未完成明细", (
        "编号", "部门", "规则", "对象", "状态", "截止时间", "完成时间", "逾期"), tuple(
        (x.obligation_id, x.department or "未填部门", x.rule,
         _subject(x),
         STATE_LABELS.get(x.state, x.state), _due(x, tz), _local(x.met_at, tz) or "未完成",
         f"{x.hours:g} 小时" if x.unit == "hours" else f"{x.workdays} 个工作日")
        for x in report.lateness), "无")
    weeks = Block("网站无新信息的自然周", ("起", "止", "周数", "周次"), tuple(
        (run[0].monday.isoformat(), run[-1].sunday.isoformat(), len(run), _week_names(run))
        for run in _runs(report.quiet_weeks)), "每周都有更新")
    stale = report.stale_columns
    columns = Block("未按期更新的栏目", ("栏目", "最近更新", "距今天数", "时限（天）", "情况"), tuple(
        (c.column, _local(c.last_update, tz) or "从未", c.days_since if c.days_since is not None else "—",
         c.limit_days, "空白栏目" if c.blank else "超期未更新") for c in stale), "各栏目均按期更新")
    accounts = Block("政务新媒体账号", ("账号", "最近发布", "距今天数", "时限（天）", "情况"), tuple(
        (CHANNEL_LABELS.get(a.channel, a.channel), _local(a.last_sent_at, tz) or "从未",
         a.days_since if a.days_since is not None else "—", a.limit_days,
         "超期未更新" if a.stale else "正常") for a in report.accounts), "未启用微信或微博渠道")
    press = Block("新闻发布会（每季度）", ("部门", "季度", "已举办", "目标", "情况"), tuple(
        (p.department or "未填部门", p.quarter, p.held, p.target,
         ("不足" if p.ended else "进行中，尚差 " + str(p.target - p.held) + " 场") if p.short else "达标")
        for p in report.press), "没有需要统计的部门（在 [reports] press_departments 中列出）")
    notes = (f"统计截至 {_local(report.as_of, tz)}（{tz.key}）；按截止日落在统计区间内的时限义务统计，"
             "到期未完成的计为已超期未完成。",
             f"共检查 {report.weeks_checked} 个已结束的自然周，{len(report.quiet_weeks)} 周无更新；"
             f"共 {len(report.columns)} 个栏目，{len(stale)} 个未按期更新；"
             f"{len(report.stale_accounts)} 个政务新媒体账号超期未更新。")
    sheets = (Sheet("时限义务", (rules,), notes[:1]), Sheet("逾期明细", (late,)),
              Sheet("网站更新", (weeks, columns), notes[1:]), Sheet("新媒体与发布会", (accounts, press)))
    return Document(f"政务公开合规报告{scope}", period, sheets, compliance_json(report))


def _runs(weeks: tuple[QuietWeek, ...]) -> list[list[QuietWeek]]:
    """Consecutive weeks together, so that a quiet quarter is one line."""
    runs: list[list[QuietWeek]] = []
    for w in weeks:
        if runs and (w.monday - runs[-1][-1].monday).days == 7:
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs


def _week_names(run: list[QuietWeek]) -> str:
    first, last = run[0], run[-1]
    if len(run) == 1:
        return f"{first.year}年第{first.week}周"
    end = f"第{last.week}周" if last.year == first.year else f"{last.year}年第{last.week}周"
    return f"{first.year}年第{first.week}周至{end}"


def compliance_json(report: ComplianceReport) -> dict[str, Any]:
    return {
        "period": {"from": report.start.isoformat(), "to": report.end.isoformat()},
        "department": report.department, "as_of": _iso(report.as_of),
        "rules": [{"department": r.department, "rule": r.rule, "label": r.label,
                   "obligations": r.obligations, "met": r.met, "late": r.late, "missed": r.missed,
                   "waived": r.waived, "open": r.open, "late_workdays": r.late_workdays,
                   "late_hours": r.late_hours, "max_late_workdays": r.max_late_workdays,
                   "on_time_rate": r.on_time_rate} for r in report.rules],
        "lateness": [{"obligation": x.obligation_id, "department": x.department, "rule": x.rule,
                      "subject": {"type": x.subject_type, "id": x.subject_id, "name": x.subject_name},
                      "state": x.state,
                      "due_on": x.due_on.isoformat(), "due_at": _iso(x.due_at), "met_at": _iso(x.met_at), "unit": x.unit,
                      "workdays": x.workdays, "hours": x.hours} for x in report.lateness],
        "site_weeks": {"checked": report.weeks_checked,
                       "without_update": [{"year": w.year, "week": w.week, "from": w.monday.isoformat(),
                                           "to": w.sunday.isoformat()} for w in report.quiet_weeks]},
        "columns": [{"column": c.column, "last_update": _iso(c.last_update), "days_since": c.days_since,
                     "limit_days": c.limit_days, "stale": c.stale, "blank": c.blank} for c in report.columns],
        "accounts": [{"channel": a.channel, "last_sent_at": _iso(a.last_sent_at), "days_since": a.days_since,
                      "limit_days": a.limit_days, "stale": a.stale} for a in report.accounts],
        "press_conferences": [{"department": p.department, "quarter": p.quarter, "held": p.held,
                               "target": p.target, "short": p.short, "quarter_ended": p.ended}
                              for p in report.press],
    }


# ---------------------------------------------------------------------------------- annual
def _num(value: Decimal | None) -> Value:
    if value is None:
        return "待填写"
    return int(value) if value == value.to_integral_value() else float(value)


def annual(report: AnnualReport, tz: ZoneInfo) -> Document:
    blocks = []
    groups: dict[str, list] = {}
    for row in ROWS:
        groups.setdefault(row.item + "|" + ",".join(c.code for c in row.columns), []).append(row)
    for key, rows in groups.items():
        item = key.split("|")[0]
        columns = rows[0].columns
        body = []
        for row in rows:
            cells = [report.cell(row.code, c.code) for c in columns]
            body.append((row.label, *(_num(c.value) for c in cells), _source(cells, report.year, tz)))
        blocks.append(Block(item, ("信息内容", *(c.label for c in columns), "数据来源"), tuple(body)))
    missing = len(report.missing)
    notes = ("规章：文号为政府令或标签含“规章”的政策文件；行政规范性文件：标记为规范性文件的政策文件。"
             "废止：有效性为“废止”或“失效”的版本发布之日。",
             f"待填写 {missing} 项（库中无此数据）：用 gongkai report annual-set {report.year} 行 栏 数值 填写，"
             "填写后保存并记入审计。" if missing else "各项均已有数据。")
    total = sum(d.count for d in report.disclosures)
    counts = Block("本年主动公开信息数量（按栏目和类型）", ("栏目", "类型", "件数"), tuple(
        (d.column, d.kind_label, d.count) for d in report.disclosures) + ((("合计", "", total),) if total else ()),
        "本年没有发布信息")
    sheets = (Sheet("二、主动公开政府信息情况", tuple(blocks), notes),
              Sheet("主动公开数量", (counts,)))
    return Document(f"{report.year}年政府信息公开工作年度报告", "第二部分 主动公开政府信息情况",
                    sheets, annual_json(report))


def _source(cells: list, year: int, tz: ZoneInfo) -> str:
    parts = []
    for c in cells:
        if c.source == Source.STAFF:
            own = f"，库中统计 {c.counted}" if c.counted is not None else ""
            parts.append(f"人工填写（{c.entered_by}，{_local(c.entered_at, tz, '%Y-%m-%d')}{own}）")
        elif c.source == Source.MISSING:
            parts.append(f"待填写：gongkai report annual-set {year} {c.row} {c.column} 数值")
        else:
            parts.append(SOURCE_LABELS[Source.STORE])
    return "；".join(dict.fromkeys(parts))


def annual_json(report: AnnualReport) -> dict[str, Any]:
    return {
        "year": report.year,
        "table2": [{"row": c.row, "column": c.column, "value": _iso(c.value), "source": c.source,
                    "counted": c.counted, "entered_by": c.entered_by, "entered_at": _iso(c.entered_at)}
                   for c in report.cells],
        "disclosures": [{"column": d.column, "kind": d.kind, "count": d.count} for d in report.disclosures],
    }


# --------------------------------------------------------------------------------- inspect
def inspect(result: Inspection, tz: ZoneInfo) -> Document:
    summary = []
    for ind, name in INDICATORS.items():
        hits = [f for f in result.findings if f.indicator == ind]
        vetoes = sum(1 for f in hits if f.severity == Severity.VETO)
        if vetoes:
            verdict = f"单项否决（{vetoes} 项）"
        elif hits:
            verdict = f"扣分（{len(hits)} 项）"
        else:
            verdict = "通过"
        summary.append((ind, name, verdict))
    detail = tuple((f.indicator, SEVERITY_LABELS[f.severity], f.message, f.where) for f in result.findings)
    verdict = (f"存在 {len(result.vetoes)} 项单项否决问题，网站检查将不合格" if result.vetoes
               else f"无单项否决问题；{len(result.deductions)} 项扣分问题" if result.deductions
               else "全部指标通过")
    notes = (f"检查时间 {_local(result.at, tz)}（{tz.key}）；网站目录 {result.site}，共 {result.pages} 个页面。",
             f"结论：{verdict}。")
    sheets = (Sheet("检查结果", (Block("指标", ("编号", "指标", "结论"), tuple(summary)),), notes),
              Sheet("问题明细", (Block("问题明细", ("指标", "性质", "问题", "位置"), detail, "未发现问题"),)))
    return Document("网站与政务新媒体自查", verdict, sheets, inspect_json(result))


def inspect_json(result: Inspection) -> dict[str, Any]:
    return {
        "at": _iso(result.at), "site": result.site, "pages": result.pages,
        "veto": bool(result.vetoes),
        "indicators": [{"id": i, "label": n, "passed": result.passed(i)} for i, n in INDICATORS.items()],
        "findings": [{"indicator": f.indicator, "severity": f.severity.value, "message": f.message,
                      "where": f.where} for f in result.findings],
    }

