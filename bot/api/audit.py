"""The audit trail over the API: filtered pages (account, item, action, local dates) and the CSV
export (itself audited), from :mod:`bot.ops.audit` like the console 审计日志."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from bot.api.registry import Call, Download, Id, Text
from bot.api.routes import API
from bot.ops import audit as ops

TAG = "审计日志"


class AuditQuery(BaseModel):
    item_id: Id | None = Field(None, description="只看某篇稿件")
    actor: str = Field("", max_length=100, description="只看某个账号（登录名）")
    action: str = Field("", max_length=50, description="只看某种操作，如 submitted、approved、sms_subscribers_exported")
    since: date | None = Field(None, description="起始日期（含），如 2026-11-01")
    until: date | None = Field(None, description="结束日期（含）")

    def filters(self) -> ops.Filters:
        return ops.Filters(self.item_id, self.actor.strip(), self.action.strip(), self.since, self.until)


class PageQuery(AuditQuery):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(ops.PER_PAGE, ge=1, le=500)


class AuditPage(BaseModel):
    """审计记录（最新的在前）"""

    entries: list[ops.Entry]  # the service layer's own record: one definition for the API and the console
    page: int
    per_page: int
    has_next: bool


@API.add("GET", "/audit", op_id="audit_list", summary="审计记录（可按稿件、账号、操作、日期筛选）", tag=TAG,
         answer=AuditPage, query=PageQuery, roles="管理员、只读")
async def listing(call: Call[Any, PageQuery, None]) -> AuditPage:
    q = call.query
    found = await ops.query(call.svc, call.who, q.filters(), page=q.page, per_page=q.per_page)
    return AuditPage(entries=list(found.entries), page=found.page,
                     per_page=found.per_page, has_next=found.has_next)


@API.add("GET", "/audit/export", op_id="audit_export", summary="导出审计记录（CSV，导出本身记入审计）", tag=TAG,
         answer=Text("text/csv", "CSV，UTF-8"), query=AuditQuery, roles="管理员、只读")
async def export(call: Call[Any, AuditQuery, None]) -> Download:
    done = await ops.export_csv(call.svc, call.who, call.query.filters())
    return Download(done.text, done.filename)
