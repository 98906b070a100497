"""Small SQL helpers shared by bulk writers: ``IN`` lists, the dialect's upsert, retried transactions."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy import ARRAY, Integer, String, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from content.db import Store, is_transient

T = TypeVar("T")


def is_postgresql(conn: AsyncConnection | AsyncSession) -> bool:
    dialect = conn.dialect if isinstance(conn, AsyncConnection) else conn.bind.dialect
    return dialect.name == "postgresql"


def among(conn: AsyncConnection | AsyncSession, column, values: Sequence) -> ColumnElement[bool]:  # noqa: ANN001
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter however many
    values (rendering a thousand parameters per statement costs more than running it)."""
    if is_postgresql(conn):
        kind = Integer() if values and isinstance(values[0], int) else String()
        return column == any_(bindparam(None, list(values), type_=ARRAY(kind)))
    return column.in_(values)


def insert_for(conn: AsyncConnection | AsyncSession):  # noqa: ANN201
    """The dialect's ``insert`` (with ``on_conflict_do_update``/``_nothing``)."""
    return postgresql.insert if is_postgresql(conn) else sqlite.insert


async def connection_transaction(store: Store, work: Callable[[AsyncConnection], Awaitable[T]], what: str) -> T:
    """Like :meth:`Store.transaction` (retried when the database is briefly busy or away), on a
    plain connection: hot statements skip the ORM session's bookkeeping."""
    delay = 0.05
    for attempt in range(1, 9):
        try:
            async with store.engine.begin() as conn:
                return await work(conn)
        except (OperationalError, DBAPIError, OSError, ConnectionError) as exc:
            if not is_transient(exc) or attempt == 8:
                raise
            await asyncio.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
    raise AssertionError(f"unreachable ({what})")
