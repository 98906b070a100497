"""稿件 (``/console/items/``): the item list with filters and Chinese search, one item's page, and
submitting it. Writing (编辑) is in ``bot.console.item_form``, the channel previews (预览) in
``bot.console.item_preview``, the review page (审核) in ``bot.console.item_review``. Every action
calls ``bot.ops.items``."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from bot.console import kit
from bot.ops import items as ops
from content.accounts import Role
from content.errors import GongkaiError, InputError
from content.kinds import KINDS, STATE_LABELS, ItemState, Kind

PER_PAGE = 50
FILTERS = ("q", "state", "kind", "department", "column", "author", "since", "until")


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"日期 {value!r} 无效", field=name, fix="格式为 YYYY-MM-DD，如 2026-11-20") from None


def _cursor(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@kit.view("/console/items/")
async def item_list(request: web.Request) -> web.StreamResponse:
    q = {name: request.query.get(name, "").strip() for name in FILTERS}
    error = ""
    listing = None
    try:
        filters = ops.Filters(state=q["state"] or None, kind=q["kind"] or None,
                              department=q["department"] or None, column=q["column"] or None,
                              author=q["author"] or None, since=_day(q["since"], "since"),
                              until=_day(q["until"], "until"), text=q["q"])
        page = ops.Page(size=PER_PAGE, before=_cursor(request.query.get("before", "")),
                        after=_cursor(request.query.get("after", "")))
        listing = await ops.listing(kit.svc(request), kit.who(request), filters, page)
    except InputError as exc:
        error = kit.say(exc)
    kept = {k: v for k, v in q.items() if v}
    return await kit.render(
        request, "items/list.html", status=400 if error else 200, q=q, listing=listing, error=error,
        states=[(s.value, STATE_LABELS[s]) for s in ItemState],
        kinds=[(k.value, KINDS[k].label) for k in Kind],
        older=f"?{urlencode({**kept, 'before': listing.before})}" if listing and listing.before else "",
        newer=f"?{urlencode({**kept, 'after': listing.after})}" if listing and listing.after else "",
        can_write=kit.who(request).has(Role.AUTHOR))


@kit.view("/console/items/{item_id:\\d+}")
async def item_page(request: web.Request) -> web.StreamResponse:
    item_id = int(request.match_info["item_id"])
    detail = await ops.get(kit.svc(request), kit.who(request), item_id)
    return await kit.render(request, "items/item.html", d=detail, item=detail.item, cur=detail.current,
                            who_can=_can(request, detail))


def _can(request: web.Request, detail: ops.Detail) -> dict[str, bool]:
    """Which buttons to show (the ops functions decide again when one is pressed)."""
    me = kit.who(request)
    state = detail.item.state
    return {
        "edit": me.has(Role.AUTHOR) and state in {s.value for s in (
            ItemState.DRAFT, ItemState.RETURNED, ItemState.SUBMITTED, ItemState.APPROVED,
            ItemState.SCHEDULED, ItemState.PUBLISHED, ItemState.CORRECTED)},
        "submit": me.has(Role.AUTHOR) and detail.current.status in ("draft", "returned"),
        "review": (me.has(Role.REVIEWER) or me.has(Role.APPROVER)) and detail.current.status == "submitted",
        "schedule": me.has(Role.APPROVER) and state == ItemState.APPROVED.value,
    }


@kit.action("/console/items/{item_id:\\d+}/submit", roles=(Role.AUTHOR,))
async def item_submit(request: web.Request) -> web.StreamResponse:
    item_id = int(request.match_info["item_id"])
    back = f"/console/items/{item_id}"
    try:
        done = await ops.submit(kit.svc(request), kit.who(request), item_id)
    except GongkaiError as exc:
        raise await kit.redirect_with_flash(request, back, kit.say(exc), "error") from None
    text = f"稿件 {item_id} 已提交审核。"
    if done.findings:
        text += f"自动检查发现 {len(done.findings)} 个问题，审核人须修改或记录放行理由。"
    else:
        text += "自动检查全部通过。"
    raise await kit.redirect_with_flash(request, back, text, "info" if done.findings else "ok")
