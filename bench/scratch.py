"""A throwaway store for a benchmark: an SQLite file in a directory, or a scratch database
created next to a given PostgreSQL one and dropped afterwards."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_database(pg_admin_url: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database: PostgreSQL if ``pg_admin_url`` is given, else SQLite."""
    if not pg_admin_url:
        yield f"sqlite:///{directory / 'gongkai.db'}"
        return
    import asyncpg

    name = f"gongkai_bench_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(pg_admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
