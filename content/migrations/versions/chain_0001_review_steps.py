"""review chain: one row per step taken on a revision's review (or a retraction request's)

Revision ID: chain_0001
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "chain_0001"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_review_steps_item", "review_steps", ["item_id", "revision", "request_id"])
    # one approval per step: two people taking the same step at once cannot both succeed
    op.create_index("uq_review_steps_taken", "review_steps", ["item_id", "revision", "request_id", "step"],
                    unique=True, sqlite_where=sa.text("decision = 'approved'"),
                    postgresql_where=sa.text("decision = 'approved'"))


def downgrade() -> None:
    op.drop_index("uq_review_steps_taken", table_name="review_steps")
    op.drop_index("ix_review_steps_item", table_name="review_steps")
    op.drop_table("review_steps")
