"""A communications desk for tests: writes, reviews and schedules items through the real
workflow and release code (no shortcuts into the tables)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from content import review_chain, workflow
from content.accounts import Role
from content.checks import CheckRules
from content.clock import FixedClock
from content.db import Store
from content.files import FileStore
from content.frontmatter import build
from content.review_chain import Chains, RetractStepTaken, StepTaken
from schedules import releases

POLICY_META = {"department": "市政务服务局", "index_no": "11000000/2026-00123",
               "doc_no": "京政服发〔2026〕12号", "issuer": "示例市政务服务局", "issued": "2026-11-18",
               "topic": "政务公开"}


@dataclass(frozen=True)
class Person:
    """Who takes a review step: a login and the roles the step needs."""
    login: str
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class Review:
    """The steps one pass through the review chain took (the last one approved the revision)."""
    steps: tuple[StepTaken, ...]

    @property
    def approval(self) -> workflow.ApproveResult:
        result = self.steps[-1].approval
        assert result is not None, "the chain is not complete"
        return result

    @property
    def overridden(self) -> int:
        return sum(s.overridden for s in self.steps)

    @property
    def is_correction(self) -> bool:
        return self.approval.is_correction


class Desk:
    def __init__(self, store: Store, clock: FixedClock, files_dir: Path, chains: Chains | None = None) -> None:
        self.store = store
        self.clock = clock
        self.files = FileStore(files_dir)
        self.rules = CheckRules()
        self.chains = chains or Chains()

    def _person(self, role: Role, reviewer: str, approver: str) -> Person:
        return Person(approver if role is Role.APPROVER else reviewer, (role,))

    async def step(self, item_id: int, who: str, role: Role, override: str | None = None) -> StepTaken:
        """One review step by ``who`` holding ``role``."""
        return await self.store.transaction(lambda s: review_chain.take_step(
            s, item_id, Person(who, (role,)), chains=self.chains, now=self.clock.now(),
            override_reason=override))

    async def review(self, item_id: int, reviewer: str = "bob", approver: str = "carol",
                     override: str | None = None) -> Review:
        """Take the item through its whole review chain: 保密审查 steps by ``reviewer``, 审核签发
        steps by ``approver`` (the default chain: bob, then carol)."""
        steps: list[StepTaken] = []
        while True:
            async with self.store.sessions() as s:
                nxt = (await review_chain.item_state(s, item_id, self.chains)).next
            if nxt is None or (steps and steps[-1].approval is not None):
                return Review(tuple(steps))
            person = self._person(nxt.role, reviewer, approver)
            steps.append(await self.step(item_id, person.login, nxt.role, override))

    async def retract_review(self, item_id: int, reviewer: str = "bob",
                             approver: str = "carol") -> RetractStepTaken:
        """Take the item's retraction request through its chain; the last step."""
        while True:
            async with self.store.sessions() as s:
                state = await review_chain.retract_state(s, item_id, self.chains)
            assert state is not None and state.next is not None
            person = self._person(state.next.role, reviewer, approver)
            taken = await self.store.transaction(lambda s, person=person: review_chain.take_retract_step(
                s, item_id, person, chains=self.chains, now=self.clock.now()))
            if taken.retracted:
                return taken

    async def add(self, kind: str = "news", title: str = "测试稿件", body: str = "正文。",
                  author: str = "alice", folder: Path | None = None, **meta: Any) -> int:
        fields = dict(POLICY_META) if kind == "policy" else {"department": "市政务服务局"}
        if kind == "press_conference":
            fields["issued"] = "2026-11-25"
        fields.update(meta)
        # local files are named relative to ``folder``, else to the working directory
        draft = build({"kind": kind, "title": title, **fields}, body, base_dir=folder or Path.cwd())
        item = await self.store.transaction(lambda s: workflow.add_item(
            s, draft, actor=author, now=self.clock.now(), files=self.files))
        return item.id

    async def approve(self, item_id: int, author: str = "alice", reviewer: str = "bob",
                      approver: str = "carol") -> None:
        """Submit, then the two-step review chain (保密审查 by ``reviewer``, 审核签发 by ``approver``)."""
        await self.store.transaction(lambda s: workflow.submit(
            s, item_id, actor=author, now=self.clock.now(), rules=self.rules, files=self.files))
        await self.review(item_id, reviewer, approver, override="测试")

    async def approved(self, kind: str = "news", title: str = "测试稿件", **kw: Any) -> int:
        item_id = await self.add(kind, title, **kw)
        await self.approve(item_id)
        return item_id

    async def schedule(self, item_ids: list[int], *, at: datetime | None = None,
                       channels: tuple[str, ...] = ("website",), **kw: Any) -> int:
        due = at or self.clock.now() + timedelta(minutes=5)
        release = await self.store.transaction(lambda s: releases.create(
            s, item_ids, due_at=due, channels=list(channels), actor="carol",
            now=self.clock.now(), **kw))
        return release.id

    async def fire(self, release_id: int, now: datetime | None = None) -> releases.FireResult:
        return await self.store.transaction(lambda s: releases.fire(
            s, release_id, now=now or self.clock.now()))

    async def publish(self, item_ids: list[int], **kw: Any) -> int:
        """Schedule the items and fire the release at its instant (clock moved there)."""
        due = kw.pop("at", None) or self.clock.now() + timedelta(minutes=5)
        release_id = await self.schedule(item_ids, at=due, **kw)
        self.clock.set(due)
        result = await self.fire(release_id)
        assert result.outcome == "published", result
        return release_id
