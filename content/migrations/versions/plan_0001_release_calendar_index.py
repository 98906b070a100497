"""release calendar: an index on releases (state, due_at), so that a month or a week of the
calendar and the planned WeChat pushes are range seeks at 100,000 releases (SQLite otherwise
scans the state index for every pending release)

Revision ID: plan_0001
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op

revision = "plan_0001"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_releases_state_due", "releases", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_releases_state_due", table_name="releases")
