"""item search: titles and bodies searchable in Chinese, and indexes for the item list filters

SQLite: an FTS5 table with the trigram tokenizer over ``revisions`` (external content: the text
is not stored twice), kept in step by triggers. PostgreSQL: pg_trgm GIN indexes on the same two
columns (``LIKE '%…%'`` uses them). Both match any run of three or more characters, which is what
Chinese text without word boundaries needs.

Revision ID: search_0001
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op

revision = "search_0001"
down_revision = "0002"
branch_labels = None
depends_on = None

FILTER_INDEXES = {
    "ix_items_kind_id": ["kind", "id"],
    "ix_items_state_id": ["state", "id"],
    "ix_items_created_by_id": ["created_by", "id"],
    "ix_items_department_id": ["department", "id"],
    "ix_items_column_id": ["column_name", "id"],
    "ix_items_updated_at": ["updated_at"],
}

SQLITE_UP = [
    "CREATE VIRTUAL TABLE revisions_fts USING fts5("
    "title, body_md, content='revisions', content_rowid='id', tokenize='trigram')",
    "INSERT INTO revisions_fts(revisions_fts) VALUES ('rebuild')",
    "CREATE TRIGGER revisions_fts_ai AFTER INSERT ON revisions BEGIN "
    "INSERT INTO revisions_fts(rowid, title, body_md) VALUES (new.id, new.title, new.body_md); END",
    "CREATE TRIGGER revisions_fts_ad AFTER DELETE ON revisions BEGIN "
    "INSERT INTO revisions_fts(revisions_fts, rowid, title, body_md) "
    "VALUES ('delete', old.id, old.title, old.body_md); END",
    "CREATE TRIGGER revisions_fts_au AFTER UPDATE OF title, body_md ON revisions BEGIN "
    "INSERT INTO revisions_fts(revisions_fts, rowid, title, body_md) "
    "VALUES ('delete', old.id, old.title, old.body_md); "
    "INSERT INTO revisions_fts(rowid, title, body_md) VALUES (new.id, new.title, new.body_md); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS revisions_fts_au",
    "DROP TRIGGER IF EXISTS revisions_fts_ad",
    "DROP TRIGGER IF EXISTS revisions_fts_ai",
    "DROP TABLE IF EXISTS revisions_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_revisions_title_trgm ON revisions USING gin (title gin_trgm_ops)",
    "CREATE INDEX ix_revisions_body_trgm ON revisions USING gin (body_md gin_trgm_ops)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_revisions_body_trgm",
    "DROP INDEX IF EXISTS ix_revisions_title_trgm",
]


def upgrade() -> None:
    for name, columns in FILTER_INDEXES.items():
        op.create_index(name, "items", columns)
    # the current revision of an item is found by (item_id, number): uq_revision_number covers it
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN
    for statement in statements:
        op.execute(statement)
    for name in FILTER_INDEXES:
        op.drop_index(name, "items")
