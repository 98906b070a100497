"""Releases: whom one would reach, create, reschedule, cancel, split, list and show. Approvers
schedule and change releases; every account may read them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot import outbox
from bot.confirm import describe
from bot.ops import Role, Who, any_role, require
from content.errors import InputError
from content.kinds import Kind
from content.models import Delivery, DeliveryAttempt, Item, Release, ReleaseItem, Revision
from schedules import releases

if TYPE_CHECKING:
    from bot.service import Service
    from channels.base import Reach

# ``confirm(reach)`` → the lines to show; raises (nothing done) when the person declines
Confirm = Callable[[list["Reach"]], list[str]]
STATES = ("pending", "held", "published", "cancelled")


@dataclass(frozen=True)
class Created:
    release: Release
    items: tuple[int, ...]
    warnings: tuple[str, ...]
    reach: tuple[Reach, ...]


@dataclass(frozen=True)
class Split:
    release: Release
    split_from: int
    told: tuple[str, ...]
    reach: tuple[Reach, ...]


@dataclass(frozen=True)
class Listed:
    release: Release
    items: tuple[int, ...]


@dataclass(frozen=True)
class Shown:
    release: Release
    items: tuple[tuple[int, str, str, str], ...]   # (id, kind, state, title), in release order
    deliveries: tuple[Delivery, ...]
    attempts: tuple[DeliveryAttempt, ...]
    draining: tuple[outbox.DrainEstimate, ...]

    def as_json(self) -> dict[str, Any]:
        rel = self.release
        return {"id": rel.id, "purpose": rel.purpose, "state": rel.state, "due_at": rel.due_at,
                "fired_at": rel.fired_at, "late_ms": rel.late_ms, "hold_reason": rel.hold_reason,
                "channels": rel.channels,
                "items": [{"id": i, "kind": k, "state": st, "title": t} for i, k, st, t in self.items],
                "deliveries": [{"id": d.id, "channel": d.channel, "state": d.state, "attempts": d.attempts,
                                "receipt": d.receipt, "progress": d.progress, "last_error": d.last_error,
                                "next_attempt_at": d.next_attempt_at, "settled_at": d.settled_at,
                                "attempt_log": [{"number": a.number, "worker": a.worker,
                                                 "started_at": a.started_at, "outcome": a.outcome,
                                                 "detail": a.detail} for a in self.attempts
                                                if a.delivery_id == d.id]} for d in self.deliveries],
                "draining": [e.to_json() for e in self.draining]}


def refuse_unconfirmed(what: str) -> Confirm:
    """For callers that cannot ask (an API request without ``confirm``): a release that reaches
    people is refused, naming whom it would reach."""
    def check(reach: list[Reach]) -> list[str]:
        if not reach:
            return []
        raise InputError(f"{what}将发送给 " + "；".join(describe(r) for r in reach) + "，需要确认",
                         field="confirm", fix="确认无误后再次提交并确认", code="confirmation_required")
    return check


def confirmed(reach: list[Reach]) -> list[str]:
    """The person has already confirmed (the console's second step, the API's ``confirm``)."""
    return ["将发送给 " + "；".join(describe(r) for r in reach)] if reach else []


async def reach(svc: Service, who: Who, item_ids: list[int], *, channels: list[str] | None = None,
                options: dict[str, str] | None = None) -> tuple[Reach, ...]:
    """Whom a release of ``item_ids`` would message or push to, per channel (for confirmation)."""
    any_role(who, "查看发布范围")
    chosen = svc.check_channels(channels)
    return tuple(await svc.reach(chosen, list(item_ids), dict(options or {})))


async def create(svc: Service, who: Who, item_ids: list[int], *, due_at: datetime,
                 channels: list[str] | None = None, options: dict[str, str] | None = None,
                 allow_past: bool = False, allow_pending: bool = False,
                 confirm: Confirm | None = None) -> Created:
    """Schedule ``item_ids`` (one item, or a policy with its interpretations) at ``due_at``.
    Every member must be ready and the channels must accept it before anything is written;
    a release that messages or pushes to people needs ``confirm`` to agree."""
    require(who, Role.APPROVER, action="创建发布计划")
    ids = list(item_ids)
    options = dict(options or {})
    chosen = svc.check_channels(channels)
    async with svc.store.sessions() as s:  # every member exists and is ready before any channel looks
        members = await releases.check_members(s, ids, allow_pending=allow_pending)
    if "wechat" in chosen and "push" not in options and any(m.kind == Kind.EMERGENCY for m in members):
        options["push"] = "all"  # an emergency is pushed to every follower (from the emergency reserve)
    warnings = await svc.precheck(chosen, ids, options, due_at)
    warnings += await svc.scheduler_warnings(due_at)
    found = await svc.reach(chosen, ids, options)
    told = (confirm or refuse_unconfirmed("本发布计划"))(found)
    rel = await svc.store.transaction(lambda s: releases.create(
        s, ids, due_at=due_at, channels=chosen, actor=who.login, now=svc.clock.now(),
        allow_past=allow_past, allow_pending=allow_pending, options=options), what="create release")
    # event: release.created
    return Created(rel, tuple(ids), tuple(told + warnings), tuple(found))


async def reschedule(svc: Service, who: Who, release_id: int, *, due_at: datetime,
                     allow_past: bool = False) -> Release:
    require(who, Role.APPROVER, action="改期")
    return await svc.store.transaction(lambda s: releases.reschedule(
        s, release_id, due_at=due_at, actor=who.login, now=svc.clock.now(), allow_past=allow_past),
        what="reschedule release")


async def cancel(svc: Service, who: Who, release_id: int, *, reason: str = "") -> Release:
    require(who, Role.APPROVER, action="取消发布计划")
    return await svc.store.transaction(lambda s: releases.cancel(
        s, release_id, actor=who.login, now=svc.clock.now(), reason=reason), what="cancel release")


async def split(svc: Service, who: Who, release_id: int, *, confirm: Confirm | None = None) -> Split:
    """Release the approved members of a held bundle now; the rest stay held."""
    require(who, Role.APPROVER, action="拆分发布计划")
    found = await svc.split_reach(release_id, who.login)
    told = (confirm or refuse_unconfirmed("拆分出的发布计划"))(found)
    told += await svc.scheduler_warnings(svc.clock.now())
    new = await svc.store.transaction(lambda s: releases.split(
        s, release_id, actor=who.login, now=svc.clock.now()), what="split release")
    return Split(new, release_id, tuple(told), tuple(found))


async def listing(svc: Service, who: Who, *, state: str | None = None, limit: int = 50) -> tuple[Listed, ...]:
    any_role(who, "查看发布计划")
    if state is not None and state not in STATES:
        raise InputError(f"未知状态 {state}", field="state", fix="可用：" + "、".join(STATES))
    async with svc.store.sessions() as s:
        q = select(Release).order_by(Release.due_at.desc(), Release.id.desc()).limit(limit)
        if state:
            q = q.where(Release.state == state)
        rels = list(await s.scalars(q))
        out = []
        for rel in rels:
            out.append(Listed(rel, tuple(await s.scalars(select(ReleaseItem.item_id).where(
                ReleaseItem.release_id == rel.id).order_by(ReleaseItem.position)))))
        return tuple(out)


async def show(svc: Service, who: Who, release_id: int) -> Shown:
    any_role(who, "查看发布计划")
    async with svc.store.sessions() as s:
        rel = await releases.get_release(s, release_id)
        items = tuple((i, k, st, t) for i, k, st, t in await s.execute(
            select(Item.id, Item.kind, Item.state, Revision.title)
            .join(ReleaseItem, ReleaseItem.item_id == Item.id)
            .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
            .where(ReleaseItem.release_id == release_id).order_by(ReleaseItem.position)))
        deliveries = tuple(await s.scalars(select(Delivery).where(
            Delivery.release_id == release_id).order_by(Delivery.id)))
        attempts = tuple(await s.scalars(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id.in_([d.id for d in deliveries])).order_by(DeliveryAttempt.id)))
        draining = tuple(await outbox.drain_estimates(s, svc.clock.now(), release_id=release_id))
        return Shown(rel, items, deliveries, attempts, draining)
