"""Webhook (``/console/webhooks/``): administrators register the URLs other systems want events
POSTed to (the signing secret is shown once, on the page that answers the form, and never
again), test, enable, disable and remove them; administrators and auditors see each endpoint's
recent deliveries. Every action is a call to ``bot.ops.webhooks``."""
from __future__ import annotations

from aiohttp import web

from bot.console import kit
from bot.ops import webhooks as ops
from content.accounts import Role
from content.errors import GongkaiError
from content.events import ALL, EVENT_LABELS
from content.webhooks import DELIVERY_LABELS

READERS = (Role.ADMIN, Role.AUDITOR)
HOME = "/console/webhooks/"


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None


async def _page(request: web.Request, *, status: int = 200, **ctx: object) -> web.StreamResponse:
    found = await ops.listing(kit.svc(request), kit.who(request))
    ctx.setdefault("error", "")
    ctx.setdefault("form", {"url": "", "events": []})
    return await kit.render(request, "webhooks.html", status=status, endpoints=found, event_labels=EVENT_LABELS,
                            all_events=ALL, **ctx)


@kit.view(HOME, roles=READERS)
async def webhooks_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@kit.action(HOME + "add", roles=(Role.ADMIN,))
async def webhook_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    url = str(form.get("url", ""))
    events = [str(e) for e in form.getall("events", [])]
    try:
        made = await ops.add(kit.svc(request), kit.who(request), url, events)
    except GongkaiError as exc:
        return await _page(request, status=400, error=kit.say(exc), form={"url": url, "events": events})
    # answered here, not through a flash message: the secret is never stored outside its row
    return await _page(request, created=made.endpoint, secret=made.secret)


@kit.action(HOME + "{id}/test", roles=(Role.ADMIN,))
async def webhook_test(request: web.Request) -> web.StreamResponse:
    endpoint_id = _id(request)
    d = await ops.test(kit.svc(request), kit.who(request), endpoint_id)
    if d.state == "sent":
        text, kind = f"测试事件已送达 Webhook {endpoint_id}（HTTP {d.last_status}）", "ok"
    else:
        text, kind = f"测试事件未送达 Webhook {endpoint_id}：{ops.why(d)}", "error"
    raise await kit.redirect_with_flash(request, f"{HOME}{endpoint_id}", text, kind)


@kit.action(HOME + "{id}/enable", roles=(Role.ADMIN,))
async def webhook_enable(request: web.Request) -> web.StreamResponse:
    ep = await ops.set_enabled(kit.svc(request), kit.who(request), _id(request), True)
    raise await kit.redirect_with_flash(request, HOME, f"Webhook {ep.id} 已启用")


@kit.action(HOME + "{id}/disable", roles=(Role.ADMIN,))
async def webhook_disable(request: web.Request) -> web.StreamResponse:
    ep = await ops.set_enabled(kit.svc(request), kit.who(request), _id(request), False)
    raise await kit.redirect_with_flash(request, HOME, f"Webhook {ep.id} 已停用")


@kit.action(HOME + "{id}/remove", roles=(Role.ADMIN,))
async def webhook_remove(request: web.Request) -> web.StreamResponse:
    ep = await ops.remove(kit.svc(request), kit.who(request), _id(request))
    raise await kit.redirect_with_flash(request, HOME, f"已删除 Webhook {ep.id}：{ep.url}")


@kit.view(HOME + "{id}", roles=READERS)
async def webhook_deliveries(request: web.Request) -> web.StreamResponse:
    service, who, endpoint_id = kit.svc(request), kit.who(request), _id(request)
    try:
        endpoint = next(e for e in await ops.listing(service, who) if e.id == endpoint_id)
    except StopIteration:
        raise web.HTTPNotFound(text=f"Webhook {endpoint_id} 不存在") from None
    found = await ops.deliveries(service, who, endpoint_id, limit=50)
    return await kit.render(request, "webhook_deliveries.html", endpoint=endpoint, deliveries=found,
                            state_labels=DELIVERY_LABELS, all_events=ALL)
