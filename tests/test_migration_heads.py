"""Commands skip Alembic when the store is already at the shipped heads; the quick check must
agree with Alembic itself, or a store would be left unmigrated (or migrated on every command)."""
from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from content.db import MIGRATIONS, Store, shipped_heads, stored_heads, upgrade_if_needed


def test_the_quick_head_check_agrees_with_alembic() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert shipped_heads() == frozenset(ScriptDirectory.from_config(cfg).get_heads())


async def test_a_new_store_is_migrated_once(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        assert await stored_heads(store) == frozenset()
        assert await upgrade_if_needed(store) is True
        assert await stored_heads(store) == shipped_heads()
        assert await upgrade_if_needed(store) is False
    finally:
        await store.close()
