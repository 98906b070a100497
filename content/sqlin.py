"""Small SQL helpers shared by bulk writers: ``IN`` lists, the dialect's upsert, retried transactions."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import ARRAY, Integer, String, Table, any_, bindparam, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from content.db import Store, is_transient

T = TypeVar("T")


def is_postgresql(conn: AsyncConnection | AsyncSession) -> bool:
    if isinstance(conn, AsyncConnection):
        return conn.dialect.name == "postgresql"
    assert conn.bind is not None  # sessions are always made by a bound sessionmaker
    return conn.bind.dialect.name == "postgresql"


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


async def execute_many(conn: AsyncConnection, stmt: ClauseElement, rows: Sequence[Mapping[str, Any]],
                       constants: Mapping[str, Any] | None = None) -> None:
    """Run ``stmt`` (an INSERT, possibly with ON CONFLICT) once per row in one executemany call
    of the driver. The statement is compiled once and each value converted by its column type
    directly: for a hundred thousand rows SQLAlchemy's per-row parameter handling costs more
    than the database work. ``constants`` are the same for every row (converted once)."""
    if not rows:
        return
    dialect = conn.dialect
    constants = dict(constants or {})
    varying = list(rows[0])
    # a statement compiles to a SQLCompiler; the stubs only promise the Compiled base class
    compiled = cast(SQLCompiler, stmt.compile(dialect=dialect, column_keys=varying + list(constants)))
    template: list[Any] = []
    varying_at: list[tuple[int, str, Callable[[Any], Any] | None]] = []
    for position, name in enumerate(compiled.positiontup or ()):
        bind = compiled.binds[name]
        convert: Callable[[Any], Any] | None = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in varying:
            varying_at.append((position, name, convert))
            template.append(None)
        else:
            value = constants[name] if name in constants else bind.effective_value
            template.append(convert(value) if convert else value)
    params = []
    for row in rows:
        values = template.copy()
        for position, name, convert in varying_at:
            values[position] = convert(row[name]) if convert else row[name]
        params.append(tuple(values))
    await conn.exec_driver_sql(compiled.string, params)


async def insert_many(conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]],
                      constants: Mapping[str, Any], on_conflict: Callable[[Any], Any]) -> None:
    """``INSERT`` one row per element of ``rows`` (same keys in each; ``constants`` fill the other
    columns), with ``on_conflict`` applied to the dialect's insert. PostgreSQL gets one statement
    reading the rows from ``unnest`` of one array per column; SQLite one executemany call."""
    if not rows:
        return
    if not is_postgresql(conn):
        await execute_many(conn, on_conflict(sqlite.insert(table)), rows, constants)
        return
    keys = list(rows[0])
    arrays = func.unnest(*(bindparam(f"many_{k}", [row[k] for row in rows], type_=ARRAY(table.c[k].type))
                           for k in keys)).table_valued(*keys).render_derived()
    columns = list(constants) + keys
    source = select(*(literal(v, table.c[k].type) for k, v in constants.items()), *(arrays.c[k] for k in keys))
    await conn.execute(on_conflict(postgresql.insert(table).from_select(columns, source)))
