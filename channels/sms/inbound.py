"""What comes back from the providers: delivery reports (deduplicated on (remote id, number))
and replies from subscribers ("TD", "T", "R", "退订" unsubscribe at once)."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from channels.sms import phone as phones_
from channels.sms.fanout import parse_marker
from channels.sms.models import SmsBatch, SmsInbound
from channels.sms.providers.base import Reply, Report
from content import audit, subscribers
from content.db import Store
from content.models import DeliveryRecipient

SKIPPED_CODES = ("isv.BUSINESS_LIMIT_CONTROL", "LimitExceeded.PhoneNumber", "FailedOperation.PhoneNumberInBlacklist")
UNSUBSCRIBE_WORDS = {"TD", "T", "R", "退订"}
OPEN = ("sent", "unknown")  # rows a report may still settle


@dataclass(frozen=True)
class ReportTally:
    applied: int
    duplicates: int


def report_status(report: Report) -> str:
    if report.delivered:
        return "delivered"
    return "skipped" if report.code.startswith(SKIPPED_CODES) else "failed"


async def apply_reports(store: Store, reports: Sequence[Report], now: datetime) -> ReportTally:
    """Record delivery reports on the recipient rows. A report already applied (same remote id and
    number: providers push again after a timeout, and pull returns what was pushed) changes
    nothing. A report for a number whose call never answered (in flight at a crash), or that
    arrives before the call's answer was written, is matched through our batch marker (OutId /
    SessionContext)."""
    table = DeliveryRecipient.__table__

    async def work(s):  # noqa: ANN001, ANN202
        applied = 0
        batches: dict[tuple[int, int], dict[str, int]] = {}
        for r in reports:
            status = report_status(r)
            detail = ("已送达" if r.delivered else f"未送达：{r.code} {r.message}".strip())[:500]
            values = {"status": status, "detail": detail, "updated_at": now}
            count = 0
            if r.remote_id:
                count = (await s.execute(update(table).where(
                    table.c.remote_id == r.remote_id, table.c.address == r.phone, table.c.status.in_(OPEN))
                    .values(**values))).rowcount
            batch = parse_marker(r.marker)
            if not count and batch is not None:
                count = (await s.execute(update(table).where(
                    table.c.delivery_id == batch[0], table.c.address == r.phone,
                    table.c.remote_id.in_(["", r.remote_id]), table.c.status.in_(OPEN))
                    .values(remote_id=r.remote_id, **values))).rowcount
            if not count and batch is not None:  # the batch's answer is not written yet
                if batch not in batches:
                    row = await s.scalar(select(SmsBatch).where(SmsBatch.delivery_id == batch[0],
                                                                SmsBatch.batch == batch[1]))
                    batches[batch] = {a: int(i) for i, a in (row.numbers if row else [])}
                subscriber = batches[batch].get(r.phone)
                if subscriber is not None:
                    maker = postgresql.insert if s.bind.dialect.name == "postgresql" else sqlite.insert
                    count = (await s.execute(maker(table).values(
                        delivery_id=batch[0], subscriber_id=subscriber, address=r.phone, batch=batch[1],
                        remote_id=r.remote_id, **values).on_conflict_do_nothing(
                        index_elements=["delivery_id", "address"]))).rowcount
            applied += bool(count)
        return applied

    applied = await store.transaction(work, what="apply SMS reports")
    return ReportTally(applied, len(reports) - applied)


def is_unsubscribe(text: str) -> bool:
    words = unicodedata.normalize("NFKC", text).upper()
    words = re.sub(r"[\s\W_]+", "", words)
    return words in UNSUBSCRIBE_WORDS


def reply_key(provider: str, reply: Reply, remote_key: str = "") -> str:
    if remote_key:
        return f"{provider}:{remote_key}"[:128]
    at = reply.at.astimezone(timezone.utc).isoformat() if reply.at else ""  # pushed and pulled alike
    digest = hashlib.sha256(f"{reply.phone}|{at}|{reply.text}".encode()).hexdigest()[:40]
    return f"{provider}:{digest}"


async def apply_reply(store: Store, provider: str, reply: Reply, now: datetime, *, remote_key: str = "") -> str:
    """Returns ``unsubscribed``, ``ignored`` or ``duplicate``."""
    key = reply_key(provider, reply, remote_key)
    wants_out = is_unsubscribe(reply.text)

    async def work(s):  # noqa: ANN001, ANN202
        if await s.scalar(select(SmsInbound.id).where(SmsInbound.key == key)) is not None:
            return "duplicate"
        action = "ignored"
        if wants_out:
            sub = await subscribers.set_status(s, "sms", reply.phone, "unsubscribed", now=now)
            if sub is not None:
                sub.meta = {**(sub.meta or {}), "unsubscribed_via": f"reply:{reply.text.strip()[:10]}"}
                audit.record(s, at=now, actor="subscriber", action="sms_unsubscribed", reason=f"回复“{reply.text.strip()[:10]}”",
                             subscriber=sub.id, phone=phones_.masked(reply.phone), via=provider)
            action = "unsubscribed"
        s.add(SmsInbound(key=key, provider=provider, phone=reply.phone, text=reply.text[:500],
                         received_at=now, action=action, meta={"at": reply.at.isoformat() if reply.at else ""}))
        return action

    return await store.transaction(work, what="apply SMS reply")
