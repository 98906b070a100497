"""发布计划: the month and week calendar, the bundle builder (with the confirmation a release
that texts or pushes to people needs), and the planning actions on a release (reschedule,
cancel, split). Every action is a POST form calling ``bot.ops.releases``, which checks roles;
a refusal is shown as a 403 page and changes nothing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import labels
from bot.console.kit import action, forbidden, redirect_with_flash, render, say, view
from bot.ops import calendar as calendar_ops
from bot.ops import queue as queue_ops
from bot.ops import releases as release_ops
from bot.ops import schedulable
from bot.timeparse import INSTANT_FORMS, parse_instant
from content.accounts import Role
from content.errors import Forbidden, GongkaiError, InputError
from schedules import plan_calendar

if TYPE_CHECKING:
    from bot.service import Service
    from channels.base import Reach

WEEKDAY_NAMES = tuple(f"周{d}" for d in plan_calendar.WEEKDAYS)
CONFIRMATION_REQUIRED = "confirmation_required"
MONTH_PER_DAY = 4  # releases a month cell lists; the rest are "另有 N 项", listed by the week view
SLOT_PILL = {"free": "ok", "taken": "info", "full": "bad", "past": ""}


def _svc(request: web.Request) -> Service:
    return request["svc"]


def _local(request: web.Request, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(_svc(request).settings.tz).strftime(fmt) if value is not None else ""


def push_label(key: str) -> str:
    """A WeChat push target (``all``, ``tag:NAME``, ``list:NAME``) for a person; '' for none."""
    if key in ("", "none"):
        return ""
    kind, _, name = key.partition(":")
    return "群发给全部粉丝" if key == "all" else f"群发给{'标签' if kind == 'tag' else '名单'}“{name}”的粉丝"


def may_schedule(request: web.Request) -> bool:
    """Whether to offer scheduling links and forms (a hint only: ``ops.releases`` decides)."""
    return bool(request["who"].has(Role.APPROVER))


# ---------------------------------------------------------------------------- the calendar
@view("/console/plan/")
async def calendar_page(request: web.Request) -> web.StreamResponse:
    svc, who = _svc(request), request["who"]
    error, week = "", request.query.get("week")
    try:
        cal = await calendar_ops.calendar(svc, who, month=request.query.get("month"), week=week,
                                          per_day=None if week else MONTH_PER_DAY, slots=True)
    except InputError as exc:
        error = say(exc)
        cal = await calendar_ops.calendar(svc, who, per_day=MONTH_PER_DAY, slots=True)
    return await render(request, "plan/calendar.html", status=400 if error else 200, error=error,
                        **_calendar_ctx(request, cal))


def _calendar_ctx(request: web.Request, cal: plan_calendar.PlanCalendar) -> dict[str, Any]:
    svc, span = _svc(request), cal.span
    today = svc.clock.now().astimezone(cal.tz).date()
    inside = [d.day for d in cal.days if d.in_focus]
    focus = today if today in inside else inside[0]
    if span.view is plan_calendar.View.MONTH:
        other = ("week", plan_calendar.week_of(focus), "周视图")
        this = ("month", plan_calendar.month_of(today), "本月")
    else:
        other = ("month", plan_calendar.month_of(span.first + timedelta(days=3)), "月视图")
        this = ("week", plan_calendar.week_of(today), "本周")
    every = [n for n in cal.days[0].notes if n.day is None] if cal.days else []
    return dict(cal=cal, span=span, weekday_names=WEEKDAY_NAMES, labels=labels, every_day=every,
                zone=svc.settings.bot.timezone, other=other, this=this, push_label=push_label, today=today,
                can_schedule=may_schedule(request), week_of=plan_calendar.week_of,
                has_slots=any(d.slots for d in cal.days), slot_word=slot_word, slot_pill=SLOT_PILL)


def slot_word(st: queue_ops.SlotState) -> str:
    """A posting slot's state for a person: 空闲, 已占用, 不可用（why）or 已过."""
    if st.state == "full":
        return f"不可用（{f'当天已达每日上限 {st.cap} 条' if st.cap else st.refusal}）"
    return {"free": "空闲", "taken": "已占用", "past": "已过"}[st.state]


# ---------------------------------------------------------------------------- the builder
@dataclass
class Draft:
    """The builder's form as typed: kept across an error and through the confirmation page."""

    items: list[int] = field(default_factory=list)
    at: str = ""
    channels: list[str] = field(default_factory=list)
    push: str = "none"
    push_tag: str = ""

    @property
    def options(self) -> dict[str, str]:
        if self.push_tag.strip():
            return {"push": f"tag:{self.push_tag.strip()}"}
        return {"push": self.push} if self.push and self.push != "none" else {}


def _draft(form: Any) -> Draft:
    items = []
    for raw in form.getall("items", []):
        if not str(raw).isdigit():
            raise InputError(f"稿件编号“{raw}”不是数字", field="items", fix="在列表中勾选稿件")
        items.append(int(raw))
    return Draft(list(dict.fromkeys(items)), str(form.get("at", "")).strip(),
                 list(dict.fromkeys(str(c) for c in form.getall("channels", []))),
                 str(form.get("push", "none")), str(form.get("push_tag", "")))


def _required(draft: Draft, channels_fix: str) -> None:
    if not draft.items:
        raise InputError("没有选择稿件", field="items", fix="至少勾选一篇已审核的稿件")
    if not draft.channels:
        raise InputError("没有选择渠道", field="channels", fix=channels_fix)


async def _picker(request: web.Request, template: str, draft: Draft, *, error: str = "", status: int = 200,
                  item_id: int | None = None) -> web.StreamResponse:
    """The builder's or the queue's form: the approved items (with the bundle of ``item_id``
    chosen), the channels (with their posting slots) and the WeChat push target."""
    svc = _svc(request)
    query = request.query.get("q", "")
    found = await schedulable.choices(svc, request["who"], item_id=item_id, query=query)
    if item_id is not None and not draft.items:
        draft.items = list(found.preselected)
    enabled = svc.enabled_channel_names()
    wechat = svc.settings.channels.wechat if "wechat" in enabled else None
    return await render(request, template, status=status, draft=draft, choices=found, query=query, error=error,
                        channels=[(c, labels.channel(c), getattr(svc.settings.channels, c).slots) for c in enabled],
                        chosen=set(draft.channels or enabled), labels=labels,
                        push_lists=sorted(wechat.push_lists) if wechat is not None else [],
                        wechat=wechat is not None, zone=svc.settings.bot.timezone, forms=INSTANT_FORMS,
                        can_schedule=may_schedule(request))


async def _builder(request: web.Request, draft: Draft, **kw: Any) -> web.StreamResponse:
    return await _picker(request, "plan/new.html", draft, **kw)


async def _open(request: web.Request, template: str, draft: Draft) -> web.StreamResponse:
    """GET of the builder or the queue, from the calendar, an item's page (``item=``) or nowhere."""
    raw = request.query.get("item", "")
    if raw and not raw.isdigit():
        return await _picker(request, template, draft, error=f"稿件编号“{raw}”不是数字（从稿件页或日历打开排期）",
                             status=400)
    try:
        return await _picker(request, template, draft, item_id=int(raw) if raw else None)
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    except GongkaiError as exc:
        return await _picker(request, template, draft, error=say(exc), status=400)


@view("/console/plan/new")
async def builder_page(request: web.Request) -> web.StreamResponse:
    draft = Draft()
    day = request.query.get("day", "")
    if len(day) == 10 and day[4] == "-" and day[7] == "-":
        draft.at = f"{day} 09:00"
    return await _open(request, "plan/new.html", draft)


@action("/console/plan/new")
async def builder_submit(request: web.Request) -> web.StreamResponse:
    svc, who = _svc(request), request["who"]
    form = await request.post()
    try:
        draft = _draft(form)
    except InputError as exc:
        return await _builder(request, Draft(), error=say(exc), status=400)
    confirmed = form.get("confirmed") == "yes"
    try:
        _required(draft, "至少勾选一个发布渠道")
        due = parse_instant(draft.at, svc.settings.tz, now=svc.clock.now(), field="发布时刻")
        created = await release_ops.create(
            svc, who, draft.items, due_at=due, channels=draft.channels, options=draft.options,
            confirm=confirmed_as_shown(str(form.get("reach", ""))) if confirmed else None)
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    except GongkaiError as exc:
        if getattr(exc, "code", "") != CONFIRMATION_REQUIRED:
            return await _builder(request, draft, error=say(exc), status=400)
        reach = await release_ops.reach(svc, who, draft.items, channels=draft.channels, options=draft.options)
        return await render(request, "plan/confirm.html", draft=draft, reach=[reach_line(r) for r in reach],
                            shown=fingerprint(reach), again=confirmed, labels=labels,
                            items=await schedulable.described(svc, who, draft.items),
                            due=_local(request, due, "%Y-%m-%d %H:%M:%S" if due.second else "%Y-%m-%d %H:%M"),
                            zone=svc.settings.bot.timezone,
                            channels=labels.channels(draft.channels),
                            push=push_label(draft.options.get("push", "")))
    rel = created.release
    message = (f"已创建发布计划 {rel.id}：稿件 {'、'.join(map(str, created.items))} 将于 "
               f"{_local(request, rel.due_at)}（{svc.settings.bot.timezone}）发往 {labels.channels(rel.channels)}")
    raise await redirect_with_flash(request, f"/console/releases/{rel.id}",
                                     "。".join([message, *created.warnings]))


@action("/console/plan/new/back")
async def builder_back(request: web.Request) -> web.StreamResponse:
    """From the confirmation page back to the builder, with the choices kept."""
    try:
        draft = _draft(await request.post())
    except InputError as exc:
        return await _builder(request, Draft(), error=say(exc), status=400)
    return await _builder(request, draft)


def fingerprint(reach: list[Reach] | tuple[Reach, ...]) -> str:
    """What the person was shown on the confirmation page (channel, people, parts each)."""
    return ";".join(f"{r.channel}:{r.people}:{r.parts or 0}" for r in reach)


def confirmed_as_shown(shown: str) -> release_ops.Confirm:
    """Go on only if the release still reaches exactly whom the confirmation page showed;
    otherwise ask again with the new numbers (subscribers came or went in between)."""
    def check(reach: list[Reach]) -> list[str]:
        if fingerprint(reach) != shown:
            raise InputError("发送范围在确认后有变化，需要重新确认", field="confirm",
                             fix="核对新的人数后再确认", code=CONFIRMATION_REQUIRED)
        return release_ops.confirmed(reach)
    return check


def reach_line(reach: Reach) -> dict[str, Any]:
    return {"label": reach.label, "people": reach.people, "parts": reach.parts,
            "total": reach.people * reach.parts if reach.parts else None}


# ---------------------------------------------------------------------------- the queue
async def _queue_form(request: web.Request, draft: Draft, **kw: Any) -> web.StreamResponse:
    return await _picker(request, "plan/queue.html", draft, **kw)


@view("/console/plan/queue")
async def queue_page(request: web.Request) -> web.StreamResponse:
    return await _open(request, "plan/queue.html", Draft())


@action("/console/plan/queue")
async def queue_submit(request: web.Request) -> web.StreamResponse:
    """排入下一个空闲时段: ``bot.ops.queue.queue`` (an approver's action), with the reach
    confirmed first when the releases message or push to people."""
    svc, who = _svc(request), request["who"]
    form = await request.post()
    try:
        draft = _draft(form)
    except InputError as exc:
        return await _queue_form(request, Draft(), error=say(exc), status=400)
    confirmed = form.get("confirmed") == "yes"
    try:
        _required(draft, "至少勾选一个配置了发布时段的渠道")
        done = await queue_ops.queue(svc, who, draft.items, channels=draft.channels, options=draft.options,
                                     confirm=confirmed_among(str(form.get("reach", ""))) if confirmed else None)
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    except GongkaiError as exc:
        if getattr(exc, "code", "") != CONFIRMATION_REQUIRED:
            return await _queue_form(request, draft, error=say(exc), status=400)
        groups = await queue_ops.reach(svc, who, draft.items, channels=draft.channels, options=draft.options)
        named = {c.id: c for c in await schedulable.described(svc, who, draft.items)}
        return await render(request, "plan/confirm_queue.html", draft=draft, again=confirmed, labels=labels,
                            groups=[([named[i] for i in ids if i in named], [reach_line(r) for r in found])
                                    for ids, found in groups],
                            shown="|".join(fingerprint(found) for _, found in groups),
                            channels=labels.channels(draft.channels), push=push_label(draft.options.get("push", "")))
    named = {c.id: c for c in await schedulable.described(svc, who, [p.item_id for p in done.placed])}
    return await render(request, "plan/queued.html", placed=done.placed, named=named, labels=labels,
                        zone=svc.settings.bot.timezone, weekday_names=WEEKDAY_NAMES, week_of=plan_calendar.week_of,
                        tz=svc.settings.tz)


def confirmed_among(shown: str) -> release_ops.Confirm:
    """The queue's confirmation: each release it makes must reach exactly whom one of the
    releases on the confirmation page did (otherwise ask again)."""
    checks = {part: confirmed_as_shown(part) for part in shown.split("|")}

    def check(reach: list[Reach]) -> list[str]:
        return checks.get(fingerprint(reach), next(iter(checks.values())))(reach)
    return check


# ---------------------------------------------------------------------------- release actions
async def _refused(request: web.Request, release_id: int, exc: GongkaiError) -> web.StreamResponse:
    if isinstance(exc, Forbidden):
        return await forbidden(request, say(exc))
    raise await redirect_with_flash(request, f"/console/releases/{release_id}", say(exc), "error")


@action(r"/console/releases/{release_id:\d+}/reschedule")
async def reschedule(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), int(request.match_info["release_id"])
    form = await request.post()
    try:
        due = parse_instant(str(form.get("at", "")), svc.settings.tz, now=svc.clock.now(), field="发布时刻")
        rel = await release_ops.reschedule(svc, request["who"], release_id, due_at=due)
    except GongkaiError as exc:
        return await _refused(request, release_id, exc)
    raise await redirect_with_flash(request, f"/console/releases/{release_id}",
                                     f"发布计划 {rel.id} 改为 {_local(request, rel.due_at)} 发布")


@action(r"/console/releases/{release_id:\d+}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), int(request.match_info["release_id"])
    form = await request.post()
    try:
        rel = await release_ops.cancel(svc, request["who"], release_id, reason=str(form.get("reason", "")))
    except GongkaiError as exc:
        return await _refused(request, release_id, exc)
    raise await redirect_with_flash(request, f"/console/releases/{release_id}",
                                     f"发布计划 {rel.id} 已取消，其中的稿件回到“已审核”")


@action(r"/console/releases/{release_id:\d+}/split")
async def split(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), int(request.match_info["release_id"])
    form = await request.post()
    try:
        confirmed = form.get("confirmed") == "yes"
        done = await release_ops.split(svc, request["who"], release_id,
                                       confirm=confirmed_as_shown(str(form.get("reach", ""))) if confirmed else None)
    except GongkaiError as exc:
        if getattr(exc, "code", "") != CONFIRMATION_REQUIRED:
            return await _refused(request, release_id, exc)
        reach = await svc.split_reach(release_id, request["who"].login)
        return await render(request, "plan/confirm_split.html", release_id=release_id,
                            reach=[reach_line(r) for r in reach], shown=fingerprint(reach), again=confirmed)
    raise await redirect_with_flash(
        request, f"/console/releases/{done.release.id}",
        f"已拆分：已审核的稿件进入发布计划 {done.release.id}，立即发布；其余稿件仍在计划 {release_id} 中等待审核")
