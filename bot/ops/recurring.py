"""Recurring releases (rule R10): add, list, attach an approved item to an occurrence, remove.
Approvers manage them; every account may read them. Attaching creates the release through
:func:`bot.ops.releases.create`, so it is checked, confirmed and fired like any other."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.ops import Role, Who, any_role, require
from bot.ops import releases as release_ops
from content import audit
from content.errors import InputError, NotFound, WorkflowError
from content.kinds import ItemState
from content.models import Item, Release
from content.recurring_models import Occurrence, Recurring
from schedules import recurring as rules

if TYPE_CHECKING:
    from bot.service import Service


@dataclass(frozen=True)
class Schedule:
    recurring: Recurring
    rule: rules.Rule
    upcoming: tuple[Occurrence, ...]


@dataclass(frozen=True)
class Attached:
    occurrence: Occurrence
    created: release_ops.Created


async def add(svc: Service, who: Who, *, name: str, rule: str, channels: list[str] | None = None,
              lead: int = 3, department: str = "") -> Schedule:
    require(who, Role.APPROVER, action="设置定期发布")
    name = name.strip()
    if not name:
        raise InputError("定期发布需要名称", field="--name", fix='加 --name "名称"，如 --name "月度监督检查结果"')
    if not 0 <= lead <= 30:
        raise InputError(f"提前提醒 {lead} 个工作日超出范围", field="--lead", fix="写 0 至 30")
    parsed = rules.parse(rule)
    chosen = svc.check_channels(channels) if channels else []
    now = svc.clock.now()

    async def work(s):  # noqa: ANN001, ANN202
        if await s.scalar(select(Recurring.id).where(Recurring.name == name)) is not None:
            raise InputError(f"已有名为“{name}”的定期发布", field="--name", fix="换一个名称，或先 remove 旧的")
        rec = Recurring(name=name, rule_text=rule.strip(), rule=parsed.to_json(), channels=chosen,
                        lead_workdays=lead, department=department, active=True, created_by=who.login,
                        created_at=now, updated_at=now)
        s.add(rec)
        await s.flush()
        audit.record(s, at=now, actor=who.login, action="recurring_added", name=name,
                     rule=parsed.to_json(), recurring=rec.id)
        await rules.evaluate(s, svc.calendar, tz=svc.settings.tz, now=now)
        return rec

    rec = await svc.store.transaction(work, what="add recurring release")
    await svc.evaluate_obligations()
    return (await listing(svc, who, recurring_id=rec.id))[0]


async def listing(svc: Service, who: Who, *, recurring_id: int | None = None) -> tuple[Schedule, ...]:
    any_role(who, "查看定期发布")
    async with svc.store.sessions() as s:
        query = select(Recurring).where(Recurring.active.is_(True)).order_by(Recurring.id)
        if recurring_id is not None:
            query = select(Recurring).where(Recurring.id == recurring_id)
        out = []
        for rec in await s.scalars(query):
            occ = tuple(await s.scalars(select(Occurrence).where(
                Occurrence.recurring_id == rec.id, Occurrence.due_at > svc.clock.now())
                .order_by(Occurrence.due_at).limit(3)))
            out.append(Schedule(rec, rules.Rule.from_json(rec.rule), occ))
        if recurring_id is not None and not out:
            raise NotFound(f"定期发布 {recurring_id} 不存在", fix="用 gongkai release recurring list 查看编号")
        return tuple(out)


async def attach(svc: Service, who: Who, occurrence_id: int, item_id: int, *,
                 confirm: release_ops.Confirm | None = None) -> Attached:
    """Attach an approved item to an occurrence: a release at the occurrence's instant."""
    require(who, Role.APPROVER, action="为定期发布指定稿件")
    async with svc.store.sessions() as s:
        occ = await s.get(Occurrence, occurrence_id)
        if occ is None:
            raise NotFound(f"定期发布场次 {occurrence_id} 不存在", fix="用 gongkai release recurring list 查看场次编号")
        rec = await s.get(Recurring, occ.recurring_id)
        assert rec is not None  # foreign key
        if occ.release_id is not None and await _cancelled(s, occ.release_id):
            occ.item_id = occ.release_id = None  # its release was cancelled: attach again
        if occ.item_id is not None:
            raise WorkflowError(f"场次 {occurrence_id} 已指定稿件 {occ.item_id}（发布计划 {occ.release_id}）",
                                fix="如需更换，先用 gongkai release cancel 取消该发布计划")
        if occ.due_at <= svc.clock.now():
            raise WorkflowError(f"场次 {occurrence_id} 的发布时刻已过", fix="改用 gongkai release create 另行发布")
        item = await s.get(Item, item_id)
        if item is None:
            raise NotFound(f"稿件 {item_id} 不存在", fix="用 gongkai list 查看编号")
        if item.state != ItemState.APPROVED:
            raise WorkflowError(f"稿件 {item_id} 尚未审核通过，不能指定给定期发布", field="item",
                                fix="审核通过后再指定", code="item_not_approved")
        due, channels = occ.due_at, list(rec.channels or []) or None
    created = await release_ops.create(svc, who, [item_id], due_at=due, channels=channels, confirm=confirm)
    now = svc.clock.now()

    async def work(s):  # noqa: ANN001, ANN202
        row = await s.get(Occurrence, occurrence_id)
        assert row is not None  # occurrences are never deleted
        row.item_id, row.release_id, row.attached_by = item_id, created.release.id, who.login
        audit.record(s, at=now, actor=who.login, action="recurring_attached", item_id=item_id,
                     release_id=created.release.id, occurrence=occurrence_id, recurring=row.recurring_id)
        return row

    occ = await svc.store.transaction(work, what="attach to occurrence")
    assert occ is not None  # it was there before the release was made, and is never deleted
    return Attached(occ, created)


async def _cancelled(s, release_id: int) -> bool:  # noqa: ANN001
    rel = await s.get(Release, release_id)
    return rel is None or rel.state == "cancelled"


async def remove(svc: Service, who: Who, recurring_id: int) -> Recurring:
    """Stop a schedule: no new occurrences; what was recorded stays in the record."""
    require(who, Role.APPROVER, action="删除定期发布")
    now = svc.clock.now()

    async def work(s):  # noqa: ANN001, ANN202
        rec = await s.get(Recurring, recurring_id)
        if rec is None or not rec.active:
            raise NotFound(f"定期发布 {recurring_id} 不存在", fix="用 gongkai release recurring list 查看编号")
        rec.active, rec.updated_at = False, now
        audit.record(s, at=now, actor=who.login, action="recurring_removed", recurring=recurring_id)
        return rec

    return await svc.store.transaction(work, what="remove recurring release")


def occurrence_json(occ: Occurrence) -> dict:
    return {"id": occ.id, "on_date": occ.on_date, "due_at": occ.due_at, "item_id": occ.item_id,
            "release_id": occ.release_id}


def schedule_json(sch: Schedule) -> dict:
    rec = sch.recurring
    return {"id": rec.id, "name": rec.name, "rule_text": rec.rule_text, "rule": sch.rule.to_json(),
            "channels": rec.channels, "lead_workdays": rec.lead_workdays, "active": rec.active,
            "upcoming": [occurrence_json(o) for o in sch.upcoming]}


__all__ = ["Attached", "Schedule", "add", "attach", "listing", "remove"]
