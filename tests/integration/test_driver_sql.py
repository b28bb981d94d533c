"""Statements run on the driver's cursor store what SQLAlchemy would, and fail as it would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from ielts_service.audit.store import pipelined_write, write_transaction
from ielts_service.db import get_engine_of
from ielts_service.driver_sql import DriverStatement
from ielts_service.tables import AUDIT_FIELDS, audit_events

pytestmark = pytest.mark.usefixtures("backend")

INSERT = DriverStatement(audit_events.insert())
BY_SEQ = DriverStatement(
    sa.select(audit_events.c.id, audit_events.c.seq).where(
        audit_events.c.seq == sa.bindparam("seq")
    )
)


def _row(seq: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = {f.name: None for f in AUDIT_FIELDS}
    row.update(
        seq=seq,
        id=f"driver-sql-{seq}",
        time=datetime(2026, 12, 1, 6, 50, 1, 123456, tzinfo=UTC),
        schema_version=3,
        kind="key_updated",
        prev_hash="0" * 64,
        hash=f"{seq:064d}",
    )
    row.update(values)
    return row


def test_rows_written_on_the_driver_read_back_through_sqlalchemy_unchanged(app: Flask) -> None:
    engine = get_engine_of(app)
    written = [
        _row(10_001, change={"scopes": ["a", "b"], "rate_limit": None}, output_valid=True),
        _row(10_002, latency_ms=12, on_topic=False, content="déjà vu: 質問"),
    ]
    with write_transaction(engine) as conn:
        INSERT.execute_many(conn, written)
    with engine.connect() as conn:
        query = sa.select(audit_events).where(audit_events.c.seq > 10_000).order_by("seq")
        stored = [dict(row) for row in conn.execute(query).mappings()]
    for row in stored:
        row["time"] = row["time"].replace(tzinfo=UTC)  # SQLite keeps no zone
    assert stored == written
    assert isinstance(stored[1]["latency_ms"], float)


def test_a_statement_returning_rows_gives_the_first(app: Flask) -> None:
    engine = get_engine_of(app)
    with write_transaction(engine) as conn:
        INSERT.execute_many(conn, [_row(10_003)])
        assert BY_SEQ.execute(conn, {"seq": 10_003}) == ("driver-sql-10003", 10_003)
        assert BY_SEQ.execute(conn, {"seq": 10_004}) is None


def test_a_driver_error_is_sqlalchemys_and_rolls_the_transaction_back(app: Flask) -> None:
    engine = get_engine_of(app)
    with write_transaction(engine) as conn:
        INSERT.execute_many(conn, [_row(10_005)])
        with pytest.raises(sa.exc.IntegrityError) as raised:
            INSERT.execute_many(conn, [_row(10_005)])  # the same primary key again
        conn.rollback()
    assert "audit_events" in str(raised.value.statement)
    with engine.connect() as conn:
        count = sa.select(sa.func.count()).where(audit_events.c.seq == 10_005)
        assert conn.execute(count).scalar_one() == 0


def test_in_a_pipeline_rows_are_fetched_and_a_late_error_is_sqlalchemys(app: Flask) -> None:
    """psycopg answers a pipeline's statements together: the error of an insert arrives when
    the block ends, and must still come out as SQLAlchemy's, with nothing committed."""
    engine = get_engine_of(app)
    with pipelined_write(engine) as conn:
        INSERT.execute_many(conn, [_row(10_006)])
        assert BY_SEQ.execute(conn, {"seq": 10_006}) == ("driver-sql-10006", 10_006)
    with pytest.raises(sa.exc.IntegrityError):
        _insert_in_a_pipeline(engine, [_row(10_007), _row(10_006)])  # 10,006 is there
    with engine.connect() as conn:
        stored = sa.select(audit_events.c.seq).where(audit_events.c.seq > 10_005)
        assert conn.execute(stored).scalars().all() == [10_006]


def test_a_pipelined_write_that_fails_in_python_commits_nothing(app: Flask) -> None:
    """On PostgreSQL the block runs in autocommit with its own BEGIN: the pipeline's end,
    reached by an exception, must not commit what was already sent."""
    engine = get_engine_of(app)
    with pytest.raises(RuntimeError):
        _insert_then_fail(engine, _row(10_008))
    with pipelined_write(engine) as conn:  # the connection went back to the pool usable
        INSERT.execute_many(conn, [_row(10_009)])
    with engine.connect() as conn:
        stored = sa.select(audit_events.c.seq).where(audit_events.c.seq > 10_007)
        assert conn.execute(stored).scalars().all() == [10_009]


def _insert_then_fail(engine: sa.Engine, row: dict[str, object]) -> None:
    with pipelined_write(engine) as conn:
        INSERT.execute_many(conn, [row])
        raise RuntimeError("the record could not be finished")


def _insert_in_a_pipeline(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    with pipelined_write(engine) as conn:
        for row in rows:
            INSERT.execute_many(conn, [row])
