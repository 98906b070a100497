"""WeChat channel: publications (intent records and push-quota ledger) and callback nonces

Revision ID: wechat_0001
Revises: 0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "wechat_0001"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wechat_publications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("draft_media_id", sa.String(128), nullable=False),
        sa.Column("source_urls", sa.JSON(), nullable=False),
        sa.Column("clientmsgid", sa.String(64), nullable=False),
        sa.Column("publish_id", sa.String(64), nullable=False),
        sa.Column("msg_id", sa.String(64), nullable=False),
        sa.Column("article_id", sa.String(128), nullable=False),
        sa.Column("urls", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("delivery_id", name="uq_wechat_publication_delivery"),
    )
    op.create_index("ix_wechat_publications_release_id", "wechat_publications", ["release_id"])
    op.create_index("ix_wechat_publications_status", "wechat_publications", ["status"])
    op.create_index("ix_wechat_publications_publish_id", "wechat_publications", ["publish_id"])
    op.create_index("ix_wechat_publications_msg_id", "wechat_publications", ["msg_id"])
    op.create_table(
        "wechat_callback_nonces",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wechat_callback_nonces_seen_at", "wechat_callback_nonces", ["seen_at"])


def downgrade() -> None:
    op.drop_table("wechat_callback_nonces")
    op.drop_table("wechat_publications")
