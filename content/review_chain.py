"""The review chain: the steps a revision (or a retraction request) goes through before it is
approved, each a role (保密审查 reviewer, 审核签发 approver), configured per kind. Each step is
taken by a different account holding that role, never by the revision's author (rule C1) or
the retraction's requester; the revision is approved only after the last step. Steps are rows
of ``review_steps``; a return (or a rejected retraction) withdraws the steps taken so far."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (ForeignKey, Index, Integer, String, Text, func, literal, or_, select, text, true,
                        tuple_, update)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from content import audit, workflow
from content import events
from content.accounts import ROLE_LABELS, Role
from content.errors import Forbidden, WorkflowError
from content.kinds import RevisionStatus
from content.models import Base, Item, ReviewRequest, Revision
from content.textguard import refuse_controls

Chain = tuple[Role, ...]
DEFAULT_CHAIN: Chain = (Role.REVIEWER, Role.APPROVER)
APPROVED = "approved"
WITHDRAWN = "withdrawn"
REVISION = 0  # request_id of the steps of a revision's own review
QUEUE_CHUNK = 1000  # revisions waiting for review looked at per statement (oldest first)


class ReviewStep(Base):
    """One step taken: by whom, in which role, when, with the reason for any override."""

    __tablename__ = "review_steps"
    __table_args__ = (
        Index("ix_review_steps_item", "item_id", "revision", "request_id"),
        Index("uq_review_steps_taken", "item_id", "revision", "request_id", "step", unique=True,
              sqlite_where=text("decision = 'approved'"), postgresql_where=text("decision = 'approved'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    revision: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int] = mapped_column(Integer)  # 0: the revision; else a retraction request
    step: Mapped[int] = mapped_column(Integer)  # 1-based position in the chain
    role: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(16))  # approved | withdrawn
    at: Mapped[datetime]
    override_reason: Mapped[str] = mapped_column(Text, default="")


class Reviewer(Protocol):
    """Who takes a step: an account's login and roles (content.accounts.AccountView)."""

    @property
    def login(self) -> str: ...

    @property
    def roles(self) -> tuple[Role, ...]: ...


@dataclass(frozen=True)
class Chains:
    """The chain of each kind; kinds not named use ``default``."""
    default: Chain = DEFAULT_CHAIN
    by_kind: Mapping[str, Chain] = field(default_factory=dict)

    @classmethod
    def from_config(cls, chains: Mapping[str, Sequence[str]]) -> Chains:
        parsed = {kind: tuple(Role(r) for r in roles) for kind, roles in chains.items()}
        return cls(parsed.pop("default", DEFAULT_CHAIN), parsed)

    def of(self, kind: str) -> Chain:
        return self.by_kind.get(kind) or self.default


@dataclass(frozen=True)
class StepState:
    number: int
    role: Role
    account: str | None = None
    at: datetime | None = None
    override_reason: str = ""

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def done(self) -> bool:
        return self.account is not None

    def as_json(self) -> dict[str, Any]:
        return {"step": self.number, "role": self.role.value, "role_label": self.label,
                "account": self.account, "at": self.at, "override_reason": self.override_reason or None}


@dataclass(frozen=True)
class ChainState:
    item_id: int
    revision: int
    request_id: int
    steps: tuple[StepState, ...]

    @property
    def complete(self) -> bool:
        return all(s.done for s in self.steps)

    @property
    def next(self) -> StepState | None:
        return next((s for s in self.steps if not s.done), None)

    @property
    def taken(self) -> tuple[StepState, ...]:
        return tuple(s for s in self.steps if s.done)

    def as_json(self) -> dict[str, Any]:
        nxt = self.next
        return {"revision": self.revision, "request": self.request_id or None, "complete": self.complete,
                "steps": [s.as_json() for s in self.steps],
                "next": {"step": nxt.number, "role": nxt.role.value, "role_label": nxt.label} if nxt else None}


@dataclass(frozen=True)
class StepTaken:
    step: StepState
    state: ChainState
    approval: workflow.ApproveResult | None  # set when this was the last step
    overridden: int  # check findings this step let through, with its override reason


@dataclass(frozen=True)
class RetractStepTaken:
    step: StepState
    state: ChainState
    request: ReviewRequest
    retracted: bool  # this was the last step: the item is retracted


def step_label(step: StepState) -> str:
    return f"第 {step.number} 步{step.label}"


async def state(session: AsyncSession, item_id: int, revision: int, chain: Chain,
                request_id: int = REVISION) -> ChainState:
    """Which steps of ``chain`` are done (by whom, when) and which is next."""
    rows = {r.step: r for r in await session.scalars(select(ReviewStep).where(
        ReviewStep.item_id == item_id, ReviewStep.revision == revision,
        ReviewStep.request_id == request_id, ReviewStep.decision == APPROVED))}
    return _chain_state(item_id, revision, request_id, chain, rows)


def _chain_state(item_id: int, revision: int, request_id: int, chain: Chain,
                 taken: Mapping[int, ReviewStep]) -> ChainState:
    """``chain``'s steps, those in ``taken`` (by step number) done by whom they record."""
    return ChainState(item_id, revision, request_id, tuple(
        StepState(n, role, taken[n].account, taken[n].at, taken[n].override_reason) if n in taken
        else StepState(n, role) for n, role in enumerate(chain, start=1)))


async def item_state(session: AsyncSession, item_id: int, chains: Chains) -> ChainState:
    """The chain of the item's current revision."""
    item = await workflow.get_item(session, item_id)
    return await state(session, item_id, item.current_revision, chains.of(item.kind))


async def waiting_for(session: AsyncSession, who: Reviewer, chains: Chains,
                      limit: int = 200, *, chunk: int = QUEUE_CHUNK) -> list[ChainState]:
    """The submitted revisions whose next step ``who`` may take (holding its role, not their
    author, not having taken an earlier step), oldest first: what the duty board shows as
    "waiting for my review step". Steps are taken in order, so the next step of a revision is
    the one after the number already taken: the database picks the revisions where that step's
    role is one of ``who``'s, walking the queue in submission order, a slice at a time, until
    ``limit`` are found."""
    def steps_of(revision: Any) -> Any:
        return select(ReviewStep.id).where(
            ReviewStep.item_id == revision.item_id, ReviewStep.revision == revision.number,
            ReviewStep.request_id == REVISION, ReviewStep.decision == APPROVED)

    done = steps_of(Revision).with_only_columns(func.count(ReviewStep.id)).scalar_subquery()
    which = _next_step_is_mine(chains, set(who.roles), done)
    if which is None:
        return []
    mine = (select(Revision.item_id, Revision.number, Item.kind)
            .join(Item, (Item.id == Revision.item_id) & (Item.current_revision == Revision.number))
            .where(Revision.created_by != who.login,
                   ~steps_of(Revision).where(ReviewStep.account == who.login).exists(), which)
            .order_by(Revision.created_at, Revision.id))
    queue = (select(Revision.created_at, Revision.id).where(Revision.status == RevisionStatus.SUBMITTED.value)
             .order_by(Revision.created_at, Revision.id).limit(chunk))
    rows: list[Any] = []
    after = None
    while len(rows) < limit:  # the queue in slices, by the index on (status, created_at, id)
        slice_ = list(await session.execute(
            queue if after is None else queue.where(tuple_(Revision.created_at, Revision.id) > after)))
        if not slice_:
            break
        after = tuple_(literal(slice_[-1][0], Revision.created_at.type), literal(slice_[-1][1]))
        rows += await session.execute(mine.where(Revision.id.in_([r[1] for r in slice_])).limit(limit - len(rows)))
        if len(slice_) < chunk:
            break
    if not rows:
        return []
    taken: dict[tuple[int, int], dict[int, ReviewStep]] = {}
    for row in await session.scalars(select(ReviewStep).where(
            ReviewStep.item_id.in_([r[0] for r in rows]), ReviewStep.request_id == REVISION,
            ReviewStep.decision == APPROVED)):
        taken.setdefault((row.item_id, row.revision), {})[row.step] = row
    return [_chain_state(item_id, number, REVISION, chains.of(kind), taken.get((item_id, number), {}))
            for item_id, number, kind in rows]


def _next_step_is_mine(chains: Chains, roles: set[Role], done: Any) -> Any:
    """The SQL condition "the next step of this revision's chain is one of ``roles``", with
    ``done`` the number of steps taken; None when no chain has such a step."""
    def positions(chain: Chain) -> list[int]:
        return [n for n, role in enumerate(chain) if role in roles]

    named = [kind for kind in chains.by_kind]
    terms = [(Item.kind == kind) & done.in_(positions(chain))
             for kind, chain in chains.by_kind.items() if positions(chain)]
    if positions(chains.default):
        terms.append((Item.kind.not_in(named) if named else true()) & done.in_(positions(chains.default)))
    return or_(*terms) if terms else None


def _check_taker(current: ChainState, who: Reviewer, what: str) -> StepState:
    """The step ``who`` may take next, or the error that says who must take it."""
    nxt = current.next
    if nxt is None:
        raise WorkflowError(f"{what}的审核链已全部完成", code="chain_complete")
    for done in current.taken:
        if done.account == who.login:
            raise WorkflowError(
                f"{who.login} 已完成{what}的{step_label(done)}，{step_label(nxt)}须由另一位同事完成"
                "（审核链的每一步由不同的人完成）",
                fix=f"请另一位持有“{nxt.label}”角色的同事执行", code="same_reviewer")
    if nxt.role not in who.roles:
        raise Forbidden(f"{step_label(nxt)}须由持有“{nxt.label}”角色的账号完成，{who.login} 没有该角色",
                        fix=f"请持有“{nxt.label}”角色的同事执行，或请管理员用 gongkai user roles 授予角色")
    return nxt


async def take_step(session: AsyncSession, item_id: int, who: Reviewer, *, chains: Chains,
                    now: datetime, override_reason: str | None = None) -> StepTaken:
    """``who`` takes the next step of the current revision's chain; after the last step the
    revision is approved. Open check findings need ``override_reason`` at the step that meets
    them (recorded on the findings and the step)."""
    item, rev, findings = await workflow.prepare_step(session, item_id, actor=who.login,
                                                      override_reason=override_reason)
    current = await state(session, item_id, rev.number, chains.of(item.kind))
    nxt = _check_taker(current, who, f"稿件 {item_id} 第 {rev.number} 版")
    reason = (override_reason or "").strip() if findings else ""
    session.add(ReviewStep(item_id=item_id, revision=rev.number, request_id=REVISION, step=nxt.number,
                           role=nxt.role.value, account=who.login, decision=APPROVED, at=now,
                           override_reason=reason))
    taken = StepState(nxt.number, nxt.role, who.login, now, reason)
    after = ChainState(item_id, rev.number, REVISION,
                       tuple(taken if s.number == nxt.number else s for s in current.steps))
    detail: dict[str, Any] = {"step": nxt.number, "role": nxt.role.value, "steps": len(current.steps)}
    await session.flush()
    if after.complete:
        result = workflow.complete_approval(session, item, rev, findings, actor=who.login, now=now,
                                            override_reason=reason or None, detail=detail)
        await events.emit(session, "item.approved", events.item_data(item, rev, who.login), now=now)
        return StepTaken(taken, after, result, len(findings))
    workflow.override(findings, actor=who.login, reason=reason or None)
    item.updated_at = now
    audit.record(session, at=now, actor=who.login, action="review_step", item_id=item_id,
                 revision=rev.number, reason=reason, overridden=[f.check for f in findings], **detail)
    return StepTaken(taken, after, None, len(findings))


async def withdraw(session: AsyncSession, item_id: int, revision: int, request_id: int = REVISION) -> None:
    """The steps taken so far no longer count (the revision was returned, the request rejected)."""
    await session.execute(update(ReviewStep).where(
        ReviewStep.item_id == item_id, ReviewStep.revision == revision,
        ReviewStep.request_id == request_id, ReviewStep.decision == APPROVED).values(decision=WITHDRAWN))


async def return_item(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                      comment: str) -> Item:
    """Return the current revision to its author; its chain starts again on resubmission."""
    item = await workflow.return_item(session, item_id, actor=actor, now=now, comment=comment)
    await withdraw(session, item_id, item.current_revision)
    return item


async def retract_state(session: AsyncSession, item_id: int, chains: Chains) -> ChainState | None:
    """The chain of the item's pending retraction request, if it has one."""
    request = await workflow.pending_retraction(session, item_id)
    if request is None:
        return None
    item = await workflow.get_item(session, item_id)
    return await state(session, item_id, item.published_revision or item.current_revision,
                       chains.of(item.kind), request.id)


async def take_retract_step(session: AsyncSession, item_id: int, who: Reviewer, *, chains: Chains,
                            now: datetime) -> RetractStepTaken:
    """``who`` takes the next step of the chain of the item's pending retraction request; after
    the last step the item is retracted (the caller then makes the retraction release)."""
    request = await workflow.pending_retraction(session, item_id)
    if request is None:
        await workflow.get_item(session, item_id)
        raise WorkflowError(f"稿件 {item_id} 没有待批准的撤回申请",
                            fix=f"撤回须先申请：gongkai post retract {item_id} --reason 原因", code="no_pending_request")
    if who.login == request.requested_by:
        raise WorkflowError(f"{who.login} 提出了稿件 {item_id} 的撤回申请，不能批准自己提出的撤回，也不能驳回",
                            fix="请另一位同事用 --as 其姓名 执行批准", code="requester_cannot_decide")
    item = await workflow.get_item(session, item_id)
    revision = item.published_revision or item.current_revision
    current = await state(session, item_id, revision, chains.of(item.kind), request.id)
    nxt = _check_taker(current, who, f"稿件 {item_id} 的撤回申请")
    session.add(ReviewStep(item_id=item_id, revision=revision, request_id=request.id, step=nxt.number,
                           role=nxt.role.value, account=who.login, decision=APPROVED, at=now,
                           override_reason=""))
    taken = StepState(nxt.number, nxt.role, who.login, now)
    after = ChainState(item_id, revision, request.id,
                       tuple(taken if s.number == nxt.number else s for s in current.steps))
    await session.flush()
    if after.complete:
        request = await workflow.approve_retraction(session, item_id, actor=who.login, now=now)
        return RetractStepTaken(taken, after, request, True)
    audit.record(session, at=now, actor=who.login, action="retract_step", item_id=item_id,
                 revision=revision, reason=request.reason, step=nxt.number, role=nxt.role.value,
                 steps=len(current.steps), requested_by=request.requested_by)
    return RetractStepTaken(taken, after, request, False)


async def reject_retraction(session: AsyncSession, item_id: int, *, actor: str, now: datetime,
                            comment: str) -> ReviewRequest:
    refuse_controls(comment, field="--comment")
    request = await workflow.reject_retraction(session, item_id, actor=actor, now=now, comment=comment)
    item = await workflow.get_item(session, item_id)
    await withdraw(session, item_id, item.published_revision or item.current_revision, request.id)
    return request
