"""Items over the API: create from fields or from a Markdown file with front matter (the same
checks as ``gongkai post add``), edit, submit, take a review step, return, preview per channel,
read one, list with filters. Every handler is one call of :mod:`bot.ops.items`."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.api.registry import Call, Id, Text
from bot.api.routes import API
from bot.ops import items as ops
from content import frontmatter
from content.frontmatter import ItemDraft

TAG = "稿件"
KindId = Literal["policy", "interpretation", "decision", "list_change", "emergency", "press_conference",
                 "service_guide", "news"]
StateId = Literal["draft", "submitted", "returned", "approved", "scheduled", "published", "corrected", "retracted"]
MARKDOWN = Text("text/markdown", "Markdown 文件：开头是 --- 包住的 YAML front matter（至少 kind 和 title），其后为正文")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ItemFields(BaseModel):
    """稿件的字段（与 front matter 相同，由同一段代码检查）"""

    model_config = ConfigDict(extra="forbid")

    kind: KindId = Field(description="类型：policy 政策文件、interpretation 政策解读、news 工作动态等")
    title: str = Field(max_length=frontmatter.MAX_TITLE)
    body: str = Field("", max_length=frontmatter.MAX_BODY, description="Markdown 正文")
    summary: str = ""
    department: str = ""
    column: str = ""
    index_no: str = Field("", description="索引号")
    doc_no: str = Field("", description="文号")
    issuer: str = Field("", description="发布机构")
    topic: str = Field("", description="主题分类")
    issued: date | None = Field(None, description="成文日期，如 2026-11-20")
    validity: str = ""
    normative: bool = Field(False, description="是否规范性文件")
    tags: list[str] = Field(default_factory=list, max_length=frontmatter.MAX_TAGS)
    interprets: Id | str | None = Field(None, description="解读的政策文件：稿件编号或文号")
    follows: Id | None = None
    extra: dict[str, str] = Field(default_factory=dict,
                                  description="其他 front matter 字段（办事指南各项、meeting_date、interpretation 等）")

    def draft(self) -> ItemDraft:
        meta: dict[str, Any] = {k: v for k, v in self.model_dump(exclude={"body", "extra"}).items()
                                if v not in (None, "", [], False)}
        meta["kind"] = self.kind
        for key, value in self.extra.items():
            if key in meta or key in ItemFields.model_fields:
                continue
            meta[key] = value
        return frontmatter.build(meta, self.body)


class ItemPath(BaseModel):
    item_id: Id


class PreviewPath(ItemPath):
    channel: str = Field(max_length=32, description="渠道：website、wechat、weibo、sms")


class Saved(_Out):
    """已保存的稿件"""

    id: int
    kind: str
    state: str
    title: str
    revision: int


class FindingOut(_Out):
    check: str
    message: str
    excerpt: str
    field: str


class Submitted(_Out):
    """已提交审核；findings 是检查发现的问题（审核人可说明理由后放行）"""

    id: int
    revision: int
    state: str
    findings: list[FindingOut]


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override_reason: str | None = Field(None, max_length=1000, description="放行检查发现的问题时说明理由")


class Reviewed(_Out):
    """已完成本账号可做的审核步骤"""

    id: int
    revision: int
    state: str
    overridden: int
    correction_release: int | None
    held_releases: list[int]
    bundle: list[int] = Field(description="应一同发布的稿件（政策在前）")
    waiting_for: list[int] = Field(description="同一批中仍在审核的稿件")
    is_correction: bool


class ReturnBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=2000, description="退回意见（告诉撰稿人改什么）")


class Returned(_Out):
    """已退回撰稿人"""

    id: int
    state: str
    comment: str


class ListQuery(BaseModel):
    state: StateId | None = None
    kind: KindId | None = None
    department: str | None = Field(None, max_length=200)
    author: str | None = Field(None, max_length=100, description="撰稿人登录名")
    page: int = Field(1, ge=1, le=100_000)
    size: int = Field(50, ge=1, le=1000)


class Row(_Out):
    id: int
    kind: str
    state: str
    title: str
    department: str
    column: str
    revision: int
    published_at: datetime | None


class ItemList(BaseModel):
    """稿件列表（最新的在前）"""

    total: int
    page: int
    size: int
    rows: list[Row]


class RevisionOut(BaseModel):
    number: int
    status: str
    by: str
    at: datetime
    published_at: datetime | None
    correction_note: str


class OpenFinding(BaseModel):
    check: str
    message: str
    excerpt: str
    overridden_by: str | None
    override_reason: str | None


class LinkOut(BaseModel):
    from_: int = Field(alias="from", serialization_alias="from")
    to: int
    rel: str


class ReleaseRef(BaseModel):
    id: int
    purpose: str
    state: str
    due_at: datetime


class AuditLine(BaseModel):
    at: datetime
    actor: str
    action: str
    revision: int | None
    reason: str


class ItemDetail(BaseModel):
    """一篇稿件：当前修订、元数据、修订历史、检查结果、关联、发布计划与审计记录"""

    id: int
    kind: str
    state: str
    title: str
    department: str
    column: str
    current_revision: int
    published_revision: int | None
    published_at: datetime | None
    metadata: dict[str, Any]
    revisions: list[RevisionOut]
    findings: list[OpenFinding]
    links: list[LinkOut]
    releases: list[ReleaseRef]
    audit: list[AuditLine]


class CheckOut(_Out):
    name: str
    limit: int
    actual: int
    unit: str
    note: str
    ok: bool


class RenditionOut(_Out):
    label: str
    text: str
    checks: list[CheckOut]
    notes: list[str]
    ok: bool


class PreviewOut(_Out):
    """渠道自己的 render() 产生的内容（与实际发送的一致）及长度检查"""

    item_id: int
    channel: str
    renditions: list[RenditionOut]
    ok: bool


def _markdown(text: str) -> ItemDraft:
    return frontmatter.parse(text)


@API.add("GET", "/items", op_id="item_list", summary="稿件列表（可按状态、类型、部门、撰稿人筛选）", tag=TAG,
         answer=ItemList, query=ListQuery, roles="任何账号")
async def listing(call: Call[Any, ListQuery, None]) -> ItemList:
    q = call.query
    found = await ops.listing(call.svc, call.who, ops.Filters(q.state, q.kind, q.department, q.author),
                              ops.Page(q.page, q.size))
    return ItemList(total=found.total, page=found.page.number, size=found.page.size,
                    rows=[Row.model_validate(r) for r in found.rows])


@API.add("POST", "/items", op_id="item_create", summary="新建稿件（字段）", tag=TAG, answer=Saved, status=201,
         body=ItemFields, roles="撰稿")
async def create(call: Call[Any, Any, ItemFields]) -> Saved:
    return Saved.model_validate(await ops.add(call.svc, call.who, call.body.draft()))


@API.add("POST", "/items/markdown", op_id="item_create_markdown", summary="新建稿件（Markdown 文件，含 front matter）",
         tag=TAG, answer=Saved, status=201, body=MARKDOWN, roles="撰稿")
async def create_markdown(call: Call[Any, Any, str]) -> Saved:
    return Saved.model_validate(await ops.add(call.svc, call.who, _markdown(call.body)))


@API.add("GET", "/items/{item_id}", op_id="item_get", summary="查看一篇稿件", tag=TAG, answer=ItemDetail,
         path_model=ItemPath, roles="任何账号")
async def get(call: Call[ItemPath, Any, None]) -> ItemDetail:
    return ItemDetail.model_validate((await ops.get(call.svc, call.who, call.path.item_id)).as_json())


@API.add("PUT", "/items/{item_id}", op_id="item_edit", summary="修改稿件（字段）", tag=TAG, answer=Saved,
         path_model=ItemPath, body=ItemFields, roles="撰稿")
async def edit(call: Call[ItemPath, Any, ItemFields]) -> Saved:
    return Saved.model_validate(await ops.edit(call.svc, call.who, call.path.item_id, call.body.draft()))


@API.add("PUT", "/items/{item_id}/markdown", op_id="item_edit_markdown", summary="修改稿件（Markdown 文件）", tag=TAG,
         answer=Saved, path_model=ItemPath, body=MARKDOWN, roles="撰稿")
async def edit_markdown(call: Call[ItemPath, Any, str]) -> Saved:
    return Saved.model_validate(await ops.edit(call.svc, call.who, call.path.item_id, _markdown(call.body)))


@API.add("POST", "/items/{item_id}/submit", op_id="item_submit", summary="提交审核", tag=TAG, answer=Submitted,
         path_model=ItemPath, roles="撰稿")
async def submit(call: Call[ItemPath, Any, None]) -> Submitted:
    return Submitted.model_validate(await ops.submit(call.svc, call.who, call.path.item_id))


@API.add("POST", "/items/{item_id}/review", op_id="item_review", summary="审核：完成本账号可做的下一步", tag=TAG,
         answer=Reviewed, path_model=ItemPath, body=ReviewBody,
         description="默认两步：保密审查、审核签发，由不同的人完成，且都不是撰稿人。", roles="保密审查、审核签发")
async def review(call: Call[ItemPath, Any, ReviewBody]) -> Reviewed:
    return Reviewed.model_validate(await ops.review(call.svc, call.who, call.path.item_id,
                                                    override_reason=call.body.override_reason))


@API.add("POST", "/items/{item_id}/return", op_id="item_return", summary="退回撰稿人（附意见）", tag=TAG,
         answer=Returned, path_model=ItemPath, body=ReturnBody, roles="保密审查、审核签发")
async def return_(call: Call[ItemPath, Any, ReturnBody]) -> Returned:
    return Returned.model_validate(await ops.return_(call.svc, call.who, call.path.item_id, call.body.comment))


@API.add("GET", "/items/{item_id}/preview/{channel}", op_id="item_preview", summary="预览：某渠道实际会发送的内容",
         tag=TAG, answer=PreviewOut, path_model=PreviewPath, roles="任何账号")
async def preview(call: Call[PreviewPath, Any, None]) -> PreviewOut:
    return PreviewOut.model_validate(await ops.preview(call.svc, call.who, call.path.item_id, call.path.channel))
