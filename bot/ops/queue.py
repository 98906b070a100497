"""The posting queue: ``gongkai release queue ITEM…`` (and the console) put approved items into
each channel's next free posting slot (``[channels.<name>] slots``).

A slot instant is free for a release when, for every chosen channel that has slots, it is one of
that channel's slots (on working days when the slot says 工作日), no other release of that channel
is due at that instant, the channel's ``daily_cap`` for that day is not reached, and the channel
does not refuse it (WeChat: the push quota, with its emergency reserve kept — the channel's own
judgement, ``slot_refusal``). Channels without slots go along with the release. Items that
already have an instant (scheduled, or in a bundle) are never moved: only approved items are
queued, one release each (a policy queued with its interpretations: one release, one instant),
through :func:`bot.ops.releases.create`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot import labels
from bot.ops import Role, Who, require
from bot.ops import releases as release_ops
from content.errors import InputError, WorkflowError
from content.kinds import STATE_LABELS, ItemState
from content.models import Item, Link, Release
from schedules import slots as slots_

if TYPE_CHECKING:
    from bot.service import Service
    from channels.base import Reach

SEARCH_DAYS = 62  # how far ahead a free slot is looked for


@dataclass(frozen=True)
class Placed:
    item_id: int
    release: Release
    due_at: datetime
    warnings: tuple[str, ...]
    skipped: tuple[str, ...]  # slot instants passed over, with the reason (for the person)


@dataclass(frozen=True)
class Queued:
    placed: tuple[Placed, ...]


@dataclass(frozen=True)
class SlotState:
    """One posting slot of one channel, as the queue judges it: the releases of that channel
    due at that instant, whether the channel's ``daily_cap`` is reached that day, and the
    channel's own refusal (WeChat: the push quota). The calendar shows these; the queue takes
    the first slot whose :attr:`why` is empty."""

    channel: str
    at: datetime
    taken_by: tuple[int, ...] = ()
    cap: int = 0  # the daily cap, when that day has reached it
    refusal: str = ""  # the channel's own reason, without its fix
    past: bool = False

    @property
    def label(self) -> str:
        return labels.channel(self.channel)

    @property
    def state(self) -> str:
        """past | taken | full (cap reached or refused by the channel) | free"""
        if self.past:
            return "past"
        return "taken" if self.taken_by else ("full" if self.cap or self.refusal else "free")

    @property
    def why(self) -> str:
        """Why the queue passes this slot over ("" when free), in the queue's order."""
        if self.cap:
            return f"{self.label}当天已达每日上限 {self.cap} 条"
        if self.taken_by:
            return f"{self.label}该时段已有发布"
        return f"{self.label}：{self.refusal}" if self.refusal else ""


@dataclass(frozen=True)
class Booked:
    release_id: int
    due_at: datetime
    channels: tuple[str, ...]


async def _booked(svc: Service, first: date, last: date) -> list[Booked]:
    """Every planned or sent publication from local day ``first`` to ``last``: one query."""
    tz = svc.settings.tz
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    async with svc.store.sessions() as s:
        rows = await s.execute(select(Release.id, Release.due_at, Release.channels).where(
            Release.state != "cancelled", Release.purpose == "publish",
            Release.due_at >= start, Release.due_at < end))
        return [Booked(i, due, tuple(chans or ())) for i, due, chans in rows]


async def judge(svc: Service, channel: str, when: datetime, booked: list[Booked],
                options: dict[str, str], *, now: datetime | None = None) -> SlotState:
    """The state of ``channel``'s slot at ``when``, given the releases ``booked`` on that local
    day. The channel itself is asked only about a slot that is neither taken nor over the cap
    (and not past, when ``now`` is given)."""
    conf, tz = getattr(svc.settings.channels, channel), svc.settings.tz
    day = when.astimezone(tz).date()
    mine = [b for b in booked if channel in b.channels and b.due_at.astimezone(tz).date() == day]
    taken = tuple(b.release_id for b in mine if abs((b.due_at - when).total_seconds()) < 60)
    cap = conf.daily_cap if conf.daily_cap and len(mine) >= conf.daily_cap else 0
    if now is not None and when <= now:
        return SlotState(channel, when, taken, cap, past=True)
    refusal = ""
    ask = getattr(svc.channel(channel), "slot_refusal", None)
    if not taken and not cap and ask is not None:
        refusal = (await ask(options, when)).split("（修正")[0]
    return SlotState(channel, when, taken, cap, refusal)


async def _refusal(svc: Service, channels: list[str], when: datetime, options: dict[str, str]) -> str:
    day = when.astimezone(svc.settings.tz).date()
    booked = await _booked(svc, day, day)
    for name in channels:
        if why := (await judge(svc, name, when, booked, options)).why:
            return why
    return ""


async def slot_states(svc: Service, first: date, last: date,
                      options: dict[str, str] | None = None) -> dict[date, tuple[SlotState, ...]]:
    """Each day's posting slots of the enabled channels from ``first`` to ``last``, in time
    order, judged as the queue judges them (``options``: the release the slot would take; by
    default a push to every follower, what a WeChat posting slot is for). A channel whose slots
    cannot be read is left out here (the queue names the setting)."""
    tz, cal, now = svc.settings.tz, svc.calendar, svc.clock.now()
    configured: dict[str, list[slots_.Slot]] = {}
    for name in svc.enabled_channel_names():
        try:
            configured.update(_slots_of(svc, [name]))
        except InputError:
            continue
    if not configured:
        return {}
    booked: dict[date, list[Booked]] = {}
    for b in await _booked(svc, first, last):
        booked.setdefault(b.due_at.astimezone(tz).date(), []).append(b)
    found: dict[date, tuple[SlotState, ...]] = {}
    day = first
    while day <= last:
        states = [await judge(svc, name, datetime.combine(day, at, tz), booked.get(day, []),
                              dict(options if options is not None else {"push": "all"}), now=now)
                  for name, slots in configured.items()
                  for at in sorted({s.at for s in slots if cal.is_workday(day) or not s.workdays_only})]
        found[day] = tuple(sorted(states, key=lambda st: (st.at, st.channel)))
        day += timedelta(days=1)
    return found


def _slots_of(svc: Service, channels: list[str]) -> dict[str, list[slots_.Slot]]:
    found = {}
    for name in channels:
        texts = getattr(svc.settings.channels, name).slots
        if texts:
            found[name] = [slots_.parse(t, f"channels.{name}.slots") for t in texts]
    return found


async def next_free(svc: Service, channels: list[str], options: dict[str, str]) -> tuple[datetime, list[str]]:
    """The first free slot instant for a release to ``channels``, and the instants passed over."""
    by_channel = _slots_of(svc, channels)
    if not by_channel:
        raise InputError("所选渠道都没有配置发布时段", field="--channels",
                         fix='在配置中为渠道设置 slots，如 [channels.wechat] slots = ["工作日 18:00"]；'
                             "或用 gongkai release create --at 指定时刻")
    tz, cal = svc.settings.tz, svc.calendar
    lead, *others = by_channel.items()
    skipped: list[str] = []
    for when in slots_.candidates(lead[1], cal, tz, svc.clock.now(), SEARCH_DAYS):
        local = when.astimezone(tz)
        if any(not any(s.at == local.time() and (cal.is_workday(local.date()) or not s.workdays_only)
                       for s in slots) for _, slots in others):
            continue  # not a slot of every chosen channel that has slots
        why = await _refusal(svc, list(by_channel), when, options)
        if not why:
            return when, skipped
        skipped.append(f"{local:%Y-%m-%d %H:%M}：{why}")
    names = "、".join(labels.channel(n) for n in by_channel)
    raise InputError(f"{SEARCH_DAYS} 天内没有空闲的发布时段（{names}）", field="--channels",
                     fix="分渠道排队（--channels 只选一个渠道）、调整 slots 或 daily_cap，"
                         "或用 gongkai release create --at 指定时刻")


async def queue(svc: Service, who: Who, item_ids: list[int], *, channels: list[str] | None = None,
                options: dict[str, str] | None = None,
                confirm: release_ops.Confirm | None = None) -> Queued:
    require(who, Role.APPROVER, action="排入发布时段")
    if not item_ids:
        raise InputError("至少需要一篇稿件", fix="gongkai release queue 稿件编号…")
    chosen = svc.check_channels(channels)
    options = dict(options or {})
    async with svc.store.sessions() as s:
        for item_id in item_ids:
            item = await s.get(Item, item_id)
            if item is None:
                raise InputError(f"稿件 {item_id} 不存在", fix="用 gongkai post list 查看稿件编号")
            if item.state != ItemState.APPROVED:
                label = STATE_LABELS.get(ItemState(item.state), item.state)
                fix = ("已排期的稿件保留其发布时刻，不会被移动；如需改期用 gongkai release reschedule"
                       if item.state == ItemState.SCHEDULED else "审核通过后再排队")
                raise WorkflowError(f"稿件 {item_id} 当前为“{label}”，只有已审核的稿件可以排入发布时段",
                                    fix=fix, code="item_not_approved")
        groups = await _bundles(s, list(dict.fromkeys(item_ids)))
    _slots_of(svc, chosen)  # a bad slot in the settings is named before anything is made
    placed = []
    for group in groups:
        when, skipped = await next_free(svc, chosen, options)
        made = await release_ops.create(svc, who, group, due_at=when, channels=chosen,
                                        options=options, confirm=confirm)
        placed += [Placed(i, made.release, when, made.warnings, tuple(skipped)) for i in group]
    return Queued(tuple(placed))


async def reach(svc: Service, who: Who, item_ids: list[int], *, channels: list[str] | None = None,
                options: dict[str, str] | None = None) -> tuple[tuple[tuple[int, ...], tuple[Reach, ...]], ...]:
    """Whom each release :func:`queue` would make (one a bundle) messages or pushes to, for
    the confirmation the console asks before queueing."""
    async with svc.store.sessions() as s:
        groups = await _bundles(s, list(dict.fromkeys(item_ids)))
    return tuple([(tuple(g), await release_ops.reach(svc, who, g, channels=channels, options=options))
                  for g in groups])


async def _bundles(s, item_ids: list[int]) -> list[list[int]]:  # noqa: ANN001
    """A policy queued with its interpretations stays one bundle (one release, one instant)."""
    interprets = dict((await s.execute(select(Link.from_item_id, Link.to_item_id).where(
        Link.rel == "interprets", Link.from_item_id.in_(item_ids)))).all())
    groups: dict[int, list[int]] = {}
    for item_id in item_ids:
        head = interprets.get(item_id)
        groups.setdefault(head if head in item_ids else item_id, []).append(item_id)
    return [sorted(g, key=lambda i: i != head) for head, g in groups.items()]
