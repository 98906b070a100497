"""Subscribers of push channels (SMS numbers, WeChat followers) and the topics they follow.

Fan-out never loads the whole list: :func:`stream` pages through the matching active
subscribers by id (keyset pagination), so memory stays flat however many there are.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.db import Store
from content.models import Subscriber, SubscriberTopic

STATUSES = ("pending", "active", "unsubscribed", "blocked", "inactive")


@dataclass(frozen=True)
class Recipient:
    id: int
    address: str


async def get(session: AsyncSession, channel: str, address: str) -> Subscriber | None:
    return await session.scalar(select(Subscriber).where(
        Subscriber.channel == channel, Subscriber.address == address))


async def upsert(session: AsyncSession, channel: str, address: str, *, now: datetime,
                 status: str, topics: Iterable[str] | None = None, source: str = "",
                 consent_method: str = "", consent_from: str = "",
                 meta: dict | None = None) -> Subscriber:
    """Create or update a subscriber; ``topics`` (when given) replaces their topics."""
    if status not in STATUSES:
        raise ValueError(f"unknown subscriber status {status!r}")
    sub = await get(session, channel, address)
    if sub is None:
        sub = Subscriber(channel=channel, address=address, status=status, source=source,
                         consent_method="", consent_from="", created_at=now, updated_at=now,
                         meta=dict(meta or {}))
        session.add(sub)
        await session.flush()
    else:
        sub.status = status
        sub.updated_at = now
        if source:
            sub.source = source
        if meta:
            sub.meta = {**(sub.meta or {}), **meta}
    if status == "active" and consent_method:
        sub.consent_at, sub.consent_method, sub.consent_from = now, consent_method, consent_from
    if status == "unsubscribed":
        sub.unsubscribed_at = now
    if topics is not None:
        await set_topics(session, sub.id, topics)
    return sub


async def set_topics(session: AsyncSession, subscriber_id: int, topics: Iterable[str]) -> None:
    await session.execute(delete(SubscriberTopic).where(SubscriberTopic.subscriber_id == subscriber_id))
    for topic in dict.fromkeys(t.strip() for t in topics if t and t.strip()):
        session.add(SubscriberTopic(subscriber_id=subscriber_id, topic=topic))


async def topics_of(session: AsyncSession, subscriber_id: int) -> list[str]:
    return list(await session.scalars(select(SubscriberTopic.topic).where(
        SubscriberTopic.subscriber_id == subscriber_id).order_by(SubscriberTopic.topic)))


async def set_status(session: AsyncSession, channel: str, address: str, status: str, *,
                     now: datetime) -> Subscriber | None:
    sub = await get(session, channel, address)
    if sub is not None:
        sub.status = status
        sub.updated_at = now
        if status == "unsubscribed":
            sub.unsubscribed_at = now
    return sub


async def stream(store: Store, channel: str, topics: Iterable[str], *, after_id: int = 0,
                 page_size: int = 1000) -> AsyncIterator[list[Recipient]]:
    """Active subscribers of ``channel`` following any of ``topics``, in id order, one page at
    a time, starting after ``after_id`` (to resume a fan-out)."""
    wanted = sorted(set(topics))
    last = after_id
    while True:
        async with store.sessions() as session:
            rows = list(await session.execute(
                select(Subscriber.id, Subscriber.address)
                .where(Subscriber.channel == channel, Subscriber.status == "active",
                       Subscriber.id > last,
                       Subscriber.id.in_(select(SubscriberTopic.subscriber_id)
                                         .where(SubscriberTopic.topic.in_(wanted))))
                .order_by(Subscriber.id).limit(page_size)))
        if not rows:
            return
        yield [Recipient(i, a) for i, a in rows]
        last = rows[-1][0]
        if len(rows) < page_size:
            return
