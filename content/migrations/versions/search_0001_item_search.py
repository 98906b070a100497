"""item search: titles and bodies searchable in Chinese, and indexes for the item list filters

SQLite: an FTS5 table with the trigram tokenizer holding each item's current title and body
(rowid = item id), kept in step by triggers. It keeps its own copy of the text rather than being
an external-content table over ``revisions``: keyed by item, a search walks its matches in the
list's order (newest item first) and stops after a page, instead of joining every match of a
common word (77,000 of 100,000 items) before it can sort them. PostgreSQL: pg_trgm GIN indexes on the same two
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
    # no index on updated_at alone: a date range is a filter on the pages walked newest first
    # (an index would tempt PostgreSQL into ANDing bitmaps of most of the table to count them)
}

SQLITE_UP = [
    # one row per item (rowid = item id) holding its current revision's title and body, so that
    # a search reads its matches newest first and stops after one page
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, body, tokenize='trigram')",
    "INSERT INTO items_fts(rowid, title, body) SELECT i.id, r.title, r.body_md FROM items i "
    "JOIN revisions r ON r.item_id = i.id AND r.number = i.current_revision",
    # a new revision is always the item's new current one (add, edit, correct)
    "CREATE TRIGGER items_fts_revision_ai AFTER INSERT ON revisions BEGIN "
    "DELETE FROM items_fts WHERE rowid = new.item_id; "
    "INSERT INTO items_fts(rowid, title, body) VALUES (new.item_id, new.title, new.body_md); END",
    "CREATE TRIGGER items_fts_revision_au AFTER UPDATE OF title, body_md ON revisions "
    "WHEN new.number = (SELECT current_revision FROM items WHERE id = new.item_id) BEGIN "
    "DELETE FROM items_fts WHERE rowid = new.item_id; "
    "INSERT INTO items_fts(rowid, title, body) VALUES (new.item_id, new.title, new.body_md); END",
    # whichever of the item and its new revision is written first, the index ends on the current
    "CREATE TRIGGER items_fts_item_au AFTER UPDATE OF current_revision ON items BEGIN "
    "DELETE FROM items_fts WHERE rowid = new.id; "
    "INSERT INTO items_fts(rowid, title, body) SELECT new.id, r.title, r.body_md FROM revisions r "
    "WHERE r.item_id = new.id AND r.number = new.current_revision; END",
    "CREATE TRIGGER items_fts_item_ad AFTER DELETE ON items BEGIN "
    "DELETE FROM items_fts WHERE rowid = old.id; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS items_fts_item_ad",
    "DROP TRIGGER IF EXISTS items_fts_item_au",
    "DROP TRIGGER IF EXISTS items_fts_revision_au",
    "DROP TRIGGER IF EXISTS items_fts_revision_ai",
    "DROP TABLE IF EXISTS items_fts",
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
