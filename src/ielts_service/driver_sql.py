"""Core statements compiled once per dialect and run on the driver's own cursor.

The audit trail writes on every AI request, and SQLAlchemy's per-execution work (compiled-cache
lookup, execution context, events, result objects) cost several times what SQLite spends on
the statement itself: about 30 us a statement against 5-10. A `DriverStatement` keeps the
compiled SQL, the parameter order and the columns' bind processors (what SQLAlchemy applies to
the same values: SQLite's datetime text, JSON), and executes on the cursor of a connection the
caller checked out and began through SQLAlchemy, so pooling, transactions and SQLite's
cooperative BEGIN IMMEDIATE (db.py) are unchanged. Driver errors come out as SQLAlchemy's
DBAPIError, as from `Connection.execute`; a lost connection is invalidated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]  # the statement's own bound values (e.g. `id = 1`)
    positions: tuple[str, ...] | None  # parameter names in order, for a positional paramstyle
    processors: dict[str, Processor]
    returns_rows: bool


class DriverStatement:
    """A Core statement without expanding parameters (`IN` lists), run on the raw cursor."""

    def __init__(self, statement: sa.Executable) -> None:
        self._statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def execute(
        self, conn: sa.Connection, params: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        """Run once; returns the first row, if the statement returns rows."""
        compiled = self._compiled(conn.dialect)
        with _cursor(conn, compiled.sql) as cursor:
            cursor.execute(compiled.sql, _bound(compiled, params or {}))
            # Fetching waits for the answer, also inside a pipeline (pipelined_transaction).
            return cursor.fetchone() if compiled.returns_rows else None

    def execute_many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row, in one driver call (psycopg pipelines it)."""
        compiled = self._compiled(conn.dialect)
        with _cursor(conn, compiled.sql) as cursor:
            cursor.executemany(compiled.sql, [_bound(compiled, row) for row in rows])

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _compile(self._statement, dialect)
        return found


def _compile(statement: sa.Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    processors = {}
    for bind in compiled.binds.values():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[compiled.bind_names[bind]] = processor
    positions = tuple(compiled.positiontup) if compiled.positional else None
    returns_rows = bool(getattr(statement, "is_select", False))
    return _Compiled(compiled.string, dict(compiled.params), positions, processors, returns_rows)


def _bound(compiled: _Compiled, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    params = {**compiled.defaults, **values}
    for name, processor in compiled.processors.items():
        params[name] = processor(params[name])
    if compiled.positions is None:
        return params
    return [params[name] for name in compiled.positions]


@contextmanager
def pipelined_transaction(conn: sa.Connection) -> Iterator[None]:
    """A transaction whose BEGIN and COMMIT travel with its statements (psycopg's pipeline).

    Statements inside go out without waiting for one another's answers: a statement whose
    rows are fetched waits for the answers so far (a Flush, which ends no transaction), the
    rest, COMMIT included, are answered together when the block ends. A transaction then costs
    one round trip plus one per fetch; psycopg's own would add one for its BEGIN and one for
    its COMMIT. The connection is put in autocommit so that BEGIN and COMMIT are the block's
    own statements. Anything failing in the block, in Python or on the server, rolls back:
    the pipeline's end commits nothing by itself inside BEGIN. Only for a driver with a
    pipeline (PostgreSQL's psycopg)."""
    driver = conn.connection.driver_connection
    assert driver is not None  # a live, checked-out connection
    driver.autocommit = True
    try:
        with _driver_errors(conn, "(pipeline)"), driver.pipeline():
            driver.execute(b"BEGIN")
            yield
            driver.execute(b"COMMIT")
    except BaseException:
        if not conn.invalidated:  # a lost connection rolled back with the server's session
            with suppress(conn.dialect.loaded_dbapi.Error):
                driver.rollback()
        raise
    finally:
        if not conn.invalidated:
            try:
                driver.autocommit = False
            except conn.dialect.loaded_dbapi.Error:  # still in a transaction: not reusable
                conn.invalidate()


@contextmanager
def _cursor(conn: sa.Connection, sql: str) -> Iterator[Any]:
    """A cursor of the connection's driver connection; driver errors become DBAPIError."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with _driver_errors(conn, sql, cursor):
            yield cursor
    finally:
        cursor.close()


@contextmanager
def _driver_errors(conn: sa.Connection, sql: str, cursor: Any = None) -> Iterator[None]:
    """The driver's errors as SQLAlchemy's DBAPIError; a lost connection is invalidated."""
    dialect = conn.dialect
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        ) from exc
