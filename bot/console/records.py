"""发布记录: the list of releases and one release's page: its members, its planning actions
(reschedule, cancel, split: ``bot.console.plan``), and its deliveries per channel with their
attempts, receipts (links to what was published) and the actions ``delivery resolve`` offers,
as forms calling ``bot.ops.deliveries``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import labels
from bot.console.kit import action, forbidden, redirect_with_flash, render, say, view
from bot.console.plan import push_label
from bot.ops import deliveries as delivery_ops
from bot.ops import releases as release_ops
from content.errors import Forbidden, GongkaiError, NotFound
from content.models import Delivery
from schedules.releases import OPEN_STATES

STATE_CHOICES = ("pending", "held", "published", "cancelled")
ASK_SENT = ("unknown", "paused", "retry", "submitted")  # resolve --sent / --not-sent applies
PAGE = 50
MAX_LIMIT = 1000

if TYPE_CHECKING:
    from bot.service import Service


def _svc(request: web.Request) -> Service:
    return request["svc"]


@view("/console/releases/")
async def release_list(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    state = request.query.get("state") or None
    error = ""
    if state is not None and state not in STATE_CHOICES:
        error = f"未知状态“{state}”（修正：从列表上方的状态中选择）"
        state = None
    raw = request.query.get("limit", "")
    limit = min(int(raw), MAX_LIMIT) if raw.isdigit() and int(raw) > 0 else PAGE
    try:
        listed = await release_ops.listing(svc, request["who"], state=state, limit=limit + 1)
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    more = len(listed) > limit
    listed = listed[:limit]
    return await render(request, "plan/releases.html", status=400 if error else 200, listed=listed, state=state,
                  states=[(s, labels.release_state(s)) for s in STATE_CHOICES], labels=labels,
                  zone=svc.settings.bot.timezone, error=error, more=more, limit=limit)


def receipt_links(receipt: Any) -> list[str]:
    """The http(s) addresses a channel put in its receipt (the published page or article); any
    other scheme (``javascript:``) is never made a link."""
    if not isinstance(receipt, dict):
        return []
    found = ([receipt["url"]] if isinstance(receipt.get("url"), str) else []) + \
        [u for u in receipt.get("urls") or [] if isinstance(u, str)]
    return [u for u in dict.fromkeys(found) if u.startswith(("https://", "http://"))]


def receipt_facts(receipt: Any) -> list[str]:
    """What else the receipt says, for a person (message ids, posts), without the links."""
    if not isinstance(receipt, dict):
        return []
    facts = []
    names = {"msg_id": "群发消息编号", "publish_id": "发布编号", "article_id": "文章编号", "push": "群发对象"}
    for key, name in names.items():
        if receipt.get(key):
            facts.append(f"{name}：{receipt[key]}")
    for post in receipt.get("posts") or []:
        if isinstance(post, dict):
            facts.append(f"稿件 {post.get('item')} → 微博 {post.get('idstr') or '（编号未知）'}")
    return facts


def _actions(d: Delivery) -> str:
    if d.state in ASK_SENT:
        return "ask"
    return "close" if d.state == "failed" else ""


@view(r"/console/releases/{release_id:\d+}")
async def release_page(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    try:
        shown = await release_ops.show(svc, request["who"], int(request.match_info["release_id"]))
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    except NotFound as exc:
        return await render(request, "plan/missing.html", status=404, reason=say(exc))
    rel = shown.release
    deliveries = [{"d": d, "state": labels.delivery_state(d.state), "links": receipt_links(d.receipt),
                   "facts": receipt_facts(d.receipt), "actions": _actions(d),
                   "summary": (d.progress or {}).get("summary") if isinstance(d.progress, dict) else "",
                   "attempts": [a for a in shown.attempts if a.delivery_id == d.id]} for d in shown.deliveries]
    local = svc.renderer.local
    return await render(request, "plan/release.html", shown=shown, rel=rel, deliveries=deliveries, labels=labels,
                  zone=svc.settings.bot.timezone, open=rel.state in OPEN_STATES,
                  held=rel.state == "held", at_value=local(rel.due_at),
                  push=push_label(str((rel.options or {}).get("push") or "")),
                  draining=[e.line(lambda t: local(t)) for e in shown.draining])


@action(r"/console/deliveries/{delivery_id:\d+}/resolve")
async def resolve(request: web.Request) -> web.StreamResponse:
    svc = _svc(request)
    delivery_id = int(request.match_info["delivery_id"])
    form = await request.post()
    back = str(form.get("back", ""))
    back = back if back.isdigit() else ""
    outcome = str(form.get("outcome", ""))
    note = str(form.get("note", "")).strip()
    where = f"/console/releases/{back}" if back else "/console/releases/"
    choice = {"sent": {"sent": True}, "not_sent": {"sent": False}, "done": {"done": True}}.get(outcome)
    if choice is None:
        return await redirect_with_flash(request, where, "请选择处理结果：已送达、未送达（重新发送）或已人工处理", "error")
    try:
        done = await delivery_ops.resolve(svc, request["who"], delivery_id, note=note, **choice)
    except Forbidden as exc:
        return await forbidden(request, say(exc))
    except GongkaiError as exc:
        return await redirect_with_flash(request, where, say(exc), "error")
    return await redirect_with_flash(request, where, f"投递 {done.id} 已标记为“{labels.delivery_state(done.state)}”")

