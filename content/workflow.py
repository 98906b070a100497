"""The item workflow: draft → submitted → approved (or returned) → scheduled → published →
corrected or retracted. Every transition writes an audit event in the same transaction."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from content import audit
from content import events
from content.checks import (CheckRules, Finding, Text, missing_c4_fields, run_checks,
                            unchecked_attachment)
from content.doctext import Readable, read_text
from content.errors import InputError, NotFound, WorkflowError
from content.files import FileStore
from content.frontmatter import FIELD_LABELS, ItemDraft
from content.kinds import METADATA_LABELS, STATE_LABELS, ItemState, Kind, RevisionStatus, kind_label
from content.markup import plain_text, to_html
from content.models import Attachment, CheckFinding, Item, Link, ReviewRequest, Revision
from content.textguard import refuse_controls

EDITABLE = (ItemState.DRAFT, ItemState.RETURNED, ItemState.SUBMITTED, ItemState.APPROVED,
            ItemState.SCHEDULED)
_IMG = re.compile(r"<img\b[^>]*>")
_ALT = re.compile(r"<img\b[^>]*\balt=\"([^\"]*)\"")


@dataclass(frozen=True)
class ApproveResult:
    item_id: int
    revision: int
    is_correction: bool
    overridden: int


async def get_item(session: AsyncSession, item_id: int) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise NotFound(f"稿件 {item_id} 不存在", fix="用 gongkai post list 查看稿件编号")
    return item


async def get_revision(session: AsyncSession, item_id: int, number: int) -> Revision:
    rev = await session.scalar(
        select(Revision).where(Revision.item_id == item_id, Revision.number == number))
    if rev is None:
        raise NotFound(f"稿件 {item_id} 没有第 {number} 版")
    return rev


async def add_item(session: AsyncSession, draft: ItemDraft, *, actor: str, now: datetime,
                   files: FileStore) -> Item:
    item = Item(kind=draft.kind.value, state=ItemState.DRAFT.value, department=draft.department,
                column_name=draft.column, current_revision=1, created_by=actor, created_at=now,
                updated_at=now)
    session.add(item)
    await session.flush()
    await _write_revision(session, item, draft, number=1, actor=actor, now=now, files=files)
    audit.record(session, at=now, actor=actor, action="created", item_id=item.id, revision=1,
                 kind=draft.kind.value, title=draft.title)
    return item


async def edit_item(session: AsyncSession, item_id: int, draft: ItemDraft, *, actor: str,
                    now: datetime, files: FileStore) -> Item:
    item = await get_item(session, item_id)
    if item.state not in EDITABLE:
        raise WorkflowError(f"稿件 {item_id} {STATE_LABELS[ItemState(item.state)]}，发布后的版本不能修改",
                            fix=f"用 gongkai post correct {item_id} FILE.md 发布更正")
    previous = ItemState(item.state)
    item.current_revision += 1
    item.kind = draft.kind.value
    item.state = ItemState.DRAFT.value
    item.updated_at = now
    await _write_revision(session, item, draft, number=item.current_revision, actor=actor,
                          now=now, files=files)
    audit.record(session, at=now, actor=actor, action="edited", item_id=item.id,
                 revision=item.current_revision, previous_state=previous.value,
                 approval_withdrawn=previous in (ItemState.APPROVED, ItemState.SCHEDULED))
    return item


async def submit(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                 rules: CheckRules, files: FileStore | None = None) -> list[Finding]:
    """Run the review checks and mark the current revision submitted. ``files`` is where the
    attachments are stored, to read their text; without it every attachment is reported as
    not checked (a person has to look at it)."""
    item = await get_item(session, item_id)
    rev = await get_revision(session, item_id, item.current_revision)
    if rev.status not in (RevisionStatus.DRAFT, RevisionStatus.RETURNED):
        raise WorkflowError(f"稿件 {item_id} 当前为“{STATE_LABELS[ItemState(item.state)]}”，不能提交",
                            fix="只有草稿或被退回的稿件可以提交审核")
    findings = await check_revision(session, item, rev, rules, files)
    await session.execute(delete(CheckFinding).where(
        CheckFinding.item_id == item_id, CheckFinding.revision == rev.number))
    for f in findings:
        session.add(CheckFinding(item_id=item_id, revision=rev.number, check=f.check,
                                 message=f.message, excerpt=f.excerpt[:200], found_at=now))
    rev.status = RevisionStatus.SUBMITTED.value
    if item.state in (ItemState.DRAFT, ItemState.RETURNED):
        item.state = ItemState.SUBMITTED.value
    item.updated_at = now
    audit.record(session, at=now, actor=actor, action="submitted", item_id=item_id,
                 revision=rev.number, findings=[f.check for f in findings])
    await events.emit(session, "item.submitted", events.item_data(item, rev, actor, findings=len(findings)), now=now)
    return findings


async def check_revision(session: AsyncSession, item: Item, rev: Revision, rules: CheckRules,
                         files: FileStore | None) -> list[Finding]:
    fields: dict[str, object] = {
        "kind": item.kind, "title": rev.title, "department": rev.department,
        "index_no": rev.index_no, "doc_no": rev.doc_no, "issuer": rev.issuer, "topic": rev.topic,
        "issued": rev.issued, "validity": rev.validity, **rev.extra,
    }
    if item.kind == Kind.INTERPRETATION:
        fields["interprets"] = await session.scalar(select(Link.to_item_id).where(
            Link.from_item_id == item.id, Link.rel == "interprets"))
    attachments = list(await session.scalars(select(Attachment).where(
        Attachment.item_id == item.id, Attachment.revision == rev.number).order_by(Attachment.id)))
    texts, unchecked = _revision_texts(rev, attachments, files)
    missing_alt = sum(1 for tag in _IMG.findall(rev.body_html) if 'alt=""' in tag or "alt=" not in tag)
    return run_checks(fields, texts, rules, images_without_alt=missing_alt) + unchecked


def _revision_texts(rev: Revision, attachments: list[Attachment],
                    files: FileStore | None) -> tuple[list[Text], list[Finding]]:
    """Every text of a revision a reader sees, each with where it comes from, and a finding
    for each attachment whose text could not be read."""
    named = [("title", rev.title), ("summary", rev.summary), ("department", rev.department),
             ("column", rev.column_name), ("index_no", rev.index_no), ("doc_no", rev.doc_no),
             ("issuer", rev.issuer), ("topic", rev.topic), ("validity", rev.validity),
             ("tags", "、".join(rev.tags or ())), *rev.extra.items()]
    texts = [Text(name, FIELD_LABELS.get(name, name), str(value or "")) for name, value in named]
    texts.append(Text("body", "正文", plain_text(rev.body_html)))
    stored_alts = {a.alt for a in attachments}
    alts = [alt for alt in map(html.unescape, _ALT.findall(rev.body_html)) if alt not in stored_alts]
    texts.append(Text("body", "正文图片的替代文字", "\n".join(alts)))
    unchecked: list[Finding] = []
    for a in attachments:
        field = "attachments" if a.role == "attachment" else "images"
        texts.append(Text(field, f"文件名“{a.filename}”", a.filename))
        texts.append(Text(field, f"{'附件' if a.role == 'attachment' else '图片'}“{a.filename}”的说明",
                          a.alt))
        if a.role != "attachment":
            continue
        suffix = a.filename[a.filename.rfind("."):].lower() if "." in a.filename else ""
        if files is None:
            unchecked.append(unchecked_attachment(a.filename, "未读取附件文件"))
            continue
        document = read_text(files.path(f"{a.sha256}{suffix}"), suffix)
        if document.outcome is Readable.TEXT:
            texts.append(Text(field, f"附件“{a.filename}”的内容", document.text))
        elif document.outcome is not Readable.NO_TEXT:
            unchecked.append(unchecked_attachment(a.filename, document.reason))
    return texts, unchecked


async def open_findings(session: AsyncSession, item_id: int, revision: int) -> list[CheckFinding]:
    return list(await session.scalars(select(CheckFinding).where(
        CheckFinding.item_id == item_id, CheckFinding.revision == revision).order_by(CheckFinding.id)))


async def approve(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                  override_reason: str | None = None) -> ApproveResult:
    """Approve the current revision in one step. Staff go through the review chain
    (``content.review_chain.take_step``), which ends with :func:`complete_approval`; this
    one-step form is for seeding benchmarks."""
    item, rev, findings = await prepare_step(session, item_id, actor=actor, override_reason=override_reason)
    result = complete_approval(session, item, rev, findings, actor=actor, now=now, override_reason=override_reason)
    await events.emit(session, "item.approved", events.item_data(item, rev, actor), now=now)
    return result


async def prepare_step(session: AsyncSession, item_id: int, *, actor: str,
                       override_reason: str | None = None) -> tuple[Item, Revision, list[CheckFinding]]:
    """What every review step checks: the revision is submitted, ``actor`` is not its author
    (rule C1), rule C4's fields are there, and open findings carry an override reason. Returns
    the item, its revision and the findings the step overrides."""
    refuse_controls(override_reason or "", field="--override")
    item = await get_item(session, item_id)
    rev = await get_revision(session, item_id, item.current_revision)
    if rev.status != RevisionStatus.SUBMITTED:
        raise WorkflowError(f"稿件 {item_id} 第 {rev.number} 版尚未提交审核，不能通过",
                            fix=f"先由作者执行 gongkai post submit {item_id}", code="not_submitted")
    if actor == rev.created_by:
        raise WorkflowError(
            f"{actor} 是第 {rev.number} 版的作者，不能审核自己的稿件（规则 C1：保密审查须由作者以外的人完成）",
            fix="请另一位同事用 --as 其姓名 执行审核", code="author_cannot_review")
    missing = missing_c4_fields(Kind(item.kind), rev.extra)
    if missing:
        labels = "".join(f"“{METADATA_LABELS[name]}”" for name in missing)
        raise WorkflowError(
            f"稿件 {item_id} 是办事指南，缺少规则 C4 规定的必填项{labels}，必填项不能用 --override 放行",
            fix=f"在 front matter 中补全（{'、'.join(missing)}）后重新提交："
                f"gongkai post edit {item_id} FILE.md，再 gongkai post submit {item_id}",
            code="missing_required_fields")
    findings = [f for f in await open_findings(session, item_id, rev.number) if not f.overridden_by]
    if findings and not (override_reason and override_reason.strip()):
        lines = "；".join(f"[{f.check}] {f.message}" for f in findings)
        raise WorkflowError(f"稿件 {item_id} 有 {len(findings)} 项检查未通过：{lines}",
                            fix="修改后重新提交（post edit + post submit），或确认无误后加 --override 原因 记录放行理由",
                            code="checks_failed")
    return item, rev, findings


def override(findings: list[CheckFinding], *, actor: str, reason: str | None) -> None:
    for f in findings:
        f.overridden_by = actor
        f.override_reason = reason


def complete_approval(session: AsyncSession, item: Item, rev: Revision, findings: list[CheckFinding], *,
                      actor: str, now: datetime, override_reason: str | None,
                      detail: dict[str, Any] | None = None) -> ApproveResult:
    """The last review step: the revision is approved (a published item's correction stays
    published until its correction release goes out)."""
    override(findings, actor=actor, reason=override_reason)
    rev.status = RevisionStatus.APPROVED.value
    is_correction = item.state in (ItemState.PUBLISHED, ItemState.CORRECTED)
    if not is_correction:
        item.state = ItemState.APPROVED.value
    item.updated_at = now
    audit.record(session, at=now, actor=actor, action="approved", item_id=item.id,
                 revision=rev.number, reason=override_reason or "",
                 confidentiality_review=True, overridden=[f.check for f in findings],
                 correction=is_correction, **(detail or {}))
    return ApproveResult(item.id, rev.number, is_correction, len(findings))


async def return_item(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                      comment: str) -> Item:
    if not comment.strip():
        raise InputError("退回必须写明意见", field="--comment", fix="加 --comment \"需要修改的地方\"")
    refuse_controls(comment, field="--comment")
    item = await get_item(session, item_id)
    rev = await get_revision(session, item_id, item.current_revision)
    if rev.status not in (RevisionStatus.SUBMITTED, RevisionStatus.APPROVED) or \
            item.state == ItemState.SCHEDULED:
        raise WorkflowError(f"稿件 {item_id} 当前为“{STATE_LABELS[ItemState(item.state)]}”，不能退回",
                            fix="只有待审核或已审核（未排期）的稿件可以退回；已排期的请先 release cancel")
    rev.status = RevisionStatus.RETURNED.value
    if item.state in (ItemState.SUBMITTED, ItemState.APPROVED):
        item.state = ItemState.RETURNED.value
    item.updated_at = now
    audit.record(session, at=now, actor=actor, action="returned", item_id=item_id,
                 revision=rev.number, reason=comment.strip())
    await events.emit(session, "item.returned", events.item_data(item, rev, actor, comment=comment.strip()), now=now)
    return item


async def retract(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                  reason: str) -> Item:
    """Carry out a retraction. Staff do not call this directly: a retraction is requested
    (request_retraction) and takes effect when a colleague approves it (approve_retraction)."""
    if not reason.strip():
        raise InputError("撤回必须写明原因", field="--reason", fix="加 --reason \"撤回原因\"（将公开显示）")
    refuse_controls(reason, field="--reason")
    item = await get_item(session, item_id)
    _check_retractable(item)
    item.state = ItemState.RETRACTED.value
    item.retracted_at = now
    item.retract_reason = reason.strip()
    item.updated_at = now
    audit.record(session, at=now, actor=actor, action="retracted", item_id=item_id,
                 revision=item.published_revision, reason=reason.strip())
    return item


RETRACT = "retract"


async def request_retraction(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                             reason: str) -> ReviewRequest:
    """Ask for a published item to be retracted; a colleague approves it (approve_retraction)
    before anything changes. One open request per item."""
    if not reason.strip():
        raise InputError("撤回必须写明原因", field="--reason", fix="加 --reason \"撤回原因\"（将公开显示）")
    refuse_controls(reason, field="--reason")
    item = await get_item(session, item_id)
    _check_retractable(item)
    if await pending_retraction(session, item_id) is not None:
        raise WorkflowError(f"稿件 {item_id} 已有一份待批准的撤回申请",
                            fix=f"请另一位同事批准（gongkai post approve-retract {item_id}）或驳回"
                                f"（gongkai post reject-retract {item_id} --comment 意见）")
    request = ReviewRequest(item_id=item_id, action=RETRACT, reason=reason.strip(), state="pending",
                            requested_by=actor, requested_at=now)
    session.add(request)
    audit.record(session, at=now, actor=actor, action="retract_requested", item_id=item_id,
                 revision=item.published_revision, reason=reason.strip())
    await session.flush()
    return request


async def approve_retraction(session: AsyncSession, item_id: int, *, actor: str,
                             now: datetime) -> ReviewRequest:
    """A person other than the requester approves: the item is retracted (the caller then
    makes the retraction release and records it on the request)."""
    request = await _decide(session, item_id, actor, "批准")
    request.state, request.decided_by, request.decided_at = "approved", actor, now
    audit.record(session, at=now, actor=actor, action="retract_approved", item_id=item_id,
                 reason=request.reason, requested_by=request.requested_by)
    await retract(session, item_id, actor=actor, now=now, reason=request.reason)
    return request


async def reject_retraction(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                            comment: str) -> ReviewRequest:
    if not comment.strip():
        raise InputError("驳回撤回申请必须写明意见", field="--comment", fix="加 --comment \"不撤回的理由\"")
    refuse_controls(comment, field="--comment")
    request = await _decide(session, item_id, actor, "驳回")
    request.state, request.decided_by, request.decided_at = "rejected", actor, now
    audit.record(session, at=now, actor=actor, action="retract_rejected", item_id=item_id,
                 reason=comment.strip(), requested_by=request.requested_by)
    return request


async def pending_retractions(session: AsyncSession) -> list[ReviewRequest]:
    return list(await session.scalars(select(ReviewRequest).where(
        ReviewRequest.action == RETRACT, ReviewRequest.state == "pending").order_by(ReviewRequest.id)))


async def pending_retraction(session: AsyncSession, item_id: int) -> ReviewRequest | None:
    return await session.scalar(select(ReviewRequest).where(
        ReviewRequest.item_id == item_id, ReviewRequest.action == RETRACT, ReviewRequest.state == "pending"))


async def _decide(session: AsyncSession, item_id: int, actor: str, verb: str) -> ReviewRequest:
    request = await pending_retraction(session, item_id)
    if request is None:
        await get_item(session, item_id)
        raise WorkflowError(f"稿件 {item_id} 没有待批准的撤回申请",
                            fix=f"撤回须先申请：gongkai post retract {item_id} --reason 原因")
    if actor == request.requested_by:
        raise WorkflowError(f"{actor} 提出了稿件 {item_id} 的撤回申请，不能批准自己提出的撤回，也不能驳回",
                            fix=f"请另一位同事用 --as 其姓名 执行{verb}")
    return request


def _check_retractable(item: Item) -> None:
    if item.state not in (ItemState.PUBLISHED, ItemState.CORRECTED):
        raise WorkflowError(f"稿件 {item.id} 尚未发布，无需撤回",
                            fix="未发布的稿件可以直接修改，或取消其发布计划（release cancel）")


async def correct(session: AsyncSession, item_id: int, draft: ItemDraft, *, actor: str,
                  now: datetime, files: FileStore, note: str) -> Item:
    """Write a correction as a new revision, submitted for review. It is published (with its
    correction note) when a colleague approves it."""
    if not note.strip():
        raise InputError("更正必须写明更正说明", field="--note", fix="加 --note \"更正了什么\"（将公开显示）")
    refuse_controls(note, field="--note")
    item = await get_item(session, item_id)
    if item.state not in (ItemState.PUBLISHED, ItemState.CORRECTED):
        raise WorkflowError(f"稿件 {item_id} 尚未发布，不需要更正", fix=f"用 gongkai post edit {item_id} FILE.md 修改")
    if item.current_revision != item.published_revision:
        raise WorkflowError(f"稿件 {item_id} 已有一份待审核的更正（第 {item.current_revision} 版）",
                            fix="等待审核，或先退回那一版")
    if draft.kind.value != item.kind:
        raise InputError(f"更正不能改变稿件类型（{item.kind} → {draft.kind.value}）", field="kind")
    item.current_revision += 1
    item.updated_at = now
    rev = await _write_revision(session, item, draft, number=item.current_revision, actor=actor,
                                now=now, files=files)
    rev.correction_note = note.strip()
    audit.record(session, at=now, actor=actor, action="correction_written", item_id=item_id,
                 revision=rev.number, reason=note.strip())
    return item


async def _write_revision(session: AsyncSession, item: Item, draft: ItemDraft, *, number: int,
                          actor: str, now: datetime, files: FileStore) -> Revision:
    interprets = await _resolve_interprets(session, draft, item.id)
    follows = None
    if draft.follows is not None:
        follows = await session.get(Item, draft.follows)
        if follows is None or follows.id == item.id:
            raise InputError(f"所跟进的稿件 {draft.follows} 不存在", field="follows",
                             fix="填写一个已存在稿件的编号")
    body = draft.body_md
    for ref in draft.files:
        if ref.folder is None:
            raise InputError(f"不能引用本地文件 {ref.target or ref.path.name}：稿件不是从 Markdown 文件读入的",
                             field=ref.role)
        stored = files.put(ref.path, role=ref.role, inside=ref.folder)
        session.add(Attachment(item_id=item.id, revision=number, role=ref.role,
                               filename=ref.path.name, sha256=stored.sha256, size=stored.size,
                               mime=stored.mime, alt=ref.alt))
        if ref.role == "image":
            body = _replace_image_target(body, ref, stored.url_path)
    rev = Revision(
        item_id=item.id, number=number, status=RevisionStatus.DRAFT.value, title=draft.title,
        summary=draft.summary, body_md=draft.body_md, body_html=to_html(body),
        department=draft.department, column_name=draft.column, index_no=draft.index_no,
        doc_no=draft.doc_no, issuer=draft.issuer, topic=draft.topic, issued=draft.issued,
        validity=draft.validity, normative=draft.normative, tags=list(draft.tags),
        extra=dict(draft.extra), created_by=actor, created_at=now,
    )
    session.add(rev)
    if item.published_revision is None:
        item.department = draft.department
        item.column_name = draft.column
        await session.execute(delete(Link).where(Link.from_item_id == item.id))
        if interprets is not None:
            session.add(Link(from_item_id=item.id, to_item_id=interprets, rel="interprets"))
        if follows is not None:
            session.add(Link(from_item_id=item.id, to_item_id=follows.id, rel="follows"))
    await session.flush()
    return rev


def _replace_image_target(body: str, ref, url: str) -> str:  # noqa: ANN001
    for form in {ref.target, str(ref.path.name), ref.path.as_posix()} - {""}:
        body = re.sub(r"(!\[[^\]]*\]\()([^)\s]*" + re.escape(form) + r")(\s|\))",
                      lambda m: m.group(1) + url + m.group(3), body)
    return body


async def _resolve_interprets(session: AsyncSession, draft: ItemDraft, self_id: int) -> int | None:
    if draft.interprets is None:
        return None
    if isinstance(draft.interprets, int):
        target = await session.get(Item, draft.interprets)
        if target is None:
            raise InputError(f"所解读的稿件 {draft.interprets} 不存在", field="interprets",
                             fix="填写政策文件的稿件编号（gongkai post list --kind policy）")
    else:
        found = list(await session.scalars(
            select(Item).join(Revision, Revision.item_id == Item.id)
            .where(or_(Revision.doc_no == draft.interprets, Revision.index_no == draft.interprets))
            .distinct()))
        if len(found) != 1:
            raise InputError(
                f"文号或索引号 {draft.interprets!r} "
                + ("没有对应的稿件" if not found else f"对应 {len(found)} 篇稿件"),
                field="interprets", fix="改填政策文件的稿件编号")
        target = found[0]
    if target.kind not in (Kind.POLICY, Kind.DECISION) or target.id == self_id:
        raise InputError(f"所解读的稿件 {target.id} 不是政策文件（类型为 {kind_label(target.kind)}）",
                         field="interprets", fix="解读只能关联 kind: policy 或 decision 的稿件")
    if target.state == ItemState.RETRACTED:
        raise InputError(f"所解读的政策文件 {target.id} 已撤回", field="interprets",
                         fix="解读只能关联未撤回的政策文件")
    return target.id
