"""Events: what happened, recorded in the caller's transaction, with one webhook delivery owed
to each enabled endpoint that subscribed to it.

``emit(session, "item.approved", {...}, now=now)`` is all a caller writes. The event and its
deliveries commit or roll back with the change they report, so a webhook never announces what
did not happen and never misses what did. Deliveries are unique per (endpoint, event): however
many nodes or retries handle them, each endpoint is sent each event once (a receiver that gets
one twice after a crash can deduplicate by the event id).
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from content.webhook_models import Event, WebhookDelivery, WebhookEndpoint

#: Every event name, with what it means to staff (shown by ``gongkai webhook add --help``).
EVENT_LABELS = {
    "item.submitted": "稿件提交审核",
    "item.approved": "稿件审核通过",
    "item.returned": "稿件被退回",
    "release.created": "新建发布计划",
    "release.fired": "发布计划已发布",
    "release.held": "发布计划已暂停（成员未审核）",
    "delivery.sent": "渠道投递成功",
    "delivery.failed": "渠道投递失败",
    "delivery.unknown": "渠道投递结果未知",
    "obligation.warning": "时限义务即将到期",
    "obligation.missed": "时限义务已超期",
}
EVENT_NAMES = tuple(EVENT_LABELS)
ALL = "*"
#: Sent only to the endpoint being tested (``gongkai webhook test``); nobody subscribes to it.
TEST_EVENT = "webhook.test"
BULK = 1000  # rows per statement when many are recorded at once


def _plain(value: Any) -> Any:
    """JSON for the payload: instants in UTC ISO form, dates ISO, tuples and sets as lists."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"event payloads hold JSON values, not {type(value).__name__}")


def subscribed(events: list[str], name: str) -> bool:
    return ALL in events or name in events


def _insert(session: AsyncSession):  # noqa: ANN202
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def emit(session: AsyncSession, name: str, payload: dict[str, Any], *, now: datetime,
               once: str | None = None, endpoint_id: int | None = None) -> str | None:
    """Record event ``name`` and the webhook deliveries it owes; returns the event id.

    ``once`` makes the event happen at most once under that key (returns None when it already
    has: nothing is recorded again). ``endpoint_id`` sends it to that endpoint only, subscribed
    or not (the test event)."""
    if name not in EVENT_LABELS and name != TEST_EVENT:
        raise ValueError(f"unknown event {name!r}; add it to content.events.EVENT_LABELS")
    data = json.loads(json.dumps(payload, ensure_ascii=False, default=_plain))
    event_id = str(uuid.uuid4())
    insert = _insert(session)
    statement = insert(Event).values(id=event_id, name=name, payload=data, at=now, once_key=once)
    if once is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["once_key"])
    result = await session.execute(statement)
    if once is not None and not result.rowcount:  # type: ignore[attr-defined]
        return None
    query = select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.enabled.is_(True))
    if endpoint_id is not None:
        query = select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.id == endpoint_id)
    rows = [dict(endpoint_id=eid, event_id=event_id, state="pending", attempts=0, next_attempt_at=now,
                 created_at=now, updated_at=now)
            for eid, events in await session.execute(query)
            if endpoint_id is not None or subscribed(list(events or ()), name)]
    if rows:
        await session.execute(insert(WebhookDelivery).values(rows).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"]))
    return event_id


async def happened(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of the once-keys ``keys`` an event was recorded under already."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(k for k in await session.scalars(select(Event.once_key).where(
            Event.once_key.in_(keys[start:start + 500]))) if k)
    return found


async def emit_once_many(session: AsyncSession, owed: Sequence[tuple[str, dict[str, Any], str]], *,
                         now: datetime) -> list[str | None]:
    """``emit(session, name, payload, now=now, once=key)`` for each ``(name, payload, key)`` of
    ``owed``, in order, in a few statements for all of them (a sweep may owe thousands): returns
    each event id, or None where the key had happened already (before, or earlier in ``owed``)."""
    for name, _, _ in owed:
        if name not in EVENT_LABELS:
            raise ValueError(f"unknown event {name!r}; add it to content.events.EVENT_LABELS")
    rows, seen = [], set()
    for name, payload, once in owed:
        if once not in seen:
            seen.add(once)
            rows.append(dict(id=str(uuid.uuid4()), name=name, at=now, once_key=once,
                             payload=json.loads(json.dumps(payload, ensure_ascii=False, default=_plain))))
    table = Event.__table__
    statement = _insert(session)(table).on_conflict_do_nothing(index_elements=["once_key"]).returning(table.c.id)
    made: set[str] = set()
    for start in range(0, len(rows), BULK):
        made.update(await session.scalars(statement, rows[start:start + BULK]))
    ids = {r["once_key"]: r["id"] for r in rows if r["id"] in made}
    if made:
        endpoints = list(await session.execute(select(WebhookEndpoint.id, WebhookEndpoint.events)
                                               .where(WebhookEndpoint.enabled.is_(True))))
        deliveries = [dict(endpoint_id=eid, event_id=r["id"], state="pending", attempts=0, next_attempt_at=now,
                           created_at=now, updated_at=now)
                      for r in rows if r["id"] in made
                      for eid, events in endpoints if subscribed(list(events or ()), r["name"])]
        deliveries_table = WebhookDelivery.__table__
        for start in range(0, len(deliveries), BULK):
            await session.execute(_insert(session)(deliveries_table).on_conflict_do_nothing(
                index_elements=["endpoint_id", "event_id"]), deliveries[start:start + BULK])
    return [ids.pop(once, None) for _, _, once in owed]  # a key repeated in ``owed`` happens once


def item_data(item: Any, rev: Any, actor: str, **more: Any) -> dict[str, Any]:
    """The payload of an ``item.*`` event: the item, its revision (and whether it corrects a
    published one), kind, title, department and state, who acted, and what else the step says."""
    correction = item.published_revision is not None and rev.number != item.published_revision
    return {"item": item.id, "revision": rev.number, "correction": correction, "kind": item.kind,
            "title": rev.title, "department": rev.department, "state": item.state, "actor": actor, **more}


def release_data(release: Any, items: Iterable[Any] = (), **more: Any) -> dict[str, Any]:
    """The payload of a ``release.*`` event: the release, its purpose, instant and channels,
    its items (ids, or rows with an ``id``) and what else the step says."""
    return {"release": release.id, "purpose": release.purpose, "due_at": release.due_at,
            "channels": list(release.channels), "created_by": release.created_by,
            "items": [getattr(i, "id", i) for i in items], **more}


def delivery_data(delivery: Any, detail: str = "") -> dict[str, Any]:
    """The payload of a ``delivery.*`` event: the delivery, its release and channel, its state,
    attempts and what the channel said."""
    return {"delivery": delivery.id, "release": delivery.release_id, "channel": delivery.channel,
            "state": delivery.state, "attempts": delivery.attempts, "detail": detail[:1000]}


async def recent(session: AsyncSession, limit: int = 50) -> list[Event]:
    return list(await session.scalars(select(Event).order_by(Event.at.desc()).limit(limit)))
