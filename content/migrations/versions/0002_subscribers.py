"""subscribers, their topics, and per-recipient delivery results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_method", sa.String(50), nullable=False),
        sa.Column("consent_from", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.UniqueConstraint("channel", "address", name="uq_subscriber_address"),
    )
    op.create_index("ix_subscribers_status", "subscribers", ["status"])
    op.create_table(
        "subscriber_topics",
        sa.Column("subscriber_id", sa.Integer(),
                  sa.ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("topic", sa.String(200), primary_key=True),
    )
    op.create_index("ix_subscriber_topics_topic", "subscriber_topics", ["topic", "subscriber_id"])
    op.create_table(
        "delivery_recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("remote_id", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("delivery_id", "address", name="uq_recipient_delivery_address"),
    )
    op.create_index("ix_delivery_recipients_delivery_id", "delivery_recipients", ["delivery_id"])
    op.create_index("ix_delivery_recipients_remote", "delivery_recipients", ["remote_id", "address"])


def downgrade() -> None:
    op.drop_table("delivery_recipients")
    op.drop_table("subscriber_topics")
    op.drop_table("subscribers")
