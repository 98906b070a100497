"""revisions: the review queue in submission order and each author's returned revisions found by
a seek (the 工作台 with 100,000 items): (status, created_at, id) replaces the index on status
alone, and (created_by, status) is added

Revision ID: board_0001
Revises: qa_0001
Create Date: 2026-11-29
"""
from alembic import op

revision = "board_0001"
down_revision = "qa_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_revisions_status_created", "revisions", ["status", "created_at", "id"])
    op.create_index("ix_revisions_author_status", "revisions", ["created_by", "status"])
    op.drop_index("ix_revisions_status", table_name="revisions")


def downgrade() -> None:
    op.create_index("ix_revisions_status", "revisions", ["status"])
    op.drop_index("ix_revisions_author_status", table_name="revisions")
    op.drop_index("ix_revisions_status_created", table_name="revisions")
