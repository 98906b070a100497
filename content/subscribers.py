"""Subscribers of push channels (SMS numbers, WeChat followers) and the topics they follow.

Fan-out never loads the whole list: :func:`stream` pages through the matching active
subscribers by id (keyset pagination), so memory stays flat however many there are.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select, text
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


async def count(store: Store, channel: str, topics: Iterable[str]) -> int:
    """How many active subscribers of ``channel`` follow any of ``topics`` (what :func:`stream`
    would yield)."""
    wanted = sorted(set(topics))
    follows = exists().where(SubscriberTopic.subscriber_id == Subscriber.id, SubscriberTopic.topic.in_(wanted))
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count(Subscriber.id)).where(
            Subscriber.channel == channel, Subscriber.status == "active", follows)) or 0)


async def stream(store: Store, channel: str, topics: Iterable[str], *, after_id: int = 0,
                 page_size: int = 1000) -> AsyncIterator[list[Recipient]]:
    """Active subscribers of ``channel`` following any of ``topics``, in id order, one page at
    a time, starting after ``after_id`` (to resume a fan-out).

    The topic test is a correlated ``EXISTS``: SQLite and PostgreSQL both run it as one index
    lookup per subscriber, so each page costs the same however far the fan-out has got (an
    ``IN (subquery)`` re-reads every follower of the topics for each page: quadratic over a
    million subscribers — 129 s on SQLite, 66 s on PostgreSQL, against 2–4 s)."""
    wanted = sorted(set(topics))
    last = after_id
    while True:
        # "subscriber_id > last" repeated inside EXISTS lets PostgreSQL's merge semi-join start
        # its scan of subscriber_topics at the page instead of at the first subscriber.
        follows = exists().where(SubscriberTopic.subscriber_id == Subscriber.id, SubscriberTopic.subscriber_id > last,
                                 SubscriberTopic.topic.in_(wanted))
        async with store.engine.connect() as conn:  # a plain connection: pages are read a thousand times
            if conn.dialect.name == "postgresql":  # plan for this page, not a cached generic plan
                await conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            rows = (await conn.execute(
                select(Subscriber.id, Subscriber.address)
                .where(Subscriber.channel == channel, Subscriber.status == "active", Subscriber.id > last, follows)
                .order_by(Subscriber.id).limit(page_size))).all()
        if not rows:
            return
        yield [Recipient(i, a) for i, a in rows]
        last = rows[-1][0]
        if len(rows) < page_size:
            return
