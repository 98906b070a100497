"""Tables of events and webhooks: what happened (``events``), who wants to hear about it
(``webhook_endpoints``) and each POST owed to one endpoint for one event (``webhook_deliveries``,
unique per endpoint and event, so several nodes and retries never send one twice) with every
attempt recorded (``webhook_attempts``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from content.models import Base


class Event(Base):
    """One thing that happened, recorded in the transaction that made it happen. ``id`` is a
    UUID a receiver can deduplicate by; ``once_key``, when set, makes the event happen at most
    once (e.g. ``obligation:12:warning``) however many nodes or sweeps notice it."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(index=True)
    once_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)


class WebhookEndpoint(Base):
    """A URL an administrator registered, the events it wants (``["*"]`` for all) and the
    secret its POSTs are signed with. The secret is stored because signing needs it; it is
    shown once, at registration, and never listed, logged or returned again."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One POST owed to one endpoint for one event, claimed with a lease like an outbox row.
    States: pending → in_progress → sent | retry | failed."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                                             index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    settled_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery"),)


class WebhookAttempt(Base):
    """One POST: who made it, when, the receiver's status code (None when no answer came) and
    a short error."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                                             index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
