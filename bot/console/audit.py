"""审计日志 (``/console/audit/``): the trail filtered by item, account, action and date, paged,
and exported as CSV (the export is audited). Administrators and auditors."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from bot.console import kit
from bot.ops import audit as ops_audit
from content.accounts import Role
from content.errors import InputError

READERS = (Role.ADMIN, Role.AUDITOR)


def _date(text: str, field: str, label: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{label}“{text}”不是有效日期", field=field, fix="写成 2026-03-02 这样的年-月-日") from None


def parse_filters(form: Mapping[str, str]) -> ops_audit.Filters:
    item = str(form.get("item", "")).strip()
    if item and not item.isdigit():
        raise InputError(f"稿件编号“{item}”不是数字", field="item", fix="填稿件编号（数字），或留空")
    filters = ops_audit.Filters(
        item_id=int(item) if item else None, actor=str(form.get("actor", "")).strip()[:100],
        action=str(form.get("action", "")).strip()[:50],
        since=_date(str(form.get("since", "")), "since", "开始日期"),
        until=_date(str(form.get("until", "")), "until", "结束日期"))
    filters.check()
    return filters


def _query_of(filters: ops_audit.Filters, page: int) -> str:
    params = {"item": filters.item_id or "", "actor": filters.actor, "action": filters.action,
              "since": filters.since or "", "until": filters.until or "", "page": page}
    return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


@kit.view("/console/audit/", roles=READERS)
async def audit_log(request: web.Request) -> web.StreamResponse:
    service, who = kit.svc(request), kit.who(request)
    error = ""
    try:
        filters = parse_filters(request.query)
    except InputError as exc:
        filters, error = ops_audit.Filters(), kit.say(exc)
    page_no = int(request.query["page"]) if request.query.get("page", "").isdigit() else 1
    page = await ops_audit.query(service, who, filters, page=page_no)
    return await kit.render(
        request, "audit.html", status=400 if error else 200, error=error, page=page, form=request.query,
        actions=await ops_audit.actions(service, who),
        prev_url=_query_of(filters, page.page - 1) if page.page > 1 else "",
        next_url=_query_of(filters, page.page + 1) if page.has_next else "")


@kit.action("/console/audit/export", roles=READERS)
async def audit_export(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    filters = parse_filters({k: str(v) for k, v in form.items()})
    export = await ops_audit.export_csv(kit.svc(request), kit.who(request), filters)
    return web.Response(body=export.text.encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{export.filename}"'})
