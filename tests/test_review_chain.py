"""The review chain through the service layer (what the CLI, console and API call): each step by
a different account holding the step's role, never the author (rule C1); approved only after
the last step; a return starts the chain again; corrections and retractions go through it too;
a kind may be configured with a one-step chain."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot import settings as config
from bot.ops import items
from bot.service import Service
from content import accounts
from content.accounts import AccountView, Role
from content.clock import FixedClock
from content.errors import Forbidden, WorkflowError
from content.frontmatter import build
from content.models import AuditEvent, Item, Release
from content import review_chain
from content.review_chain import ReviewStep
from tests.desk import Desk

NEWS = {"kind": "news", "title": "关于调整办事大厅开放时间的通知", "department": "办公室"}


async def _service(tmp_path: Path, database_url: str, **env: str) -> Service:
    settings = config.load(None, environ={"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"),
                                          "GONGKAI_BOT__DATABASE_URL": database_url, **env})
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))  # 10:00 in Beijing
    return await Service.create(settings, clock=clock)


@pytest.fixture
async def svc(tmp_path: Path, database_url: str):
    service = await _service(tmp_path, database_url)
    yield service
    await service.store.close()


async def _people(svc: Service) -> dict[str, AccountView]:
    """张敏 writes; 李华 and 陈静 hold 保密审查; 王强 holds 审核签发; 赵磊 both review roles."""
    made = {}
    for login, roles in (("张敏", (Role.AUTHOR, Role.REVIEWER)), ("李华", (Role.REVIEWER,)),
                         ("陈静", (Role.REVIEWER,)), ("王强", (Role.APPROVER,)),
                         ("赵磊", (Role.REVIEWER, Role.APPROVER))):
        made[login] = await svc.store.transaction(lambda s, login=login, roles=roles: accounts.add(
            s, login, name=login, roles=roles, password=None, actor="admin", now=svc.clock.now()))
    return made


async def _submitted(svc: Service, author: AccountView, **meta: str) -> int:
    saved = await items.add(svc, author, build({**NEWS, **meta}, "办事大厅自 12 月 1 日起延长开放时间。"))
    await items.submit(svc, author, saved.id)
    return saved.id


async def _steps(svc: Service) -> int:
    async with svc.store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(ReviewStep)) or 0)


async def _state(svc: Service, item_id: int) -> str:
    async with svc.store.sessions() as s:
        return (await s.get(Item, item_id)).state


async def test_two_steps_by_two_colleagues_each_in_their_role(svc: Service) -> None:
    p = await _people(svc)
    item = await _submitted(svc, p["张敏"])
    assert [c.item_id for c in await items.awaiting(svc, p["李华"])] == [item]
    assert await items.awaiting(svc, p["张敏"]) == () and await items.awaiting(svc, p["王强"]) == ()

    # the author holds 保密审查 too, but may not review her own revision (rule C1)
    with pytest.raises(WorkflowError, match="规则 C1") as err:
        await items.review(svc, p["张敏"], item)
    assert err.value.code == "author_cannot_review"
    # step 1 is 保密审查: an approver-only account may not take it
    with pytest.raises(Forbidden) as refused:
        await items.review(svc, p["王强"], item)
    assert refused.value.code == "forbidden"
    assert "第 1 步保密审查须由持有“保密审查”角色的账号完成，王强 没有该角色" in refused.value.message
    assert await _steps(svc) == 0 and await _state(svc, item) == "submitted"

    first = await items.review(svc, p["李华"], item)
    assert (first.approved, first.state, first.step.number, first.step.account) == (False, "submitted", 1, "李华")
    assert first.chain.next is not None and first.chain.next.role is Role.APPROVER

    # step 2 is 审核签发: 陈静 holds only 保密审查; 赵磊 holds it but 李华 may not take a second step
    with pytest.raises(Forbidden, match="第 2 步审核签发须由持有“审核签发”角色的账号完成，陈静 没有该角色"):
        await items.review(svc, p["陈静"], item)
    with pytest.raises(WorkflowError, match="第 2 步审核签发须由另一位同事完成") as same:
        await items.review(svc, p["李华"], item)
    assert same.value.code == "same_reviewer"
    assert await _steps(svc) == 1 and await _state(svc, item) == "submitted"

    # the duty board: whose step it is now
    assert [c.item_id for c in await items.awaiting(svc, p["王强"])] == [item]
    assert await items.awaiting(svc, p["李华"]) == () and await items.awaiting(svc, p["陈静"]) == ()
    assert await items.awaiting(svc, p["张敏"]) == ()
    done = await items.review(svc, p["王强"], item)
    assert done.approved and done.state == "approved" and done.chain.complete
    assert await items.awaiting(svc, p["王强"]) == ()
    chain = (await items.chain_state(svc, p["张敏"], item)).as_json()
    assert [(s["step"], s["role"], s["account"]) for s in chain["steps"]] == [
        (1, "reviewer", "李华"), (2, "approver", "王强")]
    assert chain["next"] is None and chain["complete"] is True
    shown = (await items.get(svc, p["张敏"], item)).as_json()
    assert shown["review_chain"] == chain and shown["state"] == "approved"
    async with svc.store.sessions() as s:
        events = [(e.action, e.actor) for e in await s.scalars(
            select(AuditEvent).where(AuditEvent.item_id == item).order_by(AuditEvent.id))]
    assert events == [("created", "张敏"), ("submitted", "张敏"), ("review_step", "李华"), ("approved", "王强")]


async def test_a_finding_is_let_through_at_the_step_that_meets_it(svc: Service) -> None:
    p = await _people(svc)
    item = await _submitted(svc, p["张敏"], title="联系电话 13800138000 的通知")
    with pytest.raises(WorkflowError, match="检查未通过") as err:
        await items.review(svc, p["李华"], item)
    assert err.value.code == "checks_failed" and await _steps(svc) == 0
    first = await items.review(svc, p["李华"], item, override_reason="号码为单位值班电话，可以公开")
    assert first.overridden == 1 and first.step.override_reason == "号码为单位值班电话，可以公开"
    done = await items.review(svc, p["王强"], item)  # the finding was let through at step 1
    assert done.approved and done.overridden == 0
    step = (await items.chain_state(svc, p["王强"], item)).steps[0]
    assert (step.account, step.override_reason) == ("李华", "号码为单位值班电话，可以公开")


async def test_a_return_starts_the_chain_again(svc: Service) -> None:
    p = await _people(svc)
    item = await _submitted(svc, p["张敏"])
    await items.review(svc, p["李华"], item)
    await items.return_(svc, p["王强"], item, "第二段时间表述有误")
    assert (await items.chain_state(svc, p["张敏"], item)).taken == ()
    await items.submit(svc, p["张敏"], item)
    again = await items.review(svc, p["陈静"], item)  # step 1 again, by anyone holding 保密审查
    assert again.step.number == 1 and not again.approved
    assert (await items.review(svc, p["赵磊"], item)).approved


async def test_a_kind_configured_one_step_needs_only_the_approver(tmp_path: Path, database_url: str) -> None:
    svc = await _service(tmp_path, database_url, GONGKAI_REVIEW__CHAINS='{emergency = ["approver"]}')
    try:
        p = await _people(svc)
        urgent = await _submitted(svc, p["张敏"], kind="emergency", title="暴雨红色预警")
        with pytest.raises(Forbidden, match="第 1 步审核签发须由持有“审核签发”角色的账号完成，李华 没有该角色"):
            await items.review(svc, p["李华"], urgent)
        news = await _submitted(svc, p["张敏"])  # other kinds keep the default two steps
        # what each colleague's board offers: the emergency's only step is the approver's
        assert [c.item_id for c in await items.awaiting(svc, p["王强"])] == [urgent]
        assert [c.item_id for c in await items.awaiting(svc, p["李华"])] == [news]
        assert [c.item_id for c in await items.awaiting(svc, p["赵磊"])] == [urgent, news]  # oldest first
        done = await items.review(svc, p["王强"], urgent)
        assert done.approved and [s.role for s in done.chain.steps] == [Role.APPROVER]
        assert not (await items.review(svc, p["李华"], news)).approved
        assert [c.item_id for c in await items.awaiting(svc, p["王强"])] == [news]
        assert [c.item_id for c in await items.awaiting(svc, p["赵磊"])] == [news]  # step 2, not his step 1
        assert await items.awaiting(svc, p["李华"]) == ()  # she took step 1: step 2 is someone else's
    finally:
        await svc.store.close()


def test_a_bad_chain_in_the_configuration_is_named() -> None:
    for value, expected in (('{emergency = ["boss"]}', "review.chains.emergency: 审核步骤的角色 'boss' 无效"),
                            ('{urgent = ["approver"]}', "review.chains.urgent: 未知的稿件类型"),
                            ('{default = []}', "review.chains.default: 审核链不能为空")):
        with pytest.raises(config.ConfigError) as err:
            config.load(None, environ={"GONGKAI_REVIEW__CHAINS": value})
        assert expected in err.value.problems[0], err.value.problems


async def test_a_correction_goes_through_the_chain_before_it_is_released(svc: Service, tmp_path: Path) -> None:
    p = await _people(svc)
    item = await _submitted(svc, p["张敏"])
    await items.review(svc, p["李华"], item)
    await items.review(svc, p["王强"], item)
    desk = Desk(svc.store, svc.clock, tmp_path / "files")  # type: ignore[arg-type]
    await desk.publish([item])
    fixed = await items.correct(svc, p["张敏"], item, build(NEWS, "办事大厅自 12 月 2 日起延长开放时间。"),
                                note="更正起始日期")
    assert fixed.revision == 2
    first = await items.review(svc, p["李华"], item)
    assert not first.approved and first.correction_release is None
    assert await _state(svc, item) == "published"
    async with svc.store.sessions() as s:
        assert not list(await s.scalars(select(Release).where(Release.purpose == "correct")))
    done = await items.review(svc, p["王强"], item)
    assert done.approved and done.is_correction and done.correction_release is not None


async def test_a_retraction_goes_through_the_chain_by_people_other_than_the_requester(
        svc: Service, tmp_path: Path) -> None:
    p = await _people(svc)
    item = await _submitted(svc, p["张敏"])
    await items.review(svc, p["李华"], item)
    await items.review(svc, p["王强"], item)
    desk = Desk(svc.store, svc.clock, tmp_path / "files")  # type: ignore[arg-type]
    await desk.publish([item])

    await items.request_retract(svc, p["王强"], item, "开放时间另行通知")
    with pytest.raises(WorkflowError, match="不能批准自己提出的撤回"):
        await items.approve_retract(svc, p["王强"], item)
    with pytest.raises(Forbidden, match="第 1 步保密审查"):
        await items.approve_retract(svc, accounts.AccountView("孙悦", "孙悦", "", (Role.APPROVER,), False, False), item)
    first = await items.approve_retract(svc, p["李华"], item)
    assert first.state == "published" and first.release is None and await _state(svc, item) == "published"
    shown = (await items.get(svc, p["张敏"], item)).as_json()
    assert shown["retraction_chain"]["steps"][0]["account"] == "李华"
    assert shown["retraction_chain"]["next"]["role"] == "approver"
    with pytest.raises(WorkflowError, match="须由另一位同事完成"):
        await items.approve_retract(svc, p["李华"], item)
    done = await items.approve_retract(svc, p["赵磊"], item)
    assert done.state == "retracted" and done.release is not None and await _state(svc, item) == "retracted"
    assert (await items.get(svc, p["张敏"], item)).retract_chain is None  # no request pending any more


async def test_a_rejected_retraction_withdraws_its_steps(svc: Service, tmp_path: Path) -> None:
    p = await _people(svc)
    item = await _submitted(svc, p["张敏"])
    await items.review(svc, p["李华"], item)
    await items.review(svc, p["王强"], item)
    await Desk(svc.store, svc.clock, tmp_path / "files").publish([item])  # type: ignore[arg-type]
    await items.request_retract(svc, p["张敏"], item, "想撤")
    await items.approve_retract(svc, p["李华"], item)
    await items.reject_retract(svc, p["王强"], item, "内容无误，不需撤回")
    await items.request_retract(svc, p["张敏"], item, "确有错误")
    fresh = (await items.get(svc, p["张敏"], item)).retract_chain
    assert fresh is not None and fresh.taken == () and fresh.next is not None and fresh.next.number == 1


async def test_one_approval_per_step_is_enforced_by_the_store(svc: Service) -> None:
    """Two people taking the same step at the same moment cannot both succeed."""
    p = await _people(svc)
    item = await _submitted(svc, p["张敏"])
    await items.review(svc, p["李华"], item)
    with pytest.raises(IntegrityError):
        await svc.store.transaction(lambda s: _duplicate(s, item, svc.clock.now()))


async def _duplicate(s, item: int, now: datetime) -> None:  # noqa: ANN001
    s.add(ReviewStep(item_id=item, revision=1, request_id=0, step=1, role="reviewer", account="陈静",
                     decision="approved", at=now, override_reason=""))
    await s.flush()


async def test_the_board_lists_the_oldest_waiting_items_and_counts_them_all(svc: Service) -> None:
    from bot.ops import board

    p = await _people(svc)
    made = [await _submitted(svc, p["张敏"], title=f"第 {n} 号通知") for n in range(board.AWAITING_LIMIT + 2)]
    await items.review(svc, p["李华"], made[0])  # the oldest is at 王强's step now
    seen = await board.gather(svc, p["陈静"], with_alerts=False)
    assert seen.awaiting_total == len(made)
    assert [a.item_id for a in seen.awaiting_review] == made[:board.AWAITING_LIMIT]
    assert [m.item.item_id for m in seen.my_steps] == made[1:]  # every one at her step, oldest first
    assert seen.my_steps[0].item.title == "第 1 号通知" and seen.my_steps[0].step.number == 1
    data = board.to_json(seen)
    assert data["awaiting_review_total"] == len(made) and len(data["awaiting_review"]) == board.AWAITING_LIMIT
    assert [m.item.item_id for m in (await board.gather(svc, p["王强"], with_alerts=False)).my_steps] == made[:1]
    async with svc.store.sessions() as s:  # the queue read a slice at a time finds the same, in order
        sliced = await review_chain.waiting_for(s, p["陈静"], svc.chains, 30, chunk=7)
        assert [c.item_id for c in sliced] == made[1:31]
        assert [c.item_id for c in await review_chain.waiting_for(s, p["王强"], svc.chains, chunk=7)] == made[:1]
