"""Confirmation codes of the subscription page: 6 digits by SMS, valid 10 minutes, 5 tries; limits
per number and per client address so the page cannot be used to bomb a number with codes.

Answers never reveal whether a number is already subscribed: a subscribed, unsubscribed, unknown
or blocked number gets the same answer (a blocked number simply receives nothing)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from channels.sms.config import SmsSettings
from channels.sms.models import SmsCode, SmsCodeRequest
from content import audit, subscribers
from content.db import Store


@dataclass(frozen=True)
class Issued:
    """``status``: ``send`` (a code was made: send it), ``silent`` (nothing to send, same answer),
    ``limited`` (too many requests: ``retry_after`` seconds)."""

    status: str
    code: str = ""
    retry_after: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Checked:
    """``status``: ``ok``, ``wrong`` (``tries_left``), ``expired`` (or never requested), ``locked``."""

    status: str
    tries_left: int = 0
    topics: tuple[str, ...] = ()


def code_hash(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


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
        async def work(session):  # noqa: ANN001, ANN202
            await session.execute(delete(SmsCodeRequest).where(SmsCodeRequest.at < now - timedelta(days=2)))
            for who, since, permits, window in self._windows(now):
                column = SmsCodeRequest.phone if who == "phone" else SmsCodeRequest.client
                value = phone if who == "phone" else client
                rows = await session.execute(select(func.count(), func.min(SmsCodeRequest.at)).where(
                    column == value, SmsCodeRequest.at >= since))
                count, first = rows.one()
                if count >= permits:
                    retry = int(((first + (now - since)) - now).total_seconds()) + 1 if first else 60
                    return Issued("limited", retry_after=max(retry, 1), reason=f"{who}-{window}")
            session.add(SmsCodeRequest(phone=phone, client=client, at=now))
            sub = await subscribers.get(session, "sms", phone)
            if sub is not None and sub.status == "blocked":
                return Issued("silent")
            code = f"{secrets.randbelow(10 ** 6):06d}"
            existing = await session.scalar(select(SmsCode).where(SmsCode.phone == phone))
            if existing is not None:
                await session.delete(existing)
                await session.flush()
            session.add(SmsCode(phone=phone, code_hash=code_hash(self.secret, phone, code), topics=list(topics),
                                client=client, created_at=now,
                                expires_at=now + timedelta(minutes=self.s.code_ttl_minutes), tries=0))
            return Issued("send", code=code)

        return await self.store.transaction(work, what="issue SMS code")

    async def check(self, phone: str, code: str, client: str, now: datetime) -> Checked:
        async def work(session):  # noqa: ANN001, ANN202
            pending = await session.scalar(select(SmsCode).where(SmsCode.phone == phone))
            if pending is None or pending.expires_at <= now:
                if pending is not None:
                    await session.delete(pending)
                return Checked("expired")
            if pending.tries >= self.s.code_max_tries:
                await session.delete(pending)
                return Checked("locked")
            if not hmac.compare_digest(pending.code_hash, code_hash(self.secret, phone, code.strip())):
                pending.tries += 1
                left = self.s.code_max_tries - pending.tries
                if left <= 0:
                    await session.delete(pending)
                    return Checked("locked")
                return Checked("wrong", tries_left=left)
            topics = tuple(pending.topics or ())
            await session.delete(pending)
            sub = await subscribers.get(session, "sms", phone)
            if sub is not None and sub.status == "blocked":
                return Checked("ok", topics=topics)  # same answer; a blocked number stays blocked
            sub = await subscribers.upsert(session, "sms", phone, now=now, status="active", topics=topics,
                                           source="web", consent_method="web-sms-code", consent_from=client)
            audit.record(session, at=now, actor="subscriber", action="sms_subscribed",
                         reason="网页订阅并以短信验证码确认", subscriber=sub.id, topics=list(topics))
            return Checked("ok", topics=topics)

        return await self.store.transaction(work, what="check SMS code")

    async def withdraw(self, phone: str) -> None:
        """The code could not be sent: drop it so it cannot be guessed."""
        async def work(session):  # noqa: ANN001, ANN202
            await session.execute(delete(SmsCode).where(SmsCode.phone == phone))

        await self.store.transaction(work, what="withdraw SMS code")
