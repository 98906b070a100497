"""报表 (``/console/reports/``): the compliance report, table II of the annual report (with the
figures staff enter) and the self-inspection, each also downloadable as CSV, XLSX, JSON or HTML.
The same ops (``bot.ops.reports``) and the same tables (``bot.report_sheets``) as
``gongkai report`` and ``gongkai inspect``."""
from __future__ import annotations

import asyncio
from datetime import date
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.console import kit
from bot.ops import reports as ops
from bot.report_files import EXTENSIONS, Format, render
from bot.report_sheets import Document, annual, compliance, inspect
from bot.timeparse import parse_date
from content.accounts import Role
from content.annual_report import ROWS
from content.errors import GongkaiError, InputError

BASE = "/console/reports/"
CONTENT_TYPES = {
    Format.CSV: "text/csv", Format.JSON: "application/json", Format.HTML: "text/html",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DOWNLOADS = (Format.XLSX, Format.CSV, Format.HTML, Format.JSON)


def _period(request: web.Request) -> tuple[date, date, str]:
    today = kit.svc(request).clock.now().astimezone(kit.svc(request).settings.tz).date()
    q = request.query
    start = parse_date(q["from"], field="开始日期") if q.get("from") else date(today.year, 1, 1)
    end = parse_date(q["to"], field="结束日期") if q.get("to") else today
    return start, end, q.get("department", "").strip()


def _year(request: web.Request) -> int:
    raw = request.query.get("year", "").strip()
    if not raw:
        service = kit.svc(request)
        return service.clock.now().astimezone(service.settings.tz).year
    if not raw.isdigit():
        raise InputError(f"年份“{raw}”无效", field="year", fix="写四位年份，如 2026")
    return int(raw)


def _fmt(request: web.Request) -> Format:
    name = request.match_info.get("fmt", "")
    fmt = next((f for f, ext in EXTENSIONS.items() if ext == "." + name), None)
    if fmt is None:
        raise web.HTTPNotFound()
    return fmt


async def _download(request: web.Request, doc: Document, fmt: Format, name: str) -> web.Response:
    service = kit.svc(request)
    # a year's XLSX for a large store takes a moment of CPU: off the event loop
    body = await asyncio.to_thread(render, doc, fmt, service.settings.tz, service.clock.now())
    filename = name + EXTENSIONS[fmt]
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
    return web.Response(body=body, headers=headers, content_type=CONTENT_TYPES[fmt],
                        charset=None if fmt is Format.XLSX else "utf-8")


async def _compliance_doc(request: web.Request) -> tuple[Document, dict[str, str]]:
    service = kit.svc(request)
    start, end, department = _period(request)
    result = await ops.compliance(service, kit.who(request), start=start, end=end, department=department)
    query = {"from": start.isoformat(), "to": end.isoformat(), "department": department}
    return compliance(result, service.settings.tz), query


@kit.view(BASE)
async def compliance_page(request: web.Request) -> web.StreamResponse:
    query = {k: request.query.get(k, "") for k in ("from", "to", "department")}
    try:
        doc, query = await _compliance_doc(request)
    except GongkaiError as exc:
        return await kit.render(request, "reports.html", tab="compliance", doc=None, error=kit.say(exc),
                                query=query, downloads=())
    qs = urlencode(query)
    return await kit.render(request, "reports.html", tab="compliance", doc=doc, error=None, query=query,
                            downloads=[(f.value.upper(), f"{BASE}compliance{EXTENSIONS[f]}?{qs}") for f in DOWNLOADS])


@kit.view(BASE + "compliance.{fmt}")
async def compliance_file(request: web.Request) -> web.StreamResponse:
    fmt = _fmt(request)
    try:
        doc, query = await _compliance_doc(request)
    except InputError as exc:
        raise web.HTTPBadRequest(text=kit.say(exc)) from None
    return await _download(request, doc, fmt, f"合规报告_{query['from']}_{query['to']}")


@kit.view(BASE + "annual")
async def annual_page(request: web.Request) -> web.StreamResponse:
    service, who = kit.svc(request), kit.who(request)
    try:
        year = _year(request)
        doc = annual(await ops.annual(service, who, year), service.settings.tz)
    except GongkaiError as exc:
        return await kit.render(request, "reports.html", tab="annual", doc=None, error=kit.say(exc),
                                query={"year": request.query.get("year", "")}, downloads=())
    return await kit.render(
        request, "reports.html", tab="annual", doc=doc, error=None, query={"year": str(year)},
        downloads=[(f.value.upper(), f"{BASE}annual{EXTENSIONS[f]}?year={year}") for f in DOWNLOADS],
        rows=ROWS, may_enter=who.has(Role.APPROVER) or who.has(Role.ADMIN), year=year)


@kit.view(BASE + "annual.{fmt}")
async def annual_file(request: web.Request) -> web.StreamResponse:
    fmt = _fmt(request)
    service = kit.svc(request)
    try:
        year = _year(request)
        doc = annual(await ops.annual(service, kit.who(request), year), service.settings.tz)
    except InputError as exc:
        raise web.HTTPBadRequest(text=kit.say(exc)) from None
    return await _download(request, doc, fmt, f"{year}年政府信息公开年度报告_表二")


@kit.action(BASE + "annual", roles=(Role.APPROVER, Role.ADMIN))
async def annual_enter(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    year_text = str(form.get("year", "")).strip()
    if not year_text.isdigit():
        raise InputError(f"年份“{year_text}”无效", fix="写四位年份，如 2026")
    row, _, column = str(form.get("cell", "")).partition(":")
    cell = await ops.annual_set(kit.svc(request), kit.who(request), int(year_text), row, column,
                                str(form.get("value", "")))
    row_def = next(r for r in ROWS if r.code == cell.row)
    col = next(c for c in row_def.columns if c.code == cell.column)
    raise await kit.redirect_with_flash(request, f"{BASE}annual?year={year_text}",
                                        f"已保存：{year_text} 年 {row_def.label}·{col.label} = {cell.text}")


@kit.view(BASE + "inspect")
async def inspect_page(request: web.Request) -> web.StreamResponse:
    service = kit.svc(request)
    try:
        result = await ops.inspect(service, kit.who(request))
    except GongkaiError as exc:
        return await kit.render(request, "reports.html", tab="inspect", doc=None, error=kit.say(exc),
                                query={}, downloads=())
    return await kit.render(
        request, "reports.html", tab="inspect", doc=inspect(result, service.settings.tz), error=None,
        query={}, veto=bool(result.vetoes),
        downloads=[(f.value.upper(), f"{BASE}inspect{EXTENSIONS[f]}") for f in DOWNLOADS])


@kit.view(BASE + "inspect.{fmt}")
async def inspect_file(request: web.Request) -> web.StreamResponse:
    fmt = _fmt(request)
    service = kit.svc(request)
    try:
        result = await ops.inspect(service, kit.who(request))
    except InputError as exc:
        raise web.HTTPBadRequest(text=kit.say(exc)) from None
    return await _download(request, inspect(result, service.settings.tz), fmt, "网站与政务新媒体自查")
