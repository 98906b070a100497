"""Releases and bundles: create, reschedule, cancel, split, and the idempotent firing transaction.

Firing is one transaction: mark the release published (compare-and-set on its state), publish
the members' current revisions, and insert one delivery row per (release, channel) under a unique
key. A second firing, a second node or a restart therefore changes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from content import audit
from content import events
from content.errors import InputError, NotFound, WorkflowError
from content.kinds import STATE_LABELS, ItemState, Kind, RevisionStatus
from content.models import Delivery, Item, Link, Release, ReleaseItem, Revision, Setting

log = logging.getLogger("gongkai.releases")
PAST_TOLERANCE = timedelta(seconds=5)
EMERGENCY_PRIORITY = 10  # deliveries of a release with an emergency item are claimed first
SCHEDULE_VERSION = "schedule_version"


class ReleaseState(StrEnum):
    PENDING = "pending"
    HELD = "held"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


RELEASE_LABELS = {"pending": "待发布", "held": "已暂停（成员未审核）", "published": "已发布",
                  "cancelled": "已取消"}
OPEN_STATES = (ReleaseState.PENDING.value, ReleaseState.HELD.value)


@dataclass(frozen=True)
class FireResult:
    release_id: int
    outcome: str  # published | held | noop
    deliveries: tuple[int, ...] = ()
    late_ms: int = 0
    reason: str = ""


async def bump_schedule_version(session: AsyncSession, now: datetime) -> None:
    """Tell every running ticker (this node or another) to reload the pending releases."""
    row = await session.get(Setting, SCHEDULE_VERSION)
    if row is None:
        session.add(Setting(key=SCHEDULE_VERSION, value={"v": 1}, updated_at=now))
    else:
        row.value = {"v": int(row.value.get("v", 0)) + 1}
        row.updated_at = now


async def schedule_version(session: AsyncSession) -> int:
    row = await session.get(Setting, SCHEDULE_VERSION)
    return int(row.value.get("v", 0)) if row else 0


async def get_release(session: AsyncSession, release_id: int) -> Release:
    release = await session.get(Release, release_id)
    if release is None:
        raise NotFound(f"发布计划 {release_id} 不存在", fix="用 gongkai release list 查看编号")
    return release


async def members(session: AsyncSession, release_id: int) -> list[Item]:
    rows = await session.execute(
        select(Item).join(ReleaseItem, ReleaseItem.item_id == Item.id)
        .where(ReleaseItem.release_id == release_id).order_by(ReleaseItem.position))
    return list(rows.scalars())


def _order(items: list[Item]) -> list[Item]:
    """Policy documents first, then interpretations, then the rest (stable otherwise)."""
    rank = {Kind.POLICY.value: 0, Kind.INTERPRETATION.value: 1}
    return sorted(items, key=lambda i: rank.get(i.kind, 2))


async def create(session: AsyncSession, item_ids: list[int], *, due_at: datetime,
                 channels: list[str], actor: str, now: datetime, allow_past: bool = False,
                 allow_pending: bool = False, options: dict | None = None) -> Release:
    if not item_ids:
        raise InputError("至少需要一篇稿件", fix="gongkai release create 稿件编号… --at 时间")
    if not channels:
        raise InputError("没有可用的发布渠道", field="--channels", fix="至少启用一个渠道")
    if due_at < now - PAST_TOLERANCE and not allow_past:
        raise InputError("发布时间已经过去", field="--at",
                         fix="填写将来的时间，或加 --now 立即发布")
    items = await check_members(session, item_ids, allow_pending=allow_pending)
    release = Release(purpose="publish", state=ReleaseState.PENDING.value, due_at=due_at,
                      channels=list(channels), options=dict(options or {}), created_by=actor,
                      created_at=now, updated_at=now)
    session.add(release)
    await session.flush()
    for position, item in enumerate(_order(items)):
        session.add(ReleaseItem(release_id=release.id, item_id=item.id, position=position))
        if item.state == ItemState.APPROVED:
            item.state = ItemState.SCHEDULED.value
            item.updated_at = now
        audit.record(session, at=now, actor=actor, action="scheduled", item_id=item.id,
                     release_id=release.id, revision=item.current_revision,
                     due_at=due_at.isoformat(), channels=list(channels))
    await bump_schedule_version(session, now)
    await events.emit(session, "release.created", events.release_data(release, items), now=now)
    return release


async def check_members(session: AsyncSession, item_ids: list[int], *,
                        allow_pending: bool = False) -> list[Item]:
    """The items of a new release, each existing and ready to be scheduled (rule R2 for
    interpretations); raises the error that names the missing step otherwise."""
    if len(set(item_ids)) != len(item_ids):
        raise InputError("同一篇稿件在发布计划中出现了两次")
    items = []
    for item_id in item_ids:
        item = await session.get(Item, item_id)
        if item is None:
            raise NotFound(f"稿件 {item_id} 不存在", fix="用 gongkai post list 查看稿件编号")
        items.append(item)
    for item in items:
        if item.state == ItemState.APPROVED:
            continue
        if item.state == ItemState.SUBMITTED and allow_pending and len(items) > 1:
            continue
        raise WorkflowError(_missing_step(item), fix=_missing_fix(item, allow_pending))
    ids = {i.id for i in items}
    for item in items:
        if item.kind == Kind.INTERPRETATION:
            policy_id = await session.scalar(select(Link.to_item_id).where(
                Link.from_item_id == item.id, Link.rel == "interprets"))
            policy = await session.get(Item, policy_id) if policy_id else None
            if policy is not None and policy.id not in ids and policy.state not in (
                    ItemState.PUBLISHED, ItemState.CORRECTED):
                raise WorkflowError(
                    f"解读 {item.id} 所解读的政策文件 {policy.id} 尚未发布（规则 R2：政策与解读同步发布）",
                    fix=f"把两者放进同一个发布计划：gongkai release create {policy.id} {item.id} --at …")
    return items


async def create_followup(session: AsyncSession, purpose: str, item_ids: list[int], *,
                          channels: list[str], actor: str, now: datetime, reason: str) -> Release:
    """A correction or retraction release, due at once, to the channels that carried the item."""
    release = Release(purpose=purpose, state=ReleaseState.PENDING.value, due_at=now,
                      channels=list(channels), options={"reason": reason}, created_by=actor,
                      created_at=now, updated_at=now)
    session.add(release)
    await session.flush()
    for position, item_id in enumerate(item_ids):
        session.add(ReleaseItem(release_id=release.id, item_id=item_id, position=position))
    await bump_schedule_version(session, now)
    await events.emit(session, "release.created", events.release_data(release, item_ids), now=now)
    return release


async def channels_used(session: AsyncSession, item_id: int) -> list[str]:
    rows = await session.execute(
        select(Release.channels).join(ReleaseItem, ReleaseItem.release_id == Release.id)
        .where(ReleaseItem.item_id == item_id, Release.state == ReleaseState.PUBLISHED.value,
               Release.purpose == "publish"))
    seen: dict[str, None] = {}
    for (chs,) in rows:
        seen.update(dict.fromkeys(chs))
    return list(seen)


def _missing_step(item: Item) -> str:
    state = ItemState(item.state)
    step = {
        ItemState.DRAFT: "尚未提交审核",
        ItemState.SUBMITTED: "已提交但尚未审核通过",
        ItemState.RETURNED: "已被退回，需修改后重新提交",
        ItemState.SCHEDULED: "已在另一个发布计划中",
    }.get(state, f"当前为“{STATE_LABELS[state]}”")
    return f"稿件 {item.id} {step}，不能排期"


def _missing_fix(item: Item, allow_pending: bool) -> str:
    state = ItemState(item.state)
    if state == ItemState.DRAFT:
        return f"先 gongkai post submit {item.id}，再由另一位同事 gongkai post approve {item.id}"
    if state == ItemState.SUBMITTED:
        return (f"请另一位同事 gongkai post approve {item.id}"
                + ("" if allow_pending else "；组合发布中可加 --allow-pending，到时未审核则暂停整组"))
    if state == ItemState.RETURNED:
        return f"gongkai post edit {item.id} FILE.md 后重新提交"
    if state == ItemState.SCHEDULED:
        return "先 gongkai release cancel 原发布计划"
    return "已发布的稿件请用 post correct 或 post retract"


async def reschedule(session: AsyncSession, release_id: int, *, due_at: datetime, actor: str,
                     now: datetime, allow_past: bool = False) -> Release:
    release = await get_release(session, release_id)
    if release.state not in OPEN_STATES:
        raise WorkflowError(f"发布计划 {release_id} {RELEASE_LABELS[release.state]}，不能改期")
    if due_at < now - PAST_TOLERANCE and not allow_past:
        raise InputError("发布时间已经过去", field="--at", fix="填写将来的时间，或加 --now 立即发布")
    previous = release.due_at
    release.due_at = due_at
    release.state = ReleaseState.PENDING.value
    release.hold_reason = None
    release.updated_at = now
    audit.record(session, at=now, actor=actor, action="rescheduled", release_id=release_id,
                 previous=previous.isoformat(), due_at=due_at.isoformat())
    await bump_schedule_version(session, now)
    return release


async def cancel(session: AsyncSession, release_id: int, *, actor: str, now: datetime,
                 reason: str = "") -> Release:
    release = await get_release(session, release_id)
    if release.state not in OPEN_STATES:
        raise WorkflowError(f"发布计划 {release_id} {RELEASE_LABELS[release.state]}，不能取消",
                            fix="已发布的内容请用 post retract 撤回")
    release.state = ReleaseState.CANCELLED.value
    release.updated_at = now
    for item in await members(session, release_id):
        if item.state == ItemState.SCHEDULED:
            item.state = ItemState.APPROVED.value
            item.updated_at = now
    audit.record(session, at=now, actor=actor, action="cancelled", release_id=release_id,
                 reason=reason)
    await bump_schedule_version(session, now)
    return release


async def split(session: AsyncSession, release_id: int, *, actor: str, now: datetime) -> Release:
    """Release the approved members of a held bundle now; the rest stay held. The R1 deadline of
    the interpretations then runs from the policy's actual publication."""
    release = await get_release(session, release_id)
    if release.state != ReleaseState.HELD:
        raise WorkflowError(f"发布计划 {release_id} {RELEASE_LABELS[release.state]}，只有暂停的组合可以拆分",
                            fix="待发布的计划可直接 release cancel 后分别排期")
    items = await members(session, release_id)
    ready = [i for i in items if await _ready(session, i, release.purpose)]
    waiting = [i for i in items if i not in ready]
    if not ready or not waiting:
        raise WorkflowError(f"发布计划 {release_id} 中没有可以单独发布的已审核稿件",
                            fix="先审核其中的政策文件")
    new = Release(purpose=release.purpose, state=ReleaseState.PENDING.value, due_at=now,
                  channels=list(release.channels), options=dict(release.options),
                  created_by=actor, created_at=now, updated_at=now, split_from=release.id)
    session.add(new)
    await session.flush()
    for position, item in enumerate(ready):
        await session.execute(update(ReleaseItem).where(
            ReleaseItem.release_id == release.id, ReleaseItem.item_id == item.id)
            .values(release_id=new.id, position=position))
    release.hold_reason = (release.hold_reason or "") + f"；已拆分，已审核部分见发布计划 {new.id}"
    release.updated_at = now
    audit.record(session, at=now, actor=actor, action="split", release_id=release.id,
                 new_release=new.id, released=[i.id for i in ready], held=[i.id for i in waiting])
    await bump_schedule_version(session, now)
    return new


async def _ready(session: AsyncSession, item: Item, purpose: str) -> bool:
    if purpose == "retract":
        return True
    rev_status = await session.scalar(select(Revision.status).where(
        Revision.item_id == item.id, Revision.number == item.current_revision))
    if purpose == "correct":
        return rev_status == RevisionStatus.APPROVED
    return item.state in (ItemState.SCHEDULED, ItemState.APPROVED) and \
        rev_status == RevisionStatus.APPROVED


async def due(session: AsyncSession, now: datetime, limit: int = 1000) -> list[int]:
    rows = await session.scalars(
        select(Release.id).where(Release.state == ReleaseState.PENDING.value, Release.due_at <= now)
        .order_by(Release.due_at, Release.id).limit(limit))
    return list(rows)


async def pending(session: AsyncSession) -> list[tuple[int, datetime]]:
    rows = await session.execute(select(Release.id, Release.due_at).where(
        Release.state == ReleaseState.PENDING.value))
    return [(r, d) for r, d in rows]


async def fire(session: AsyncSession, release_id: int, *, now: datetime,
               actor: str = "scheduler") -> FireResult:
    query = select(Release).where(Release.id == release_id)
    assert session.bind is not None  # sessions are always made by a bound sessionmaker
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    release = await session.scalar(query)
    if release is None or release.state != ReleaseState.PENDING or release.due_at > now:
        return FireResult(release_id, "noop")
    items = await members(session, release_id)
    late_ms = max(0, int((now - release.due_at).total_seconds() * 1000))
    not_ready = [i for i in items if not await _ready(session, i, release.purpose)]
    if not_ready or not items:
        reason = "；".join(f"稿件 {i.id}（{STATE_LABELS[ItemState(i.state)]}）未审核" for i in not_ready) \
            or "发布计划没有稿件"
        claimed = cast(CursorResult[Any], await session.execute(update(Release).where(
            Release.id == release_id, Release.state == ReleaseState.PENDING.value)
            .values(state=ReleaseState.HELD.value, hold_reason=reason, updated_at=now)))
        if claimed.rowcount != 1:
            return FireResult(release_id, "noop")
        audit.record(session, at=now, actor=actor, action="held", release_id=release_id,
                     reason=reason, items=[i.id for i in not_ready])
        log.warning("发布计划 %s 已暂停：%s", release_id, reason)
        await events.emit(session, "release.held", events.release_data(release, reason=reason), now=now)
        return FireResult(release_id, "held", late_ms=late_ms, reason=reason)
    claimed = cast(CursorResult[Any], await session.execute(update(Release).where(
        Release.id == release_id, Release.state == ReleaseState.PENDING.value)
        .values(state=ReleaseState.PUBLISHED.value, fired_at=now, late_ms=late_ms, updated_at=now)))
    if claimed.rowcount != 1:
        return FireResult(release_id, "noop")
    for item in items:
        await _publish_item(session, item, release, now)
    priority = EMERGENCY_PRIORITY if any(i.kind == Kind.EMERGENCY for i in items) else 0
    delivery_ids = await _insert_deliveries(session, release, now, priority)
    audit.record(session, at=now, actor=actor, action=f"released_{release.purpose}",
                 release_id=release_id, items=[i.id for i in items], late_ms=late_ms,
                 channels=list(release.channels))
    await events.emit(session, "release.fired", events.release_data(release, items, late_ms=late_ms), now=now)
    return FireResult(release_id, "published", tuple(delivery_ids), late_ms)


async def _publish_item(session: AsyncSession, item: Item, release: Release, now: datetime) -> None:
    number = item.current_revision if release.purpose != "retract" else item.published_revision
    await session.execute(update(ReleaseItem).where(
        ReleaseItem.release_id == release.id, ReleaseItem.item_id == item.id).values(revision=number))
    if release.purpose == "retract":
        return
    if item.published_revision is not None and item.published_revision != number:
        await session.execute(update(Revision).where(
            Revision.item_id == item.id, Revision.number == item.published_revision)
            .values(status=RevisionStatus.SUPERSEDED.value))
    await session.execute(update(Revision).where(
        Revision.item_id == item.id, Revision.number == number)
        .values(status=RevisionStatus.PUBLISHED.value, published_at=now))
    item.state = (ItemState.CORRECTED if release.purpose == "correct" else ItemState.PUBLISHED).value
    item.published_revision = number
    item.published_at = now
    item.first_published_at = item.first_published_at or now
    item.updated_at = now
    if release.purpose == "correct":
        rev = await session.scalar(select(Revision).where(
            Revision.item_id == item.id, Revision.number == number))
        assert rev is not None  # ``number`` is the item's current revision, which exists
        item.department, item.column_name = rev.department, rev.column_name


async def _insert_deliveries(session: AsyncSession, release: Release, now: datetime,
                             priority: int = 0) -> list[int]:
    rows = [dict(release_id=release.id, channel=ch, state="pending", attempts=0, priority=priority,
                 next_attempt_at=now, receipt={}, progress={}, created_at=now, updated_at=now)
            for ch in release.channels]
    if not rows:
        return []
    assert session.bind is not None  # sessions are always made by a bound sessionmaker
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(Delivery).values(rows).on_conflict_do_nothing(
        index_elements=["release_id", "channel"]))
    ids = await session.scalars(select(Delivery.id).where(Delivery.release_id == release.id)
                                .order_by(Delivery.id))
    return list(ids)


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Release.state, func.count()).group_by(Release.state))
    return {state: n for state, n in rows}
