"""Role checks live in the service layer: every op refuses an account without the role it
needs (code ``forbidden``, a Chinese message naming the role) and changes nothing. An auditor
reads everything and changes nothing; a disabled account does nothing."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import settings as config
from bot.ops import deliveries, items, releases, users
from bot.service import Service
from content.accounts import AccountView, Role
from content.clock import FixedClock
from content.errors import Forbidden
from content.frontmatter import build
from content.models import Account, AuditEvent, Delivery, Item, Release
from tests.desk import Desk

Op = Callable[[Service, AccountView], Awaitable[Any]]
DRAFT = build({"kind": "news", "title": "关于调整办事大厅开放时间的通知", "department": "办公室"},
              "办事大厅自 12 月 1 日起延长开放时间。")


def who(*roles: Role, login: str = "某人", disabled: bool = False) -> AccountView:
    return AccountView(login, login, "", roles, disabled, False)


@pytest.fixture
async def world(tmp_path: Path, database_url: str):
    settings = config.load(None, environ={"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"),
                                          "GONGKAI_BOT__DATABASE_URL": database_url})
    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
    svc = await Service.create(settings, clock=clock)
    desk = Desk(svc.store, clock, tmp_path / "files")
    submitted = await desk.add("news", "待审核的稿件")
    await items.submit(svc, who(Role.AUTHOR, login="alice"), submitted)
    approved = await desk.approved("news", "已审核的稿件")
    published = await desk.approved("news", "已发布的稿件")
    fired = await desk.publish([published])
    pending = await desk.schedule([approved], at=clock.now() + timedelta(days=1))
    async with svc.store.sessions() as s:
        delivery = await s.scalar(select(Delivery.id).where(Delivery.release_id == fired))
    yield svc, {"submitted": submitted, "approved": approved, "published": published,
                "pending": pending, "fired": fired, "delivery": delivery}
    await svc.store.close()


def _changes(ids: dict[str, int]) -> dict[str, Op]:
    """Every op that changes something, with the ids of the world it acts on."""
    return {
        "items.add": lambda svc, w: items.add(svc, w, DRAFT),
        "items.edit": lambda svc, w: items.edit(svc, w, ids["approved"], DRAFT),
        "items.submit": lambda svc, w: items.submit(svc, w, ids["submitted"]),
        "items.review": lambda svc, w: items.review(svc, w, ids["submitted"]),
        "items.return_": lambda svc, w: items.return_(svc, w, ids["submitted"], "请修改"),
        "items.correct": lambda svc, w: items.correct(svc, w, ids["published"], DRAFT, note="更正"),
        "items.request_retract": lambda svc, w: items.request_retract(svc, w, ids["published"], "有误"),
        "items.approve_retract": lambda svc, w: items.approve_retract(svc, w, ids["published"]),
        "items.reject_retract": lambda svc, w: items.reject_retract(svc, w, ids["published"], "不撤"),
        "releases.create": lambda svc, w: releases.create(
            svc, w, [ids["submitted"]], due_at=svc.clock.now() + timedelta(days=2), channels=["website"]),
        "releases.reschedule": lambda svc, w: releases.reschedule(
            svc, w, ids["pending"], due_at=svc.clock.now() + timedelta(days=3)),
        "releases.cancel": lambda svc, w: releases.cancel(svc, w, ids["pending"], reason="不发了"),
        "releases.split": lambda svc, w: releases.split(svc, w, ids["pending"]),
        "deliveries.resolve": lambda svc, w: deliveries.resolve(svc, w, ids["delivery"], sent=True),
        "users.add": lambda svc, w: users.add(svc, w, "newbie", name="新人", roles=(Role.AUTHOR,)),
        "users.disable": lambda svc, w: users.disable(svc, w, "alice"),
        "users.enable": lambda svc, w: users.enable(svc, w, "alice"),
        "users.passwd": lambda svc, w: users.passwd(svc, w, "alice", "a long password"),
        "users.roles": lambda svc, w: users.roles(svc, w, "alice", (Role.ADMIN,)),
        "users.token": lambda svc, w: users.token(svc, w, "alice"),
    }


# which roles may (try to) do each change; every other role is refused before anything happens
ALLOWED = {
    "items.add": {Role.AUTHOR}, "items.edit": {Role.AUTHOR}, "items.submit": {Role.AUTHOR},
    "items.correct": {Role.AUTHOR}, "items.request_retract": {Role.AUTHOR, Role.APPROVER},
    "items.review": {Role.REVIEWER, Role.APPROVER}, "items.return_": {Role.REVIEWER, Role.APPROVER},
    "items.approve_retract": {Role.REVIEWER, Role.APPROVER},
    "items.reject_retract": {Role.REVIEWER, Role.APPROVER},
    "releases.create": {Role.APPROVER}, "releases.reschedule": {Role.APPROVER},
    "releases.cancel": {Role.APPROVER}, "releases.split": {Role.APPROVER},
    "deliveries.resolve": {Role.APPROVER},
    "users.add": {Role.ADMIN}, "users.disable": {Role.ADMIN}, "users.enable": {Role.ADMIN},
    "users.passwd": {Role.ADMIN}, "users.roles": {Role.ADMIN}, "users.token": {Role.ADMIN},
}


async def _snapshot(svc: Service) -> tuple:
    async with svc.store.sessions() as s:
        return (await s.scalar(select(func.count()).select_from(AuditEvent)),
                await s.scalar(select(func.count()).select_from(Release)),
                await s.scalar(select(func.count()).select_from(Account)),
                tuple(await s.scalars(select(Item.state).order_by(Item.id))),
                tuple(await s.scalars(select(Release.due_at).order_by(Release.id))),
                tuple(await s.scalars(select(Delivery.state).order_by(Delivery.id))))


async def test_each_change_refuses_a_role_that_may_not_make_it(world) -> None:  # noqa: ANN001
    svc, ids = world
    ops = _changes(ids)
    assert set(ops) == set(ALLOWED)
    before = await _snapshot(svc)
    refused = 0
    for name, op in ops.items():
        for role in set(Role) - ALLOWED[name]:
            with pytest.raises(Forbidden) as err:
                await op(svc, who(role, login="bob2"))
            assert err.value.code == "forbidden", name
            labels = {"author": "撰稿", "reviewer": "保密审查", "approver": "审核签发", "admin": "管理员"}
            assert any(f"“{labels[r.value]}”" in err.value.message for r in ALLOWED[name]), (name, err.value.message)
            assert err.value.as_json()["error"]["code"] == "forbidden"
            refused += 1
    assert refused > 60
    assert await _snapshot(svc) == before  # nothing changed, not even an audit event


async def test_an_auditor_reads_everything_and_changes_nothing(world) -> None:  # noqa: ANN001
    svc, ids = world
    auditor = who(Role.AUDITOR, login="审计")
    before = await _snapshot(svc)
    for op in _changes(ids).values():
        with pytest.raises(Forbidden):
            await op(svc, auditor)
    assert await _snapshot(svc) == before
    assert (await items.get(svc, auditor, ids["published"])).item.state == "published"
    assert (await items.listing(svc, auditor)).total == 3
    assert (await items.chain_state(svc, auditor, ids["approved"])).complete
    assert [x.release.id for x in await releases.listing(svc, auditor)] == [ids["pending"], ids["fired"]]
    assert (await releases.show(svc, auditor, ids["fired"])).deliveries
    assert await users.listing(svc, auditor) == ()


async def test_an_author_cannot_schedule_and_an_approver_can(world) -> None:  # noqa: ANN001
    svc, ids = world
    with pytest.raises(Forbidden, match="账号 alice 没有“审核签发”角色，不能创建发布计划"):
        await releases.create(svc, who(Role.AUTHOR, login="alice"), [ids["approved"]],
                              due_at=svc.clock.now() + timedelta(days=2), channels=["website"])
    await releases.cancel(svc, who(Role.APPROVER, login="carol"), ids["pending"])
    made = await releases.create(svc, who(Role.APPROVER, login="carol"), [ids["approved"]],
                                 due_at=svc.clock.now() + timedelta(days=2), channels=["website"])
    assert made.release.created_by == "carol"


async def test_a_disabled_account_does_nothing(world) -> None:  # noqa: ANN001
    svc, ids = world
    gone = who(Role.AUTHOR, Role.REVIEWER, Role.APPROVER, Role.ADMIN, login="离职", disabled=True)
    before = await _snapshot(svc)
    for op in _changes(ids).values():
        with pytest.raises(Forbidden, match="已停用"):
            await op(svc, gone)
    with pytest.raises(Forbidden, match="已停用"):
        await items.get(svc, gone, ids["published"])
    assert await _snapshot(svc) == before


async def test_an_account_may_set_its_own_password_but_not_anothers(world) -> None:  # noqa: ANN001
    svc, _ids = world
    admin = who(Role.ADMIN, login="admin")
    await users.add(svc, admin, "zhangmin", name="张敏", roles=(Role.AUTHOR,), password="first pass 1")
    zhangmin = who(Role.AUTHOR, login="zhangmin")
    assert (await users.passwd(svc, zhangmin, "zhangmin", "second pass 2")).password is None
    with pytest.raises(Forbidden, match="不能修改他人的密码"):
        await users.passwd(svc, zhangmin, "admin", "taken over 3")
    issued = await users.token(svc, zhangmin, "zhangmin")
    assert issued.login == "zhangmin"
    with pytest.raises(Forbidden):
        await users.tokens(svc, zhangmin, "admin")
