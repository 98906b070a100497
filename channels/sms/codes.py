"""Confirmation codes of the subscription page: 6 digits by SMS, valid 10 minutes, 5 tries; limits
per number and per client address so the page cannot be used to bomb a number with codes.

Answers never reveal whether a number is already subscribed: a subscribed, unsubscribed, unknown
or blocked number gets the same answer (a blocked number simply receives nothing).

A guess is counted and checked in one statement (``UPDATE … SET tries = tries + 1 WHERE … AND
tries < max RETURNING …``), so however many guesses arrive at once, at most ``code_max_tries``
are checked. Stored instants later than now + :data:`FUTURE_SKEW` (written while the clock was
wrong) are not trusted: such requests do not count toward the limits and such codes are expired."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, delete, func, or_, select, update

from channels.sms.config import SmsSettings
from channels.sms.models import SmsCode, SmsCodeRequest
from content import audit, subscribers
from content.db import Store

#: How far in the future a stored instant may lie (clock differences between nodes) before it is
#: taken for a mistake of the clock and ignored.
FUTURE_SKEW = timedelta(minutes=5)


class IssueOutcome(StrEnum):
    SEND = "send"  # a code was made: send it
    SILENT = "silent"  # nothing to send (blocked number), same answer
    LIMITED = "limited"  # too many requests: retry_after seconds


class CheckOutcome(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # checked and wrong; tries_left may be 0 (the code is now void)
    EXPIRED = "expired"  # expired, never requested, or replaced
    LOCKED = "locked"  # no tries left: not checked at all


@dataclass(frozen=True)
class Issued:
    status: IssueOutcome
    code: str = ""
    retry_after: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Checked:
    status: CheckOutcome
    tries_left: int = 0
    topics: tuple[str, ...] = ()
    subscriber_id: int | None = None


def code_hash(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


async def _serialise(session, *names: str) -> None:  # noqa: ANN001
    """Requests for the same number or from the same client take turns, so concurrent requests
    cannot all pass the limits before any is recorded. On PostgreSQL: transaction-scoped advisory
    locks (released at commit, taken in a fixed order). SQLite serialises writers already: the
    first statement of the transaction is a write."""
    if session.bind.dialect.name != "postgresql":
        return
    for name in sorted(names):
        key = int.from_bytes(hashlib.sha256(f"gongkai-sms-code:{name}".encode()).digest()[:8], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(key)))


class Codes:
    def __init__(self, store: Store, settings: SmsSettings, secret: str) -> None:
        self.store = store
        self.s = settings
        self.secret = secret

    def _windows(self, now: datetime) -> list[tuple[str, datetime, int, str]]:
        s = self.s
        return [("phone", now - timedelta(minutes=1), s.code_per_number_minute, "minute"),
                ("phone", now - timedelta(hours=1), s.code_per_number_hour, "hour"),
                ("phone", now - timedelta(days=1), s.code_per_number_day, "day"),
                ("client", now - timedelta(hours=1), s.code_per_client_hour, "hour"),
                ("client", now - timedelta(days=1), s.code_per_client_day, "day")]

    async def issue(self, phone: str, topics: Sequence[str], client: str, now: datetime) -> Issued:
        latest = now + FUTURE_SKEW

        async def work(session):  # noqa: ANN001, ANN202
            await _serialise(session, f"phone:{phone}", f"client:{client}")
            await session.execute(delete(SmsCodeRequest).where(or_(
                SmsCodeRequest.at < now - timedelta(days=2), SmsCodeRequest.at > latest)))
            await session.execute(delete(SmsCode).where(or_(SmsCode.expires_at <= now, SmsCode.created_at > latest)))
            for who, since, permits, window in self._windows(now):
                column = SmsCodeRequest.phone if who == "phone" else SmsCodeRequest.client
                value = phone if who == "phone" else client
                rows = await session.execute(select(func.count(), func.min(SmsCodeRequest.at)).where(
                    column == value, SmsCodeRequest.at >= since, SmsCodeRequest.at <= latest))
                count, first = rows.one()
                if count >= permits:
                    retry = int(((first + (now - since)) - now).total_seconds()) + 1 if first else 60
                    return Issued(IssueOutcome.LIMITED, retry_after=max(retry, 1), reason=f"{who}-{window}")
            session.add(SmsCodeRequest(phone=phone, client=client, at=now))
            sub = await subscribers.get(session, "sms", phone)
            if sub is not None and sub.status == "blocked":
                return Issued(IssueOutcome.SILENT)
            code = f"{secrets.randbelow(10 ** 6):06d}"
            await session.execute(delete(SmsCode).where(SmsCode.phone == phone))
            session.add(SmsCode(phone=phone, code_hash=code_hash(self.secret, phone, code), topics=list(topics),
                                client=client, created_at=now,
                                expires_at=now + timedelta(minutes=self.s.code_ttl_minutes), tries=0))
            return Issued(IssueOutcome.SEND, code=code)

        return await self.store.transaction(work, what="issue SMS code")

    async def check(self, phone: str, code: str, client: str, now: datetime) -> Checked:
        limit = self.s.code_max_tries
        table = SmsCode.__table__
        live = and_(table.c.phone == phone, table.c.expires_at > now, table.c.created_at <= now + FUTURE_SKEW)

        async def work(session):  # noqa: ANN001, ANN202
            # Count the try and read the code in one statement: the row lock (PostgreSQL) or the
            # write lock (SQLite) makes concurrent guesses take their turn, and none gets past
            # the limit.
            row = (await session.execute(update(table).where(live, table.c.tries < limit)
                                         .values(tries=table.c.tries + 1)
                                         .returning(table.c.id, table.c.code_hash, table.c.tries, table.c.topics))).first()
            if row is None:
                pending = await session.scalar(select(table.c.id).where(live))
                return Checked(CheckOutcome.EXPIRED if pending is None else CheckOutcome.LOCKED)
            if not hmac.compare_digest(row.code_hash, code_hash(self.secret, phone, code.strip())):
                return Checked(CheckOutcome.WRONG, tries_left=limit - row.tries)
            if not (await session.execute(delete(table).where(table.c.id == row.id))).rowcount:
                return Checked(CheckOutcome.EXPIRED)  # used by a concurrent confirmation
            topics = tuple(row.topics or ())
            sub = await subscribers.get(session, "sms", phone)
            if sub is not None and sub.status == "blocked":
                # same answer; a blocked number stays blocked
                return Checked(CheckOutcome.OK, topics=topics, subscriber_id=sub.id)
            sub = await subscribers.upsert(session, "sms", phone, now=now, status="active", topics=topics,
                                           source="web", consent_method="web-sms-code", consent_from=client)
            audit.record(session, at=now, actor="subscriber", action="sms_subscribed",
                         reason="网页订阅并以短信验证码确认", subscriber=sub.id, topics=list(topics))
            return Checked(CheckOutcome.OK, topics=topics, subscriber_id=sub.id)

        return await self.store.transaction(work, what="check SMS code")

    async def withdraw(self, phone: str) -> None:
        """The code could not be sent: drop it so it cannot be guessed."""
        async def work(session):  # noqa: ANN001, ANN202
            await session.execute(delete(SmsCode).where(SmsCode.phone == phone))

        await self.store.transaction(work, what="withdraw SMS code")
