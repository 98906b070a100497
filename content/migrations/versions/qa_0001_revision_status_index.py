"""revisions: an index on status, so that the 工作台 and the review queue find the revisions
awaiting review with a seek instead of scanning every revision (100,000 items)

Revision ID: qa_0001
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op

revision = "qa_0001"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_revisions_status", "revisions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_revisions_status", table_name="revisions")
