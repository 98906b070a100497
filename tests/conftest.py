"""Shared fixtures: a real store on SQLite (a file per test) and on PostgreSQL (a database per
test, skipped with the reason when no server answers)."""
from __future__ import annotations

import asyncio
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from content.clock import FixedClock
from content.db import Store, upgrade
from tests.desk import Desk

PG_ADMIN_URL = os.environ.get("GONGKAI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}


def _pg_unreachable_reason() -> str | None:
    if "reason" in _pg_state:
        return _pg_state["reason"]

    async def probe() -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
        _pg_state["reason"] = None
    except Exception as exc:  # noqa: BLE001
        _pg_state["reason"] = f"no PostgreSQL server reachable at {PG_ADMIN_URL}: {exc}"
    return _pg_state["reason"]


async def _create_pg_database() -> str:
    import asyncpg

    name = f"gongkai_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextmanager
def fresh_database(backend: str, tmp_path: Path):
    """A fresh, empty database URL on ``backend`` (sqlite | postgres). PostgreSQL is skipped with
    the reason when no server answers (and fails instead when GONGKAI_REQUIRE_PG is set)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'gongkai.db'}"
        return
    reason = _pg_unreachable_reason()
    if reason:
        if os.environ.get("GONGKAI_REQUIRE_PG"):
            pytest.fail(f"GONGKAI_REQUIRE_PG is set but {reason}")
        pytest.skip(reason)
    url = asyncio.run(_create_pg_database())
    try:
        yield url
    finally:
        asyncio.run(_drop_pg_database(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path):
    """A fresh, empty database URL on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gongkai.db'}"


@pytest.fixture
async def store(database_url: str):
    s = Store.open(database_url)
    await upgrade(s)
    yield s
    await s.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))  # 10:00 in Beijing


@pytest.fixture
def desk(store: Store, clock: FixedClock, tmp_path: Path) -> Desk:
    return Desk(store, clock, tmp_path / "files")
