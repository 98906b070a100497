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
from bot.ops import releases as release_ops
from bot.ops import schedulable
from bot.timeparse import INSTANT_FORMS, parse_instant
from content.errors import Forbidden, GongkaiError, InputError
from schedules import plan_calendar

if TYPE_CHECKING:
    from bot.service import Service
    from channels.base import Reach

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
CONFIRMATION_REQUIRED = "confirmation_required"


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


# ---------------------------------------------------------------------------- the calendar
@view("/console/plan/")
async def calendar_page(request: web.Request) -> web.StreamResponse:
    svc, who = _svc(request), request["who"]
    error = ""
    try:
        cal = await calendar_ops.calendar(svc, who, month=request.query.get("month"),
                                          week=request.query.get("week"))
    except InputError as exc:
        error = say(exc)
        cal = await calendar_ops.calendar(svc, who)
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
                zone=svc.settings.bot.timezone, other=other, this=this, push_label=push_label,
                week_of=plan_calendar.week_of)


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


async def _builder(request: web.Request, draft: Draft, *, error: str = "", status: int = 200,
                   item_id: int | None = None) -> web.StreamResponse:
    svc = _svc(request)
    query = request.query.get("q", "")
    found = await schedulable.choices(svc, request["who"], item_id=item_id, query=query)
    if item_id is not None and not draft.items:
        draft.items = list(found.preselected)
    enabled = svc.enabled_channel_names()
    wechat = svc.settings.channels.wechat if "wechat" in enabled else None
    return await render(request, "plan/new.html", status=status, draft=draft, choices=found, query=query,
                        error=error, channels=[(c, labels.channel(c)) for c in enabled],
                        chosen=set(draft.channels or enabled), labels=labels,
                        push_lists=sorted(wechat.push_lists) if wechat is not None else [],
                        wechat=wechat is not None, zone=svc.settings.bot.timezone, forms=INSTANT_FORMS)


@view("/console/plan/new")
async def builder_page(request: web.Request) -> web.StreamResponse:
    draft = Draft()
    day = request.query.get("day", "")
    if len(day) == 10 and day[4] == "-" and day[7] == "-":
        draft.at = f"{day} 09:00"
    raw = request.query.get("item", "")
    if raw and not raw.isdigit():
        return await _builder(request, draft, error=f"稿件编号“{raw}”不是数字（从稿件页或日历打开排期）", status=400)
    try:
        return await _builder(request, draft, item_id=int(raw) if raw else None)
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    except GongkaiError as exc:
        return await _builder(request, draft, error=say(exc), status=400)


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
        if not draft.items:
            raise InputError("没有选择稿件", field="items", fix="至少勾选一篇已审核的稿件")
        if not draft.channels:
            raise InputError("没有选择渠道", field="channels", fix="至少勾选一个发布渠道")
        due = parse_instant(draft.at, svc.settings.tz, now=svc.clock.now(), field="发布时刻")
        created = await release_ops.create(
            svc, who, draft.items, due_at=due, channels=draft.channels, options=draft.options,
            confirm=release_ops.confirmed if confirmed else None)
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    except GongkaiError as exc:
        if getattr(exc, "code", "") != CONFIRMATION_REQUIRED:
            return await _builder(request, draft, error=say(exc), status=400)
        reach = await release_ops.reach(svc, who, draft.items, channels=draft.channels, options=draft.options)
        return await render(request, "plan/confirm.html", draft=draft, reach=[reach_line(r) for r in reach],
                            due=_local(request, due), zone=svc.settings.bot.timezone,
                            channels=labels.channels(draft.channels),
                            push=push_label(draft.options.get("push", "")))
    rel = created.release
    message = (f"已创建发布计划 {rel.id}：稿件 {'、'.join(map(str, created.items))} 将于 "
               f"{_local(request, rel.due_at)}（{svc.settings.bot.timezone}）发往 {labels.channels(rel.channels)}")
    return await redirect_with_flash(request, f"/console/releases/{rel.id}",
                                     "。".join([message, *created.warnings]))


@action("/console/plan/new/back")
async def builder_back(request: web.Request) -> web.StreamResponse:
    """From the confirmation page back to the builder, with the choices kept."""
    try:
        draft = _draft(await request.post())
    except InputError as exc:
        return await _builder(request, Draft(), error=say(exc), status=400)
    return await _builder(request, draft)


def reach_line(reach: Reach) -> dict[str, Any]:
    return {"label": reach.label, "people": reach.people, "parts": reach.parts,
            "total": reach.people * reach.parts if reach.parts else None}


# ---------------------------------------------------------------------------- release actions
async def _refused(request: web.Request, release_id: int, exc: GongkaiError) -> web.StreamResponse:
    if isinstance(exc, Forbidden):
        return await forbidden(request, say(exc))
    return await redirect_with_flash(request, f"/console/releases/{release_id}", say(exc), "error")


@action(r"/console/releases/{release_id:\d+}/reschedule")
async def reschedule(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), int(request.match_info["release_id"])
    form = await request.post()
    try:
        due = parse_instant(str(form.get("at", "")), svc.settings.tz, now=svc.clock.now(), field="发布时刻")
        rel = await release_ops.reschedule(svc, request["who"], release_id, due_at=due)
    except GongkaiError as exc:
        return await _refused(request, release_id, exc)
    return await redirect_with_flash(request, f"/console/releases/{release_id}",
                                     f"发布计划 {rel.id} 改为 {_local(request, rel.due_at)} 发布")


@action(r"/console/releases/{release_id:\d+}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), int(request.match_info["release_id"])
    form = await request.post()
    try:
        rel = await release_ops.cancel(svc, request["who"], release_id, reason=str(form.get("reason", "")))
    except GongkaiError as exc:
        return await _refused(request, release_id, exc)
    return await redirect_with_flash(request, f"/console/releases/{release_id}",
                                     f"发布计划 {rel.id} 已取消，其中的稿件回到“已审核”")


@action(r"/console/releases/{release_id:\d+}/split")
async def split(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), int(request.match_info["release_id"])
    form = await request.post()
    try:
        done = await release_ops.split(svc, request["who"], release_id,
                                       confirm=release_ops.confirmed if form.get("confirmed") == "yes" else None)
    except GongkaiError as exc:
        if getattr(exc, "code", "") != CONFIRMATION_REQUIRED:
            return await _refused(request, release_id, exc)
        reach = await svc.split_reach(release_id, request["who"].login)
        return await render(request, "plan/confirm_split.html", release_id=release_id,
                            reach=[reach_line(r) for r in reach])
    return await redirect_with_flash(
        request, f"/console/releases/{done.release.id}",
        f"已拆分：已审核的稿件进入发布计划 {done.release.id}，立即发布；其余稿件仍在计划 {release_id} 中等待审核")
