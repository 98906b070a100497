"""Reports and self-inspection: the one implementation the CLI (``gongkai report``,
``gongkai inspect``) and the console call.

Reading a report or running the inspection is open to every role (只读 included); entering an
annual-report figure takes 审核签发 or 管理员 and is audited under the acting account.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from content import annual_report
from bot.ops import Role, Who, any_role, require
from content.annual_report import AnnualReport
from content.errors import InputError
from schedules import compliance_report, inspection
from schedules.compliance_report import ComplianceReport, Limits
from schedules.inspection import Inspection, Thresholds

if TYPE_CHECKING:
    from bot.service import Service
    from bot.settings import Settings

MAX_SPAN_DAYS = 5 * 366
WRITE_ROLES = (Role.APPROVER, Role.ADMIN)


def limits(settings: Settings) -> Limits:
    """The report's numbers from ``[reports]``; where the cadence rules' own configuration
    exists (``[rules.R5]`` columns and live columns, ``[rules.C6]`` every, the ``[[departments]]``
    register) and the ``[reports]`` key was not given, theirs, so one office sets each number once."""
    r = settings.reports
    given = r.model_fields_set
    column_days, columns, account_days = dict(r.column_days), tuple(r.columns), r.account_days
    rules = settings.rules
    r5, c6 = getattr(rules, "R5", None), getattr(rules, "C6", None)
    if r5 is not None:
        if "column_days" not in given and getattr(r5, "columns", None):
            column_days = {name: span_days(span) for name, span in r5.columns.items()}
        if "columns" not in given and getattr(r5, "live_columns", None):
            columns = tuple(r5.live_columns)
    if c6 is not None and "account_days" not in given and getattr(c6, "every", None):
        account_days = span_days(c6.every)
    targets = {name: r.press_target_per_quarter for name in r.press_departments}
    for dept in getattr(settings, "departments", None) or ():
        targets.setdefault(dept.name, dept.press_conferences_per_quarter)
    return Limits(column_days=column_days, default_column_days=r.default_column_days,
                  account_days=account_days, press_target=r.press_target_per_quarter,
                  press_targets=targets, columns=columns)


_SPAN = re.compile(r"^\s*(\d{1,4})\s*(d|w|m|y|天|日|周|个月|月|年)\s*$", re.I)


def span_days(span: str) -> int:
    """A span written as 14d, 2w, 6m, 1y (or 14天, 2周, 6个月, 1年), in days (a month ≈ 365/12)."""
    match = _SPAN.match(str(span))
    if match is None:
        raise InputError(f"时长“{span}”无效", fix="写成 14d、2w、6m 或 1y（天、周、月、年）")
    n, unit = int(match.group(1)), match.group(2).lower()
    per = {"d": 1.0, "天": 1.0, "日": 1.0, "w": 7.0, "周": 7.0, "y": 365.0, "年": 365.0}.get(unit, 365 / 12)
    return int(n * per + 0.5)


def thresholds(settings: Settings) -> Thresholds:
    r = settings.reports
    return Thresholds(home_page_days=r.home_page_days, key_columns_veto=r.key_columns_veto,
                      stale_columns_veto=r.stale_columns_veto, blank_columns_veto=r.blank_columns_veto,
                      dynamic_paths=tuple(r.dynamic_paths))


def check_period(start: date, end: date) -> None:
    if end < start:
        raise InputError(f"结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}", field="--to",
                         fix="--from 写开始日期，--to 写结束日期（含当天）")
    if (end - start).days > MAX_SPAN_DAYS:
        raise InputError("统计区间超过 5 年", field="--to", fix="分段统计，每段不超过 5 年")


async def compliance(svc: Service, who: Who, *, start: date, end: date,
                     department: str | None = None) -> ComplianceReport:
    any_role(who, "查看合规报告")
    check_period(start, end)
    department = (department or "").strip() or None
    async with svc.store.sessions() as s:
        return await compliance_report.compute(
            s, svc.calendar, limits(svc.settings), start=start, end=end, department=department,
            channels=svc.enabled_channel_names(), tz=svc.settings.tz, now=svc.clock.now())


async def annual(svc: Service, who: Who, year: int) -> AnnualReport:
    any_role(who, "查看年度报告")
    async with svc.store.sessions() as s:
        return await annual_report.compute(s, year, tz=svc.settings.tz)


async def annual_set(svc: Service, who: Who, year: int, row: str, column: str,
                     value: str) -> annual_report.Cell:
    """Keep a staff figure in table II; returns the cell as the report now shows it."""
    require(who, *WRITE_ROLES, action="填写年度报告数据")
    entry = await svc.store.transaction(lambda s: annual_report.set_entry(
        s, year, row, column, value, actor=who.login, now=svc.clock.now()), what="annual report entry")
    report = await annual(svc, who, year)
    return report.cell(entry.row, entry.column)


async def inspect(svc: Service, who: Who, *, site: Path | None = None, url: str | None = None) -> Inspection:
    """The indicators over the built site at ``site`` (default: the configured site directory);
    with ``url``, also whether the running site's home page opens (I10)."""
    any_role(who, "运行自查")
    if url is not None and not url.startswith(("http://", "https://")):
        raise InputError(f"网址“{url}”无效", field="--url", fix="写成 http(s):// 开头的网站首页地址")
    site = site or svc.settings.site_path
    if not site.exists():
        raise InputError(f"网站目录 {site} 不存在", field="--site",
                         fix="先运行 gongkai site build，或用 --site 指向已构建的网站目录")
    async with svc.store.sessions() as s:
        return await inspection.run(
            s, site, limits=limits(svc.settings), thresholds=thresholds(svc.settings), rules=svc.rules,
            channels=svc.enabled_channel_names(), base_url=svc.settings.base_url, tz=svc.settings.tz,
            now=svc.clock.now(), url=url)
