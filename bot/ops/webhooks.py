"""Webhook endpoints (administrators): add, list, enable, disable, remove, test-send and the
recent deliveries of one. Auditors may read the list and the deliveries. The secret is
returned by :func:`add` only, shown once."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.ops import Who, require
from content import audit, webhooks
from content.accounts import Role
from content.errors import GongkaiError
from content.events import TEST_EVENT, emit
from content.webhook_models import WebhookDelivery
from content.webhooks import DeliveryView, EndpointView, Registered

if TYPE_CHECKING:
    from bot.service import Service

READERS = (Role.ADMIN, Role.AUDITOR)


async def add(svc: Service, who: Who, url: str, events: Sequence[str]) -> Registered:
    require(who, Role.ADMIN, action="管理 Webhook")
    url = webhooks.check_url(url)
    chosen = webhooks.parse_events(",".join(events))
    return await svc.store.transaction(lambda s: webhooks.register(
        s, url, chosen, actor=who.login, now=svc.clock.now()), what="add webhook")


async def listing(svc: Service, who: Who) -> list[EndpointView]:
    require(who, *READERS, action="查看 Webhook")
    async with svc.store.sessions() as s:
        return await webhooks.listing(s)


async def remove(svc: Service, who: Who, endpoint_id: int) -> EndpointView:
    require(who, Role.ADMIN, action="管理 Webhook")
    return await svc.store.transaction(lambda s: webhooks.remove(
        s, endpoint_id, actor=who.login, now=svc.clock.now()), what="remove webhook")


async def set_enabled(svc: Service, who: Who, endpoint_id: int, enabled: bool) -> EndpointView:
    require(who, Role.ADMIN, action="管理 Webhook")
    return await svc.store.transaction(lambda s: webhooks.set_enabled(
        s, endpoint_id, enabled, actor=who.login, now=svc.clock.now()), what="enable webhook")


async def deliveries(svc: Service, who: Who, endpoint_id: int, limit: int = 20) -> list[DeliveryView]:
    require(who, *READERS, action="查看 Webhook")
    async with svc.store.sessions() as s:
        return await webhooks.deliveries(s, endpoint_id, limit)


def why(d: DeliveryView) -> str:
    """Why a test delivery was not sent: what its attempt met (the receiver's answer, a refused
    connection), for the page or terminal that asked."""
    last = d.history[-1].error if d.history else None
    return last or d.last_error or webhooks.DELIVERY_LABELS.get(d.state, d.state)


async def test(svc: Service, who: Who, endpoint_id: int) -> DeliveryView:
    """Send a ``webhook.test`` event to this endpoint now (enabled or not), once, and return the
    delivery with its attempt: what the receiver answered. The delivery is made already claimed
    by this call, so a running bot's sender never sends it too."""
    from bot.webhook_sender import WebhookSender, claim

    require(who, Role.ADMIN, action="管理 Webhook")
    sender = WebhookSender(svc.store, svc.clock, svc.settings.delivery, f"test-{svc.settings.node}")

    async def txn(s):  # noqa: ANN001, ANN202
        endpoint = await webhooks.get(s, endpoint_id)
        now = svc.clock.now()
        event_id = await emit(s, TEST_EVENT, {"endpoint": endpoint.id, "by": who.login}, now=now,
                              endpoint_id=endpoint.id)
        audit.record(s, at=now, actor=who.login, action="webhook_tested", endpoint=endpoint.id,
                     event_id=event_id)
        delivery_id = await s.scalar(select(WebhookDelivery.id).where(WebhookDelivery.event_id == event_id))
        return await claim(s, now=now, node=sender.node, lease_seconds=svc.settings.delivery.lease_seconds,
                           limit=1, delivery_id=delivery_id)

    [taken] = await svc.store.transaction(txn, what="test webhook")
    try:
        await sender.send(taken, max_attempts=1)
    finally:
        await sender.close()
    async with svc.store.sessions() as s:
        found = [d for d in await webhooks.deliveries(s, endpoint_id, limit=50) if d.id == taken.delivery_id]
    if not found:
        raise GongkaiError(f"Webhook {endpoint_id} 在测试期间被删除", fix="用 gongkai webhook list 查看")
    return found[0]
