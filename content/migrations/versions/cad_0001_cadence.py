"""cadence: subjects of the cadence rules (R5, R6, R7, C6), obligation warnings, duty messages

Revision ID: cad_0001
Revises: oblig_0001
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "cad_0001"
down_revision = "oblig_0001"  # references obligations
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cadence_subjects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("type", "name", name="uq_cadence_subject"),
    )
    op.create_table(
        "obligation_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("obligation_id", sa.Integer(), sa.ForeignKey("obligations.id"), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("node", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("obligation_id", "stage", name="uq_obligation_notice"),
    )
    op.create_index("ix_obligation_notices_obligation_id", "obligation_notices", ["obligation_id"])
    op.create_index("ix_obligation_notices_created_at", "obligation_notices", ["created_at"])
    op.create_table(
        "duty_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("obligation_notices.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("remote_id", sa.String(128), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("notice_id", "channel", "address", name="uq_duty_message"),
    )
    op.create_index("ix_duty_messages_notice_id", "duty_messages", ["notice_id"])
    op.create_index("ix_duty_messages_state", "duty_messages", ["state"])
    # the cadence queries: press conferences and emergencies by kind, deliveries by channel
    op.create_index("ix_items_kind_first", "items", ["kind", "first_published_at"])
    op.create_index("ix_obligations_rule_state", "obligations", ["rule", "state"])


def downgrade() -> None:
    op.drop_index("ix_obligations_rule_state", "obligations")
    op.drop_index("ix_items_kind_first", "items")
    op.drop_table("duty_messages")
    op.drop_table("obligation_notices")
    op.drop_table("cadence_subjects")
