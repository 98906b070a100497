"""Engines, sessions, migrations and retrying transactions on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import logging
import re
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from content.private import private_dir, private_file

log = logging.getLogger("gongkai.store")
T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Accept the plain forms staff write and pick the async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def secure_sqlite(path: Path) -> None:
    """The store file and its journals are readable by their owner only. SQLite gives the
    ``-wal`` and ``-shm`` files it creates the mode of the database file."""
    private_dir(path.parent)
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        journal = path.with_name(path.name + suffix)
        if journal.exists():
            private_file(journal)


def make_engine(url: str, *, busy_timeout_ms: int = 5000) -> AsyncEngine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@dataclass
class Store:
    """The engine and its session factory, passed to everything that touches the store."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, url: str) -> Store:
        engine = make_engine(url)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def close(self) -> None:
        await self.engine.dispose()

    async def transaction(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        attempts: int = 8,
        what: str = "transaction",
    ) -> T:
        """Run ``work`` in one transaction, retrying when the database is locked or briefly
        unreachable. ``work`` must be safe to repeat: it runs again from the start."""
        delay = 0.05
        for attempt in range(1, attempts + 1):
            try:
                async with self.sessions() as session, session.begin():
                    return await work(session)
            except (OperationalError, DBAPIError, OSError, ConnectionError) as exc:
                if not is_transient(exc) or attempt == attempts:
                    raise
                log.warning("%s: database busy or unreachable (%s); retry %d/%d in %.2fs",
                            what, short_error(exc), attempt, attempts - 1, delay)
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")


TRANSIENT_MARKERS = (
    "database is locked",
    "database is busy",
    "could not serialize",
    "deadlock detected",
    "connection refused",
    "connection was closed",
    "connection is closed",
    "cannot connect",
    "server closed the connection",
    "terminating connection",
    "connectiondoesnotexist",
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, ConnectionError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    message = f"{type(getattr(exc, 'orig', exc)).__name__} {exc}".lower()
    return any(marker in message for marker in TRANSIENT_MARKERS)


def short_error(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0][:200]


async def check_reachable(store: Store) -> None:
    async with store.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def _alembic_config(connection):  # noqa: ANN001
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(store: Store, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (Alembic, on the store's own connection)."""
    from alembic import command

    async with store.engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(_alembic_config(sync_conn), revision))


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def shipped_heads() -> frozenset[str]:
    """The heads of the shipped migrations, read from the files without loading Alembic (which
    costs a command a noticeable part of a second)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            names = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (revisions if key == "revision" else parents).update(names)
    return frozenset(revisions - parents)


async def stored_heads(store: Store) -> frozenset[str]:
    """What the store's ``alembic_version`` table holds (empty for a new store)."""
    async with store.engine.connect() as conn:
        try:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except Exception:  # noqa: BLE001 - no table yet: a new store
            return frozenset()
        return frozenset(r[0] for r in rows)


async def upgrade_if_needed(store: Store) -> bool:
    """Upgrade only when the store is not at the shipped heads; True if it did."""
    if await stored_heads(store) == shipped_heads():
        return False
    await upgrade(store)
    return True


async def current_heads(store: Store) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    async with store.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
