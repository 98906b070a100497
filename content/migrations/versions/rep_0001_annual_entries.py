"""annual report figures entered by staff (rows the store cannot know)

Revision ID: rep_0001
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = "rep_0001"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annual_report_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("row", sa.String(32), nullable=False),
        sa.Column("column", sa.String(32), nullable=False),
        sa.Column("value", sa.String(40), nullable=False),
        sa.Column("entered_by", sa.String(100), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("year", "row", "column", name="uq_annual_entry"),
    )


def downgrade() -> None:
    op.drop_table("annual_report_entries")
