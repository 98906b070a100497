"""SQLAlchemy 2 models of the content store.

Every instant is stored in UTC through :class:`UTCDateTime`, which refuses naive values on the way
in and returns aware values on the way out (SQLite keeps no zone of its own).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from content.clock import require_aware


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored as UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):  # noqa: ANN001 - SQLAlchemy signature
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        value = require_aware(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Item(Base):
    """One piece of content across its revisions. Department and column are copied from the
    latest revision so that site queries need no join."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    department: Mapped[str] = mapped_column(String(200), default="")
    column_name: Mapped[str] = mapped_column(String(200), default="")
    current_revision: Mapped[int] = mapped_column(Integer, default=1)
    published_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    retract_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    revisions: Mapped[list[Revision]] = relationship(
        back_populates="item", order_by="Revision.number", lazy="raise"
    )

    __table_args__ = (
        Index("ix_items_site", "state", "published_at"),
        Index("ix_items_column", "column_name", "published_at"),
        Index("ix_items_site_first", "state", "first_published_at"),
        Index("ix_items_column_first", "column_name", "first_published_at"),
    )


class Revision(Base):
    """One version of an item's text and metadata. Once published it never changes."""

    __tablename__ = "revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_md: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(200), default="")
    column_name: Mapped[str] = mapped_column(String(200), default="")
    index_no: Mapped[str] = mapped_column(String(100), default="")
    doc_no: Mapped[str] = mapped_column(String(100), default="")
    issuer: Mapped[str] = mapped_column(String(200), default="")
    topic: Mapped[str] = mapped_column(String(100), default="")
    issued: Mapped[date | None] = mapped_column(Date, nullable=True)
    validity: Mapped[str] = mapped_column(String(200), default="")
    normative: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    correction_note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)

    item: Mapped[Item] = relationship(back_populates="revisions", lazy="raise")

    #: the duty board and the review queue ask for the revisions awaiting review (few among many),
    #: oldest first, and for the revisions returned to their author
    __table_args__ = (UniqueConstraint("item_id", "number", name="uq_revision_number"),
                      Index("ix_revisions_status_created", "status", "created_at", "id"),
                      Index("ix_revisions_author_status", "created_by", "status"))


class Link(Base):
    """A typed relation between items: ``interprets`` (interpretation → policy) or
    ``follows`` (follow-up → earlier item)."""

    __tablename__ = "links"
    id: Mapped[int] = mapped_column(primary_key=True)
    from_item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    to_item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    rel: Mapped[str] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("from_item_id", "to_item_id", "rel", name="uq_link"),)


class Attachment(Base):
    """An image or attachment file of an item, stored content-addressed under the data dir."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # image | attachment | cover
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(100))
    alt: Mapped[str] = mapped_column(String(500), default="")


class CheckFinding(Base):
    """A problem found by the review checks on submit; blocks approval until overridden."""

    __tablename__ = "check_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    check: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str] = mapped_column(String(200), default="")
    overridden_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    found_at: Mapped[datetime]


class AuditEvent(Base):
    """Append-only record of every transition: who, when, what, why. The migration installs
    triggers that refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    release_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ReviewRequest(Base):
    """A change to a published item that one person asks for and a different person approves
    before it happens (``action`` = retract). Kept as rows so that a review chain of several
    steps can be added without changing how a request is asked for."""

    __tablename__ = "review_requests"
    __table_args__ = (
        Index("uq_review_requests_pending", "item_id", "action", unique=True,
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    release_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Release(Base):
    """One or more items, an instant and the channels they go to."""

    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), default="publish")
    state: Mapped[str] = mapped_column(String(16), index=True)
    due_at: Mapped[datetime] = mapped_column(index=True)
    channels: Mapped[list[str]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    fired_at: Mapped[datetime | None] = mapped_column(nullable=True)
    late_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hold_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    split_from: Mapped[int | None] = mapped_column(Integer, nullable=True)

    #: the release calendar and the planned pushes ask for one state (or three) in a time range
    __table_args__ = (Index("ix_releases_state_due", "state", "due_at"),)


class ReleaseItem(Base):
    __tablename__ = "release_items"
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Delivery(Base):
    """The outbox: one row per (release, channel), created by the firing transaction."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    settled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Set by a throttled outcome: {"remaining", "per_window", "window_seconds"} (channels.base.Pace).
    pace: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Claimed before lower ones (an emergency item's deliveries: 10; migration slot_0001).
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)

    __table_args__ = (UniqueConstraint("release_id", "channel", name="uq_delivery_release_channel"),)


class DeliveryAttempt(Base):
    """Every call to a channel: intent written before the call, outcome after it."""

    __tablename__ = "delivery_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class Setting(Base):
    """Small shared key/value state (schedule version, channel tokens, ...)."""

    __tablename__ = "kv"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class Subscriber(Base):
    """A member of the public who receives pushes: an SMS number or a WeChat follower (openid).
    Topics are in :class:`SubscriberTopic`; the same topic model serves every push channel."""

    __tablename__ = "subscribers"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | wechat
    address: Mapped[str] = mapped_column(String(128))  # normalised phone number or openid
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|active|unsubscribed|blocked|inactive
    source: Mapped[str] = mapped_column(String(100), default="")
    consent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    consent_method: Mapped[str] = mapped_column(String(50), default="")
    consent_from: Mapped[str] = mapped_column(String(100), default="")  # client address
    #: how consent was obtained, as staff described it (an import's --consent or consent column)
    consent_detail: Mapped[str] = mapped_column(String(500), default="", server_default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    unsubscribed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (UniqueConstraint("channel", "address", name="uq_subscriber_address"),)


class SubscriberTopic(Base):
    """A topic a subscriber follows: a column name, a department name, ``emergency`` or ``all``."""

    __tablename__ = "subscriber_topics"
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"),
                                               primary_key=True)
    topic: Mapped[str] = mapped_column(String(200), primary_key=True)

    __table_args__ = (Index("ix_subscriber_topics_topic", "topic", "subscriber_id"),)


class DeliveryRecipient(Base):
    """Per-recipient result of a fan-out delivery (an SMS number, a WeChat follower)."""

    __tablename__ = "delivery_recipients"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    address: Mapped[str] = mapped_column(String(128))
    batch: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))  # sent|delivered|failed|skipped|unknown
    remote_id: Mapped[str] = mapped_column(String(128), default="")  # BizId, msgid, SerialNo
    detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("delivery_id", "address", name="uq_recipient_delivery_address"),
        Index("ix_delivery_recipients_remote", "remote_id", "address"),
    )


class Obligation(Base):
    """A statutory deadline owed for one item (rules R1, R3, R4, L26). Never deleted: after its
    due instant it stays as ``late`` (met after due) or ``missed`` (still unmet)."""

    __tablename__ = "obligations"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(200), default="")
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    period: Mapped[str] = mapped_column(String(32))  # the triggering date, ISO
    starts_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # the last working day that is on time
    due_at: Mapped[datetime] = mapped_column(index=True)  # end of due_on in the configured zone
    state: Mapped[str] = mapped_column(String(16), index=True)
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    met_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    met_at: Mapped[datetime | None] = mapped_column(nullable=True)
    waived_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    waived_at: Mapped[datetime | None] = mapped_column(nullable=True)
    waive_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("rule", "subject_type", "subject_id", "period",
                                       name="uq_obligation"),)


class Account(Base):
    """A member of staff: a login name, roles (``content.accounts.Role`` ids) and an argon2id
    password hash (never the password). Audit events name the account by ``login``."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class ApiToken(Base):
    """A personal API token: only the SHA-256 of its secret is kept, with an expiry."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
