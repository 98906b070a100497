"""The review workflow: confidentiality review by someone other than the author (C1), automatic
checks (C2, personal data, required metadata), returns, edits, corrections and the audit trail."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from content import review_chain, workflow
from content.accounts import Role
from content.checks import CheckRules, valid_id_card
from content.errors import InputError, WorkflowError
from content.frontmatter import build
from content.models import AuditEvent, Item, Revision
from tests.desk import Person

# A syntactically valid mainland ID number made up for tests (checksum computed, not a person).
FAKE_ID = "11010519491231002X"


def test_id_card_checksum() -> None:
    assert valid_id_card(FAKE_ID)
    assert not valid_id_card("110105194912310021")  # wrong check character
    assert not valid_id_card("11010519491231002")


async def _submit(desk, item_id: int, rules: CheckRules | None = None, actor: str = "alice"):  # noqa: ANN001, ANN202
    return await desk.store.transaction(lambda s: workflow.submit(
        s, item_id, actor=actor, now=desk.clock.now(), rules=rules or desk.rules, files=desk.files))


async def _approve(desk, item_id: int, actor: str = "bob", override: str | None = None):  # noqa: ANN001, ANN202
    """The review chain: 保密审查 by ``actor``, then 审核签发 by carol."""
    return await desk.review(item_id, reviewer=actor, override=override)


async def _state(desk, item_id: int) -> str:  # noqa: ANN001
    async with desk.store.sessions() as s:
        return (await s.get(Item, item_id)).state


async def test_the_author_cannot_approve_their_own_item(desk) -> None:  # noqa: ANN001
    item = await desk.add("news", "动态", author="alice")
    await _submit(desk, item)
    with pytest.raises(WorkflowError, match="规则 C1"):
        await _approve(desk, item, actor="alice")
    assert await _state(desk, item) == "submitted"
    await _approve(desk, item, actor="bob")
    assert await _state(desk, item) == "approved"


async def test_checks_find_problems_and_block_approval_until_overridden(desk) -> None:  # noqa: ANN001
    rules = CheckRules(negative_terms=("内部讨论稿",), sensitive_words=("待补充",))
    body = f"本文为内部讨论稿。联系人身份证 {FAKE_ID}，手机 138-0013-8000。金额待补充。"
    item = await desk.add("policy", "通知", body=body, doc_no="")
    findings = await _submit(desk, item, rules)
    checks = sorted(f.check for f in findings)
    assert checks == ["id_card", "metadata", "mobile", "negative_list", "sensitive_word"]
    assert any("文号" in f.message for f in findings if f.check == "metadata")
    id_finding = next(f for f in findings if f.check == "id_card")
    assert FAKE_ID not in id_finding.excerpt  # masked in the record
    with pytest.raises(WorkflowError, match="5 项检查未通过"):
        await _approve(desk, item)
    assert await _state(desk, item) == "submitted"
    await _approve(desk, item, override="经核实为公开版本，号码为示例")
    async with desk.store.sessions() as s:  # the first step (保密审查) met the findings and let them through
        event = await s.scalar(select(AuditEvent).where(AuditEvent.item_id == item,
                                                        AuditEvent.action == "review_step"))
        assert event.reason == "经核实为公开版本，号码为示例" and event.actor == "bob"
        assert sorted(event.detail["overridden"]) == checks and event.detail["role"] == "reviewer"


async def test_a_clean_item_passes_every_check(desk) -> None:  # noqa: ANN001
    item = await desk.add("policy", "通知", body="各单位要按时公开。咨询电话 010-12345678。")
    assert await _submit(desk, item, CheckRules(("内部讨论稿",), ("待补充",))) == []


async def test_service_guides_need_the_c4_fields(desk) -> None:  # noqa: ANN001
    item = await desk.add("service_guide", "居住证办理指南", matter="居住证签注", office="区政务服务中心")
    findings = await _submit(desk, item)
    missing = {f.excerpt for f in findings if f.check == "c4_required"}
    assert missing == {"basis", "process", "materials", "fees", "time_limit", "phone"}


GUIDE = {"matter": "居住证签注", "basis": "《居住证暂行条例》", "office": "区政务服务中心",
         "process": "申请、受理、发证", "materials": "身份证", "fees": "不收费", "time_limit": "当场办结",
         "phone": "010-12345678"}


async def test_an_override_cannot_clear_a_missing_c4_field(desk) -> None:  # noqa: ANN001
    """Rule C4: a service guide names all eight items. A reviewer's --override clears other
    findings, never a missing required field."""
    rules = CheckRules(sensitive_words=("待补充",))
    item = await desk.add("service_guide", "居住证办理指南", body="材料待补充。",
                          **{k: v for k, v in GUIDE.items() if k not in ("fees", "phone")})
    await _submit(desk, item, rules)
    with pytest.raises(WorkflowError) as err:
        await _approve(desk, item, override="领导同意先发")
    assert "缺少规则 C4 规定的必填项“收费标准”“咨询电话”" in err.value.message
    assert "不能用 --override 放行" in err.value.message
    assert "post edit" in err.value.fix
    assert await _state(desk, item) == "submitted"
    async with desk.store.sessions() as s:
        assert not [f for f in await workflow.open_findings(s, item, 1) if f.overridden_by]
    # completed, the other finding stays overridable
    draft = build({"kind": "service_guide", "title": "居住证办理指南", "department": "区政务服务局",
                   **GUIDE}, "材料待补充。")
    await desk.store.transaction(lambda s: workflow.edit_item(
        s, item, draft, actor="alice", now=desk.clock.now(), files=desk.files))
    assert [f.check for f in await _submit(desk, item, rules)] == ["sensitive_word"]
    result = await _approve(desk, item, override="“待补充”为办事指南的固定用语")
    assert result.overridden == 1 and await _state(desk, item) == "approved"


async def test_a_blank_c4_field_counts_as_missing(desk) -> None:  # noqa: ANN001
    item = await desk.add("service_guide", "指南", **{**GUIDE, "fees": "   "})
    assert [f.excerpt for f in await _submit(desk, item)] == ["fees"]
    with pytest.raises(WorkflowError, match="收费标准"):
        await _approve(desk, item, override="先发")


async def test_return_needs_a_comment_and_goes_back_to_the_author(desk) -> None:  # noqa: ANN001
    item = await desk.add("news", "动态")
    await _submit(desk, item)
    with pytest.raises(InputError, match="退回必须写明意见"):
        await desk.store.transaction(lambda s: workflow.return_item(
            s, item, actor="bob", now=desk.clock.now(), comment=" "))
    await desk.store.transaction(lambda s: workflow.return_item(
        s, item, actor="bob", now=desk.clock.now(), comment="第二段数据需核实"))
    assert await _state(desk, item) == "returned"
    with pytest.raises(WorkflowError, match="尚未提交审核"):
        await _approve(desk, item)
    await _submit(desk, item)
    await _approve(desk, item)
    assert await _state(desk, item) == "approved"


async def test_editing_an_approved_item_withdraws_the_approval(desk) -> None:  # noqa: ANN001
    item = await desk.approved("news", "动态")
    draft = build({"kind": "news", "title": "动态（修改）", "department": "办公室"}, "新正文")
    await desk.store.transaction(lambda s: workflow.edit_item(
        s, item, draft, actor="alice", now=desk.clock.now(), files=desk.files))
    assert await _state(desk, item) == "draft"
    async with desk.store.sessions() as s:
        revs = list(await s.scalars(select(Revision).where(Revision.item_id == item).order_by(Revision.number)))
    assert [(r.number, r.status) for r in revs] == [(1, "approved"), (2, "draft")]


async def test_a_published_revision_never_changes(desk) -> None:  # noqa: ANN001
    item = await desk.approved("news", "原标题")
    await desk.publish([item])
    draft = build({"kind": "news", "title": "改过的标题", "department": "办公室"}, "改过的正文")
    with pytest.raises(WorkflowError, match="post correct"):
        await desk.store.transaction(lambda s: workflow.edit_item(
            s, item, draft, actor="alice", now=desk.clock.now(), files=desk.files))
    # A correction is a new revision; the published one keeps its text.
    await desk.store.transaction(lambda s: workflow.correct(
        s, item, draft, actor="alice", now=desk.clock.now(), files=desk.files, note="标题有误"))
    await _submit(desk, item)
    result = await _approve(desk, item)
    assert result.is_correction
    async with desk.store.sessions() as s:
        revs = {r.number: r for r in await s.scalars(select(Revision).where(Revision.item_id == item))}
        assert revs[1].title == "原标题" and revs[1].status == "published"
        assert revs[2].correction_note == "标题有误"
        assert (await s.get(Item, item)).published_revision == 1


async def test_the_audit_trail_is_append_only(desk) -> None:  # noqa: ANN001
    item = await desk.approved("news", "动态")
    async with desk.store.sessions() as s:
        actions = list(await s.scalars(select(AuditEvent.action).where(AuditEvent.item_id == item)
                                       .order_by(AuditEvent.id)))
    assert actions == ["created", "submitted", "review_step", "approved"]
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
            async with desk.store.sessions() as s, s.begin():
                await s.execute(text(statement))
    async with desk.store.sessions() as s:
        actors = set(await s.scalars(select(AuditEvent.actor)))
    assert actors == {"alice", "bob", "carol"}


async def test_a_retraction_is_requested_then_approved_by_someone_else(desk) -> None:  # noqa: ANN001
    item = await desk.approved("news", "有误的通知")
    await desk.publish([item])
    now = desk.clock.now()
    with pytest.raises(InputError, match="撤回必须写明原因"):
        await desk.store.transaction(lambda s: workflow.request_retraction(
            s, item, actor="alice", now=now, reason=" "))
    await desk.store.transaction(lambda s: workflow.request_retraction(
        s, item, actor="alice", now=now, reason="信息有误"))
    assert await _state(desk, item) == "published"  # nothing happens on the request alone
    with pytest.raises(WorkflowError, match="已有一份待批准的撤回申请"):
        await desk.store.transaction(lambda s: workflow.request_retraction(
            s, item, actor="carol", now=now, reason="再次申请"))
    alice = Person("alice", (Role.AUTHOR, Role.REVIEWER, Role.APPROVER))
    with pytest.raises(WorkflowError, match="不能批准自己提出的撤回"):
        await desk.store.transaction(lambda s: review_chain.take_retract_step(
            s, item, alice, chains=desk.chains, now=now))
    assert await _state(desk, item) == "published"
    request = (await desk.retract_review(item)).request  # 保密审查 by bob, 审核签发 by carol
    assert (request.state, request.requested_by, request.decided_by) == ("approved", "alice", "carol")
    assert await _state(desk, item) == "retracted"
    async with desk.store.sessions() as s:
        events = [(e.action, e.actor, e.reason) for e in await s.scalars(
            select(AuditEvent).where(AuditEvent.item_id == item).order_by(AuditEvent.id))][-4:]
    assert events == [("retract_requested", "alice", "信息有误"), ("retract_step", "bob", "信息有误"),
                      ("retract_approved", "carol", "信息有误"), ("retracted", "carol", "信息有误")]
    with pytest.raises(WorkflowError, match="没有待批准的撤回申请"):
        await desk.store.transaction(lambda s: review_chain.take_retract_step(
            s, item, Person("bob", (Role.REVIEWER,)), chains=desk.chains, now=now))


async def test_a_rejected_retraction_leaves_the_item_published(desk) -> None:  # noqa: ANN001
    item = await desk.approved("news", "通知")
    await desk.publish([item])
    now = desk.clock.now()
    await desk.store.transaction(lambda s: workflow.request_retraction(
        s, item, actor="alice", now=now, reason="想撤"))
    with pytest.raises(InputError, match="意见"):
        await desk.store.transaction(lambda s: workflow.reject_retraction(s, item, actor="bob", now=now, comment=""))
    request = await desk.store.transaction(lambda s: workflow.reject_retraction(
        s, item, actor="bob", now=now, comment="内容无误，不需撤回"))
    assert request.state == "rejected"
    assert await _state(desk, item) == "published"
    await desk.store.transaction(lambda s: workflow.request_retraction(  # a new request is possible
        s, item, actor="alice", now=now, reason="确有错误"))
