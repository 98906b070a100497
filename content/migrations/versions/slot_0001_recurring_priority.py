"""posting slots / recurring releases / emergency path: recurring schedules and their
occurrences, and a priority on deliveries (emergency first)

Revision ID: slot_0001
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa


revision = "slot_0001"
down_revision = "0002"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "recurring_releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("rule_text", sa.Text(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("lead_workdays", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "recurring_occurrences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("recurring_id", sa.Integer(), sa.ForeignKey("recurring_releases.id"), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("attached_by", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("recurring_id", "on_date", name="uq_occurrence"),
    )
    op.create_index("ix_recurring_occurrences_recurring_id", "recurring_occurrences", ["recurring_id"])
    op.create_index("ix_recurring_occurrences_due_at", "recurring_occurrences", ["due_at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_deliveries_priority", "deliveries", ["priority"])

def downgrade() -> None:
    op.drop_index("ix_deliveries_priority", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("priority")
    op.drop_table("recurring_occurrences")
    op.drop_table("recurring_releases")
