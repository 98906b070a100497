"""What the fan-out writes: batches in flight (``sms_batches``) and per-number results
(``delivery_recipients``).

Before a batch is sent, a row with its numbers is written (the intent). The provider's answer
writes one result row per number and removes the batch row, in one transaction. After a crash,
the batch rows left are exactly the batches that were in flight."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, delete, func, literal, select, text, update

from channels.sms.message import Message
from channels.sms.models import SmsBatch
from channels.sms.providers.base import NumberResult
from content.db import Store
from content.models import DeliveryRecipient, Subscriber
from content.sqlin import among, connection_transaction, insert_for, is_postgresql
from content import subscribers
from content.subscribers import Recipient
from content.topics import release_topics
from content.views import ItemView

CHUNK = 900  # numbers per IN (...) list, below every backend's parameter limit


def _chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


_insert = insert_for
_transaction = connection_transaction


@dataclass(frozen=True)
class InFlight:
    batch: int
    provider: str
    mode: str  # batch (one call for all) | single (one call per number)
    since: datetime
    numbers: tuple[Recipient, ...]  # those without a result row


class Outcome(NamedTuple):
    """The result row of one number: ``status`` sent | skipped | failed | unknown."""

    phone: str
    status: str
    remote_id: str = ""
    detail: str = ""


def outcomes(results: Sequence[NumberResult], provider_label: str) -> list[Outcome]:
    sent = f"已提交{provider_label}"
    return [Outcome(r.phone, r.status, r.remote_id,
                    sent if r.status == "sent" else f"{r.code} {r.message}".strip()[:500])
            for r in results]


async def start_batch(store: Store, delivery_id: int, batch: int, numbers: Sequence[Recipient],
                      provider: str, now: datetime, mode: str = "batch") -> None:
    """The intent: this batch, these numbers, this provider, from now. Written again (same row,
    same numbers) when the batch is resent or sent number by number."""
    async def work(s):  # noqa: ANN001, ANN202
        row = {"delivery_id": delivery_id, "batch": batch, "provider": provider, "mode": mode,
               "numbers": [[r.id, r.address] for r in numbers], "hi": max(r.id for r in numbers), "started_at": now}
        stmt = _insert(s)(SmsBatch.__table__).values(**row)
        await s.execute(stmt.on_conflict_do_update(index_elements=["delivery_id", "batch"],
                                                   set_={"provider": provider, "mode": mode, "started_at": now}))

    await _transaction(store, work, what="record SMS batch intent")


async def abandon_batch(store: Store, delivery_id: int, batch: int) -> None:
    """The call was refused before acting: nothing was sent; the numbers stay unrecorded."""
    async def work(s):  # noqa: ANN001, ANN202
        await s.execute(delete(SmsBatch.__table__).where(SmsBatch.delivery_id == delivery_id, SmsBatch.batch == batch))

    await _transaction(store, work, what="abandon SMS batch")


async def record(store: Store, delivery_id: int, batch: int, numbers: Sequence[Recipient],
                 results: Sequence[Outcome], now: datetime, *, finish: bool = True,
                 durable: bool = True) -> None:
    """Write the numbers' results and (with ``finish``) remove the batch's intent, in one
    transaction. Numbers with the same result (a whole Aliyun call shares one BizId) are copied
    from the subscribers table by one statement; the others are written row by row.
    ``durable=False`` lets PostgreSQL acknowledge the commit before it reaches the disk: safe
    here, since a lost commit leaves the intent, which a status query settles later."""
    table = DeliveryRecipient.__table__
    ids = {r.address: r.id for r in numbers}
    groups: dict[tuple[str, str, str], list[str]] = {}
    for o in results:
        groups.setdefault((o.status, o.remote_id, o.detail), []).append(o.phone)
    columns = ["delivery_id", "subscriber_id", "address", "batch", "status", "remote_id", "detail", "updated_at"]

    def upsert(stmt):  # noqa: ANN001, ANN202
        # A row already there is either an "unknown" number being resent (overwritten) or one
        # whose delivery report arrived before this answer was written (kept).
        return stmt.on_conflict_do_update(
            index_elements=["delivery_id", "address"],
            set_={"status": stmt.excluded.status, "remote_id": stmt.excluded.remote_id,
                  "detail": stmt.excluded.detail, "updated_at": stmt.excluded.updated_at,
                  "batch": stmt.excluded.batch},
            where=table.c.status == "unknown")

    async def work(s):  # noqa: ANN001, ANN202
        if not durable and is_postgresql(s):
            await s.execute(text("SET LOCAL synchronous_commit = off"))
        maker = _insert(s)
        singles = []
        for (status, remote_id, detail), phones in groups.items():
            known = [ids[p] for p in phones if p in ids]
            if len(phones) == 1 or len(known) < len(phones):
                singles += [{"delivery_id": delivery_id, "subscriber_id": ids.get(p), "address": p, "batch": batch,
                             "status": status, "remote_id": remote_id, "detail": detail, "updated_at": now}
                            for p in phones]
                continue
            for part in _chunks(known):
                rows = select(literal(delivery_id), Subscriber.id, Subscriber.address, literal(batch),
                              literal(status), literal(remote_id), literal(detail),
                              literal(now, table.c.updated_at.type)).where(among(s, Subscriber.id, part))
                await s.execute(upsert(maker(table).from_select(columns, rows)))
        if singles:
            await s.execute(upsert(maker(table)), singles)
        if finish:
            await s.execute(delete(SmsBatch.__table__).where(SmsBatch.delivery_id == delivery_id,
                                                             SmsBatch.batch == batch))

    await _transaction(store, work, what="record SMS results")


async def in_flight(store: Store, delivery_id: int) -> list[InFlight]:
    """Batches whose intent is recorded but not their results, with the numbers of each that
    have no result row yet (a batch sent number by number may be partly recorded)."""
    async with store.sessions() as s:
        rows = list(await s.scalars(select(SmsBatch).where(SmsBatch.delivery_id == delivery_id)
                                    .order_by(SmsBatch.batch)))
    flights = []
    for row in rows:
        numbers = [Recipient(int(i), a) for i, a in row.numbers]
        done = await existing(store, delivery_id, [n.address for n in numbers])
        flights.append(InFlight(row.batch, row.provider, row.mode, row.started_at,
                                tuple(n for n in numbers if n.address not in done)))
    return flights


async def existing(store: Store, delivery_id: int, addresses: Sequence[str]) -> set[str]:
    found: set[str] = set()
    async with store.sessions() as s:
        for part in _chunks(list(addresses)):
            found.update(await s.scalars(select(DeliveryRecipient.address).where(
                DeliveryRecipient.delivery_id == delivery_id, among(s, DeliveryRecipient.address, part))))
    return found


async def highest_subscriber(store: Store, delivery_id: int) -> int:
    """The highest subscriber id this delivery has a result or an intent for."""
    async with store.sessions() as s:
        done = await s.scalar(select(func.max(DeliveryRecipient.subscriber_id)).where(
            DeliveryRecipient.delivery_id == delivery_id))
        flying = await s.scalar(select(func.max(SmsBatch.hi)).where(SmsBatch.delivery_id == delivery_id))
    return int(max(done or 0, flying or 0))


async def highest_batch(store: Store, delivery_id: int) -> int:
    """The highest batch number used so far (-1 = none): new batches are numbered above it."""
    async with store.sessions() as s:
        done = await s.scalar(select(func.max(DeliveryRecipient.batch)).where(
            DeliveryRecipient.delivery_id == delivery_id))
        flying = await s.scalar(select(func.max(SmsBatch.batch)).where(SmsBatch.delivery_id == delivery_id))
    return int(max(-1 if done is None else done, -1 if flying is None else flying))


async def analyze(store: Store) -> None:
    """PostgreSQL: refresh the planner's statistics of the recipient table. A resumed fan-out on
    a table that grew by a million rows since its last ANALYZE would otherwise be planned as if
    the table were nearly empty (one index scan over the whole delivery per statement)."""
    if store.dialect == "postgresql":
        async with store.engine.connect() as conn:
            await conn.execute(text("ANALYZE delivery_recipients"))
            await conn.commit()


async def set_status(store: Store, delivery_id: int, addresses: Sequence[str], status: str, detail: str,
                     now: datetime) -> None:
    async def work(s):  # noqa: ANN001, ANN202
        for part in _chunks(list(addresses)):
            await s.execute(update(DeliveryRecipient).where(
                DeliveryRecipient.delivery_id == delivery_id, among(s, DeliveryRecipient.address, part))
                .values(status=status, detail=detail[:500], updated_at=now))

    await store.transaction(work, what="update SMS recipients")


async def tally(store: Store, delivery_id: int) -> dict[str, int]:
    async with store.sessions() as s:
        rows = await s.execute(select(DeliveryRecipient.status, func.count()).where(
            DeliveryRecipient.delivery_id == delivery_id).group_by(DeliveryRecipient.status))
        return {status: count for status, count in rows}


async def numbers_with(store: Store, delivery_id: int, status: str, limit: int = 50) -> list[str]:
    async with store.sessions() as s:
        return list(await s.scalars(select(DeliveryRecipient.address).where(and_(
            DeliveryRecipient.delivery_id == delivery_id, DeliveryRecipient.status == status))
            .order_by(DeliveryRecipient.id).limit(limit)))


@dataclass(frozen=True)
class Reach:
    """Whom a release's SMS reaches and what it costs: ``numbers`` still to send (active
    subscribers of its topics, less those with a result already), ``parts`` billed messages each."""

    numbers: int
    parts: int
    characters: int
    done: int = 0  # numbers that already have a result (a resumed push does not send to them again)

    @property
    def total_parts(self) -> int:
        return self.numbers * self.parts

    def sentence(self) -> str:
        """"将向 N 个号码发送短信，每个号码 P 条计费短信，共 T 条" (Chinese, for a confirmation)."""
        text = f"将向 {self.numbers} 个号码发送短信，每个号码 {self.parts} 条计费短信，共 {self.total_parts} 条"
        if self.done:
            text += f"（已有结果的 {self.done} 个号码不会重发）"
        return text


async def count_for_items(store: Store, items: Sequence[ItemView], message: Message,
                          delivery_id: int | None = None) -> Reach:
    """The reach of ``items`` sent as ``message`` (``SmsChannel.message(items)``); with
    ``delivery_id``, less the numbers that delivery already has a result for."""
    numbers = await subscribers.count(store, "sms", release_topics(items))
    done = sum((await tally(store, delivery_id)).values()) if delivery_id is not None else 0
    return Reach(max(numbers - done, 0), message.segments, len(message.full), done)
