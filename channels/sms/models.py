"""Tables of the SMS channel: batches in flight, confirmation codes of the subscription page, the
requests for them (abuse limits), and texts subscribers sent back (replies such as TD)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from content.models import Base


class SmsCode(Base):
    """The one pending confirmation code of a number (a new request replaces it)."""

    __tablename__ = "sms_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    client: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    tries: Mapped[int] = mapped_column(Integer, default=0)


class SmsCodeRequest(Base):
    """One request for a code, kept a day for the per-number and per-client limits."""

    __tablename__ = "sms_code_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    client: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_sms_code_requests_phone", "phone", "at"),
                      Index("ix_sms_code_requests_client", "client", "at"))


class SmsInbound(Base):
    """A text a subscriber sent back, as received (push or pull), and what was done about it."""

    __tablename__ = "sms_inbound"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # dedupes repeated pushes
    provider: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))  # unsubscribed | ignored
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SmsBatch(Base):
    """A fan-out batch being sent: written before the provider call (the intent, with its
    numbers), removed in the same transaction that writes the numbers' results. A row still here
    after a crash is a batch that was in flight."""

    __tablename__ = "sms_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    batch: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(8), default="batch")  # batch | single (number by number)
    numbers: Mapped[list[Any]] = mapped_column(JSON)  # [[subscriber id, number], …]
    hi: Mapped[int] = mapped_column(Integer)  # highest subscriber id in the batch
    started_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("delivery_id", "batch", name="uq_sms_batch"),)
