"""SMS subscribers over the API: counts per topic, the list, CSV import (with a per-row
report), CSV export (audited), removal and a release's per-number report. Numbers are masked
(``138****5678``) unless an administrator asks with ``unmasked=true`` (audited). All of it is
:mod:`channels.sms.ops`, the functions the command line and the console call."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.api.registry import Call, Download, Id, Text
from bot.api.routes import API
from channels.sms import ops

TAG = "订阅用户"
Status = Literal["pending", "active", "unsubscribed", "blocked", "inactive"]
Result = Literal["sent", "delivered", "failed", "skipped", "unknown"]
UNMASKED = "true：显示完整号码（仅管理员；记入审计）"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TopicCount(_Out):
    topic: str
    active: int = Field(description="接收该主题短信的号码数")


class Counts(_Out):
    """订阅用户数：按状态、按主题"""

    total: int
    by_status: dict[str, int]
    by_topic: list[TopicCount]


class SubscriberRow(_Out):
    id: int
    phone: str = Field(description="号码（默认中间四位为 ****）")
    status: str
    topics: list[str]
    source: str
    consent_at: datetime | None
    consent_method: str
    consent_from: str
    consent_detail: str
    created_at: datetime
    unsubscribed_at: datetime | None


class SubscriberList(_Out):
    """订阅用户列表（最新的在前）"""

    total: int
    rows: list[SubscriberRow]
    unmasked: bool


class ListQuery(BaseModel):
    status: Status | None = Field(None, description="只列出某种状态")
    topic: str | None = Field(None, max_length=200, description="只列出订阅了该主题的号码")
    search: str | None = Field(None, max_length=20, description="号码中包含的数字")
    limit: int = Field(50, ge=1, le=ops.LIST_MAX, description="最多返回多少个")
    unmasked: bool = Field(False, description=UNMASKED)


class ImportQuery(BaseModel):
    consent: str = Field("", max_length=500, description="如何取得本人同意（CSV 没有 consent 列时必填）")
    source: str = Field("", max_length=100, description="没有 source 列时记录的来源")
    filename: str = Field("", max_length=200, description="文件名（记入审计）")
    unmasked: bool = Field(False, description="true：错误报告中显示完整号码（仅管理员）")


class BadRow(_Out):
    line: int
    row: str
    problem: str = Field(description="问题与修正办法")


class ImportReport(_Out):
    """导入结果：新增、更新、未变的号码数与逐行错误报告（有问题的行未导入，其余已导入）"""

    added: int
    updated: int
    unchanged: int
    unknown_topics: dict[str, int] = Field(description="不存在的主题及其行数")
    bad_rows: list[BadRow]


class ExportQuery(BaseModel):
    status: Status | None = Field(None, description="只导出某种状态")
    unmasked: bool = Field(False, description="true：完整号码（仅管理员；可再次导入）")


class RemoveBody(BaseModel):
    phones: list[str] = Field(min_length=1, max_length=ops.REMOVE_MAX, description="手机号，如 13800000001")
    purge: bool = Field(False, description="true：删除号码记录（默认只标记为已退订并保留同意记录）")
    reason: str = Field("", max_length=500, description="原因（写入审计记录）")


class Removal(_Out):
    """移除结果"""

    removed: list[str]
    not_found: list[str]
    purged: bool


class ReleasePath(BaseModel):
    release_id: Id


class ReportQuery(BaseModel):
    status: Result | None = Field(None, description="只列出某种结果")
    limit: int = Field(100, ge=1, le=ops.REPORT_MAX)
    unmasked: bool = Field(False, description=UNMASKED)


class Recipient(_Out):
    phone: str
    status: str
    batch: int | None
    remote_id: str | None
    detail: str
    updated_at: datetime | None


class SmsReport(_Out):
    """某次发布的短信逐号结果（有问题的在前）"""

    release_id: int
    delivery_id: int
    state: str
    counts: dict[str, int]
    progress: dict[str, Any]
    recipients: list[Recipient]
    unmasked: bool


@API.add("GET", "/subscribers/counts", op_id="subscriber_counts", summary="订阅用户数（按状态、按主题）", tag=TAG,
         answer=Counts, roles="管理员、只读")
async def counts(call: Call) -> Counts:
    return Counts.model_validate(await ops.counts(call.svc, call.who))


@API.add("GET", "/subscribers", op_id="subscriber_list", summary="列出订阅用户", tag=TAG, answer=SubscriberList,
         query=ListQuery, roles="管理员、只读（完整号码仅管理员）")
async def listing(call: Call[Any, ListQuery, None]) -> SubscriberList:
    q = call.query
    found = await ops.listing(call.svc, call.who, status=q.status, topic=q.topic, search=q.search, limit=q.limit,
                              unmasked=q.unmasked)
    return SubscriberList.model_validate(found)


@API.add("POST", "/subscribers/import", op_id="subscriber_import", summary="从 CSV 导入订阅用户", tag=TAG,
         answer=ImportReport, query=ImportQuery,
         body=Text("text/csv", "列：phone,topics[,source][,consent]；多个主题用 ; 分隔；可有表头"),
         description="每行单独检查：有问题的行列出原因并跳过，其余立即导入；重复导入同一文件不改变任何内容。"
                     "已退订或已屏蔽的号码不会被重新订阅。请求体不超过 1 MB（约 4 万行）；更大的文件分批导入，"
                     "或用命令行 gongkai subscribers import。",
         roles="管理员")
async def import_(call: Call[Any, ImportQuery, str]) -> ImportReport:
    q = call.query
    done = await ops.import_csv(call.svc, call.who, call.body, filename=q.filename, source=q.source,
                                consent=q.consent, unmasked=q.unmasked)
    return ImportReport.model_validate(done)


@API.add("GET", "/subscribers/export", op_id="subscriber_export", summary="导出订阅用户（CSV，记入审计）", tag=TAG,
         answer=Text("text/csv", "CSV：phone,topics,status,source,consent_at,consent_method,consent_from,consent_detail"),
         query=ExportQuery, roles="管理员、只读（完整号码仅管理员）")
async def export(call: Call[Any, ExportQuery, None]) -> Download:
    q = call.query
    done = await ops.export(call.svc, call.who, status=q.status, unmasked=q.unmasked, target="api")
    return Download(done.csv, "subscribers.csv")


@API.add("POST", "/subscribers/remove", op_id="subscriber_remove", summary="移除订阅用户（停止发送或删除记录）",
         tag=TAG, answer=Removal, body=RemoveBody, roles="管理员")
async def remove(call: Call[Any, Any, RemoveBody]) -> Removal:
    b = call.body
    return Removal.model_validate(await ops.remove(call.svc, call.who, b.phones, purge=b.purge, reason=b.reason))


@API.add("GET", "/releases/{release_id}/sms-report", op_id="release_sms_report", summary="某次发布的短信逐号结果",
         tag=TAG, answer=SmsReport, path_model=ReleasePath, query=ReportQuery, roles="管理员、只读、审核签发")
async def report(call: Call[ReleasePath, ReportQuery, None]) -> SmsReport:
    q = call.query
    done = await ops.report(call.svc, call.who, call.path.release_id, status=q.status, limit=q.limit,
                            unmasked=q.unmasked)
    return SmsReport.model_validate(done)
