"""发布计划: the month and week calendar, the bundle builder (with the confirmation a release
that texts or pushes to people needs), and the planning actions on a release (reschedule,
cancel, split). Every action is a POST form calling ``bot.ops.releases``; roles are checked
there."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from bot import labels
from bot.console.kit import action, render, redirect_with_flash, view
from bot.ops import calendar as calendar_ops
from bot.ops import releases as release_ops
from bot.ops import schedulable
from bot.timeparse import INSTANT_FORMS, parse_instant
from bot.web import SERVICE_KEY
from channels.base import Reach
from content.errors import GongkaiError, InputError
from schedules import plan_calendar

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
CONFIRMATION_REQUIRED = "confirmation_required"


def _svc(request: web.Request):  # noqa: ANN202
    return request.app[SERVICE_KEY]


def _local(request: web.Request):  # noqa: ANN202
    tz = _svc(request).settings.tz

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value is not None else ""
    return local


# ---------------------------------------------------------------------------- the calendar
@view("/console/plan/")
async def calendar_page(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    month, week = request.query.get("month"), request.query.get("week")
    try:
        cal = await calendar_ops.calendar(svc, request["who"], month=month, week=week)
    except InputError as exc:
        cal = await calendar_ops.calendar(svc, request["who"])
        return render(request, "plan/calendar.html", status=400, error=str(exc), **_calendar_ctx(request, cal))
    return render(request, "plan/calendar.html", **_calendar_ctx(request, cal))


def _calendar_ctx(request: web.Request, cal: plan_calendar.PlanCalendar) -> dict:
    span = cal.span
    focus = next((d.day for d in cal.days if d.today and d.in_focus), None) or \
        next(d.day for d in cal.days if d.in_focus)
    every = [n for n in (cal.days[0].notes if cal.days else ()) if n.day is None]
    return dict(cal=cal, span=span, weekday_names=WEEKDAY_NAMES, labels=labels, local=_local(request),
                zone=_svc(request).settings.bot.timezone, every_day=every,
                other_view=(("week", plan_calendar.week_of(focus), "周视图") if span.view == "month"
                            else ("month", plan_calendar.month_of(span.first + timedelta(days=3)), "月视图")),
                today_key=(plan_calendar.month_of if span.view == "month" else plan_calendar.week_of)(
                    _svc(request).clock.now().astimezone(cal.tz).date()),
                push_label=_push_label)


def _push_label(key: str) -> str:
    if key in ("", "none"):
        return ""
    kind, _, name = key.partition(":")
    return {"all": "群发给全部粉丝"}.get(key) or f"群发给{'标签' if kind == 'tag' else '名单'}“{name}”"


# ---------------------------------------------------------------------------- the builder
@dataclass
class Draft:
    """The builder's form as typed: kept across an error or the confirmation page."""

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


def _draft(form) -> Draft:  # noqa: ANN001 - a MultiDictProxy
    items = []
    for raw in form.getall("items", []):
        try:
            items.append(int(raw))
        except ValueError:
            raise InputError(f"稿件编号“{raw}”不是数字", field="items", fix="在列表中勾选稿件") from None
    return Draft(list(dict.fromkeys(items)), str(form.get("at", "")).strip(),
                 [str(c) for c in form.getall("channels", [])], str(form.get("push", "none")),
                 str(form.get("push_tag", "")))


async def _builder(request: web.Request, draft: Draft, *, error: str = "", status: int = 200,
                   item_id: int | None = None) -> web.StreamResponse:
    svc = _svc(request)
    query = request.query.get("q", "")
    found = await schedulable.choices(svc, request["who"], item_id=item_id, query=query)
    if item_id is not None and not draft.items:
        draft.items = list(found.preselected)
    wechat = getattr(svc.settings.channels, "wechat", None)
    lists = sorted(getattr(wechat, "push_lists", {}) or {}) if wechat is not None else []
    enabled = svc.enabled_channel_names()
    return render(request, "plan/new.html", status=status, draft=draft, choices=found, query=query,
                  error=error, channels=[(c, labels.channel(c)) for c in enabled],
                  chosen=set(draft.channels or enabled), push_lists=lists, labels=labels,
                  zone=svc.settings.bot.timezone, forms=INSTANT_FORMS,
                  wechat="wechat" in enabled)


@view("/console/plan/new")
async def builder_page(request: web.Request) -> web.StreamResponse:
    draft = Draft()
    if day := request.query.get("day", ""):
        draft.at = f"{day} 09:00"
    item_id = None
    if raw := request.query.get("item", ""):
        if not raw.isdigit():
            return await _builder(request, draft, error=f"稿件编号“{raw}”不是数字（修正：从稿件页打开排期）", status=400)
        item_id = int(raw)
    try:
        return await _builder(request, draft, item_id=item_id)
    except InputError as exc:
        return await _builder(request, draft, error=str(exc), status=400)


@action("/console/plan/new")
async def builder_submit(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    who = request["who"]
    form = await request.post()
    try:
        draft = _draft(form)
    except InputError as exc:
        return await _builder(request, Draft(), error=str(exc), status=400)
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
    except InputError as exc:
        if getattr(exc, "code", "") != CONFIRMATION_REQUIRED:
            return await _builder(request, draft, error=str(exc), status=400)
        reach = await release_ops.reach(svc, who, draft.items, channels=draft.channels, options=draft.options)
        return render(request, "plan/confirm.html", draft=draft, reach=[_reach_line(r) for r in reach],
                      due=_local(request)(due, "%Y-%m-%d %H:%M"), zone=svc.settings.bot.timezone,
                      channels=labels.channels(draft.channels), push_label=_push_label(draft.options.get("push", "")))
    rel = created.release
    message = (f"已创建发布计划 {rel.id}：稿件 {'、'.join(map(str, created.items))} 将于 "
               f"{_local(request)(rel.due_at)} 发往 {labels.channels(rel.channels)}")
    return redirect_with_flash(request, f"/console/releases/{rel.id}",
                               "；".join([message, *created.warnings]))


def _reach_line(reach: Reach) -> dict:
    return {"label": reach.label, "people": reach.people, "parts": reach.parts,
            "total": reach.people * reach.parts if reach.parts else None}


# ---------------------------------------------------------------------------- release actions
def _release_id(request: web.Request) -> int:
    return int(request.match_info["release_id"])


@action(r"/console/releases/{release_id:\d+}/reschedule")
async def reschedule(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), _release_id(request)
    form = await request.post()
    try:
        due = parse_instant(str(form.get("at", "")), svc.settings.tz, now=svc.clock.now(), field="发布时刻")
        rel = await release_ops.reschedule(svc, request["who"], release_id, due_at=due)
    except InputError as exc:
        return redirect_with_flash(request, f"/console/releases/{release_id}", str(exc), error=True)
    return redirect_with_flash(request, f"/console/releases/{release_id}",
                               f"发布计划 {rel.id} 改为 {_local(request)(rel.due_at)} 发布")


@action(r"/console/releases/{release_id:\d+}/cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), _release_id(request)
    form = await request.post()
    try:
        rel = await release_ops.cancel(svc, request["who"], release_id, reason=str(form.get("reason", "")))
    except InputError as exc:
        return redirect_with_flash(request, f"/console/releases/{release_id}", str(exc), error=True)
    return redirect_with_flash(request, f"/console/releases/{release_id}",
                               f"发布计划 {rel.id} 已取消，其中的稿件回到“已审核”")


@action(r"/console/releases/{release_id:\d+}/split")
async def split(request: web.Request) -> web.StreamResponse:
    svc, release_id = _svc(request), _release_id(request)
    form = await request.post()
    confirmed = form.get("confirmed") == "yes"
    try:
        done = await release_ops.split(svc, request["who"], release_id,
                                       confirm=release_ops.confirmed if confirmed else None)
    except GongkaiError as exc:
        if getattr(exc, "code", "") != CONFIRMATION_REQUIRED:
            if isinstance(exc, InputError) or type(exc).__name__ == "WorkflowError":
                return redirect_with_flash(request, f"/console/releases/{release_id}", str(exc), error=True)
            raise
        reach = await svc.split_reach(release_id, request["who"].login)
        return render(request, "plan/confirm_split.html", release_id=release_id,
                      reach=[_reach_line(r) for r in reach])
    return redirect_with_flash(
        request, f"/console/releases/{done.release.id}",
        f"已拆分：已审核的稿件进入发布计划 {done.release.id}，立即发布；其余稿件仍在计划 {release_id} 中等待审核")


ROUTES = [calendar_page, builder_page, builder_submit, reschedule, cancel, split]
