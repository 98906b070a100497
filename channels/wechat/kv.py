"""Small shared state of the channel in the store's key/value table (``Setting``): the access
token, the media cache, the install's id for clientmsgids. Every node reads the same rows."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from content.models import Setting


async def get(session: AsyncSession, key: str) -> dict[str, Any] | None:
    row = await session.get(Setting, key, populate_existing=True)
    return dict(row.value) if row is not None else None


async def put(session: AsyncSession, key: str, value: dict[str, Any], now: datetime) -> None:
    assert session.bind is not None
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(Setting).values(key=key, value=value, updated_at=now)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["key"], set_={"value": stmt.excluded.value, "updated_at": now}))


async def put_if_absent(session: AsyncSession, key: str, value: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Insert ``value`` unless the key exists; returns the stored value either way."""
    assert session.bind is not None
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    await session.execute(insert(Setting).values(key=key, value=value, updated_at=now)
                          .on_conflict_do_nothing(index_elements=["key"]))
    return await get(session, key) or value
