"""A communications desk for tests: writes, reviews and schedules items through the real
workflow and release code (no shortcuts into the tables)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from content import workflow
from content.checks import CheckRules
from content.clock import FixedClock
from content.db import Store
from content.files import FileStore
from content.frontmatter import build
from schedules import releases

POLICY_META = {"department": "市政务服务局", "index_no": "11000000/2026-00123",
               "doc_no": "京政服发〔2026〕12号", "issuer": "示例市政务服务局", "issued": "2026-11-18",
               "topic": "政务公开"}


class Desk:
    def __init__(self, store: Store, clock: FixedClock, files_dir: Path) -> None:
        self.store = store
        self.clock = clock
        self.files = FileStore(files_dir)
        self.rules = CheckRules()

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

    async def approve(self, item_id: int, author: str = "alice", reviewer: str = "bob") -> None:
        await self.store.transaction(lambda s: workflow.submit(
            s, item_id, actor=author, now=self.clock.now(), rules=self.rules, files=self.files))
        await self.store.transaction(lambda s: workflow.approve(
            s, item_id, actor=reviewer, now=self.clock.now(), override_reason="测试"))

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
