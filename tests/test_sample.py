"""First run on an empty store: the sample bundle is loaded, reviewed by a second person and
scheduled; it is never loaded twice; staff can turn it off."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import sample
from bot.service import Service
from bot.settings import load
from content import accounts
from content.accounts import Role
from content.models import AuditEvent, CheckFinding, Item, Release
from schedules import releases


async def _service(tmp_path: Path, database_url: str, **env: str) -> Service:
    settings = load(None, environ={"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"),
                                   "GONGKAI_BOT__DATABASE_URL": database_url, **env})
    return await Service.create(settings)


async def test_the_sample_bundle_is_loaded_once_and_released_together(tmp_path: Path, database_url: str) -> None:
    svc = await _service(tmp_path, database_url)
    try:
        release_id = await sample.load_if_empty(svc, lead=timedelta(minutes=1))
        assert release_id is not None
        assert await sample.load_if_empty(svc) is None
        async with svc.store.sessions() as s:
            rel = await s.get(Release, release_id)
            members = await releases.members(s, release_id)
            approvers = set(await s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "approved")))
            authors = set(await s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "created")))
        assert [m.kind for m in members] == ["policy", "interpretation"]
        assert 55 <= (rel.due_at - svc.clock.now()).total_seconds() <= 60
        assert approvers.isdisjoint(authors)  # reviewed by someone other than the author (C1)
        result = await svc.store.transaction(lambda s: releases.fire(
            s, release_id, now=rel.due_at))
        assert result.outcome == "published"
    finally:
        await svc.store.close()


async def test_the_sample_people_take_the_review_chain_and_can_sign_in_in_demo_mode(
        tmp_path: Path, sqlite_url: str) -> None:
    svc = await _service(tmp_path, sqlite_url)
    try:
        await sample.ensure_people(svc, demo=True)  # what `gongkai run` does in demo mode
        assert await sample.load_if_empty(svc) is not None
        async with svc.store.sessions() as s:
            steps = list(await s.execute(select(AuditEvent.item_id, AuditEvent.action, AuditEvent.actor)
                                         .where(AuditEvent.action.in_(("review_step", "approved")))
                                         .order_by(AuditEvent.id)))
            signed_in = [await accounts.check_password(s, login, sample.DEMO_PASSWORD)
                         for login in (sample.AUTHOR, sample.REVIEWER, sample.APPROVER)]
        assert [(a, who) for _i, a, who in steps] == [("review_step", "示例审核人"), ("approved", "示例签发人")] * 2
        assert [a.roles for a in signed_in] == [(Role.AUTHOR,), (Role.REVIEWER,), (Role.APPROVER,)]
        assert sample.DEMO_PASSWORD == "gongkai-demo"
    finally:
        await svc.store.close()


async def test_the_sample_passes_the_review_checks_and_is_our_own_text(tmp_path: Path,
                                                                      sqlite_url: str) -> None:
    svc = await _service(tmp_path, sqlite_url)
    try:
        assert await sample.load_if_empty(svc) is not None
        async with svc.store.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Item)) == 2
            assert await s.scalar(select(func.count()).select_from(CheckFinding)) == 0
    finally:
        await svc.store.close()
    places = [Path(__file__).resolve().parents[2] / "shared" / "seed", Path("/work/shared/seed")]
    seeds = ["".join(p.read_text(encoding="utf-8").split()) for d in places for p in d.glob("*.txt")]
    if not seeds:
        pytest.skip(f"the seed document is in none of {places}")
    for path in Path(sample.SAMPLE_DIR).glob("*.md"):
        body = "".join(path.read_text(encoding="utf-8").split("---", 2)[2].split())
        for flat in seeds:
            shared = [body[i:i + 20] for i in range(len(body) - 20) if body[i:i + 20] in flat]
            assert not shared, f"{path.name} shares text with the seed: {shared[:3]}"
