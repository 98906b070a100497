"""Many subscribers at once (an import): batched ``INSERT … ON CONFLICT`` upserts, one
transaction per chunk, on SQLite and PostgreSQL.

A row that would change nothing is not written at all, so importing the same list twice changes
nothing the second time. A number that unsubscribed or was blocked is never made active again by
an import (only its owner can subscribe again); the upsert's ``WHERE`` enforces this even when
the number changed between the read and the write."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from content.db import Store
from content.models import Subscriber, SubscriberTopic
from content.sqlin import among, connection_transaction, insert_many, is_postgresql

OPTED_OUT = ("unsubscribed", "blocked")
SEPARATOR = "\x1f"  # joins a subscriber's topics in one column (a control character no topic has)


@dataclass(frozen=True)
class Incoming:
    """One subscriber to import: already validated (normalised address, known topics)."""

    line: int
    address: str
    topics: tuple[str, ...]
    source: str
    consent_detail: str


class Change(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # unsubscribed or blocked: an import does not subscribe them again


@dataclass(frozen=True)
class Refusal:
    row: Incoming
    status: str


@dataclass(frozen=True)
class Applied:
    counts: dict[Change, int]
    refused: tuple[Refusal, ...]


async def upsert_chunk(store: Store, channel: str, rows: Sequence[Incoming], *, now: datetime,
                       consent_method: str, consent_from: str) -> Applied:
    """Add or update ``rows`` (distinct addresses) as active subscribers in one transaction.
    Topics given replace the subscriber's topics."""
    if not rows:
        return Applied(dict.fromkeys(Change, 0), ())
    return await connection_transaction(store, lambda conn: _apply(
        conn, channel, rows, now=now, consent_method=consent_method, consent_from=consent_from), "import subscribers")


async def _apply(conn: AsyncConnection, channel: str, rows: Sequence[Incoming], *, now: datetime,
                 consent_method: str, consent_from: str) -> Applied:
    addresses = [r.address for r in rows]
    joined = (func.string_agg if is_postgresql(conn) else func.group_concat)(SubscriberTopic.topic, SEPARATOR)
    topics = select(joined).where(SubscriberTopic.subscriber_id == Subscriber.id).scalar_subquery()
    found: dict[str, tuple[int, str, str, str]] = {}
    followed: dict[int, set[str]] = {}
    for i, a, status, source, detail, listed in await conn.execute(
            select(Subscriber.id, Subscriber.address, Subscriber.status, Subscriber.source, Subscriber.consent_detail,
                   topics).where(Subscriber.channel == channel, among(conn, Subscriber.address, addresses))):
        found[a] = (i, status, source, detail)
        followed[i] = set(listed.split(SEPARATOR)) if listed else set()
    counts = dict.fromkeys(Change, 0)
    refused: list[Refusal] = []
    write: list[Incoming] = []
    retopic: list[int] = []
    for row in rows:
        old = found.get(row.address)
        if old is None:
            counts[Change.ADDED] += 1
            write.append(row)
            continue
        sid, status, source, detail = old
        if status in OPTED_OUT:
            counts[Change.REFUSED] += 1
            refused.append(Refusal(row, status))
            continue
        same_topics = followed.get(sid, set()) == set(row.topics)
        if status == "active" and same_topics and source == row.source and detail == row.consent_detail:
            counts[Change.UNCHANGED] += 1
            continue
        counts[Change.UPDATED] += 1
        write.append(row)
        if not same_topics:
            retopic.append(sid)
    if write:
        table = cast(Table, Subscriber.__table__)  # declared as FromClause by SQLAlchemy's stubs

        def upsert(stmt):  # noqa: ANN001, ANN202
            return stmt.on_conflict_do_update(
                index_elements=["channel", "address"],
                set_={"status": "active", "source": stmt.excluded.source, "consent_at": stmt.excluded.consent_at,
                      "consent_method": stmt.excluded.consent_method, "consent_from": stmt.excluded.consent_from,
                      "consent_detail": stmt.excluded.consent_detail, "updated_at": stmt.excluded.updated_at},
                where=and_(*(table.c.status != status for status in OPTED_OUT)))  # no IN list: executemany

        await insert_many(conn, table, [{"address": r.address, "source": r.source, "consent_detail": r.consent_detail}
                                        for r in write],
                          {"channel": channel, "status": "active", "consent_at": now, "consent_method": consent_method,
                           "consent_from": consent_from, "created_at": now, "updated_at": now, "meta": {}}, upsert)
        if retopic:
            await conn.execute(delete(SubscriberTopic).where(among(conn, SubscriberTopic.subscriber_id, retopic)))
        ids = {a: v[0] for a, v in found.items()}
        new = [r.address for r in write if r.address not in found]
        if new:
            ids.update(dict(list(await conn.execute(select(Subscriber.address, Subscriber.id).where(
                Subscriber.channel == channel, among(conn, Subscriber.address, new))))))
        changed = set(retopic)
        topic_rows = [{"subscriber_id": ids[r.address], "topic": t} for r in write
                      if r.address not in found or ids[r.address] in changed for t in r.topics]
        if topic_rows:
            await insert_many(conn, cast(Table, SubscriberTopic.__table__), topic_rows, {},
                              lambda stmt: stmt.on_conflict_do_nothing())
    return Applied(counts, tuple(refused))
