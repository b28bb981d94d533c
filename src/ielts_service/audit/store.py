"""Appending to the audit trail under the chain-head lock, and reading it back."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from ulid import ULID

from ..clock import as_utc, iso_utc, now
from ..driver_sql import DriverStatement, pipelined_transaction
from ..in_flight import requests_in_flight
from ..tables import AUDIT_FIELDS, AUDIT_SCHEMA_VERSION, audit_chain, audit_events, audit_intents
from .chain import READ_ORDER, Verdict, record_hash, verify

# What callers give: every field but those the chain sets; any they leave out is null.
_WRITTEN = frozenset(f.name for f in AUDIT_FIELDS) - {
    "seq",
    "id",
    "time",
    "schema_version",
    "prev_hash",
    "hash",
}
_EMPTY = {f.name: f.absent for f in AUDIT_FIELDS if f.name in _WRITTEN}

# The append path's statements, compiled once per dialect and run on the driver's cursor
# (driver_sql.py): every AI request writes through them.
HEAD_FOR_UPDATE = (
    sa.select(audit_chain.c.head_seq, audit_chain.c.head_hash)
    .where(audit_chain.c.id == 1)
    .with_for_update()
)
_HEAD = DriverStatement(HEAD_FOR_UPDATE)
_INSERT_RECORDS = DriverStatement(audit_events.insert())
_MOVE_HEAD = DriverStatement(
    audit_chain.update()
    .where(audit_chain.c.id == 1)
    .values(head_seq=sa.bindparam("new_seq"), head_hash=sa.bindparam("new_hash"))
)
_CLOSE_INTENT = DriverStatement(
    audit_intents.delete().where(audit_intents.c.id == sa.bindparam("id"))
)


Progress = Callable[[int, int], None]  # (records done, total)
T = TypeVar("T")


class AppendFailed(sa.exc.SQLAlchemyError):
    """The transaction that carried these records failed; none of them was committed."""


@dataclass
class _Batch:
    """One caller's records, waiting to be written (by that caller or by another)."""

    engine: Engine
    records: list[dict[str, Any]]
    intent_ids: Sequence[str] = ()
    stored: list[dict[str, Any]] | None = None
    error: BaseException | None = None


# Group commit. Appenders queue their batch, then take the append lock; whoever holds it
# writes every batch queued for its engine in one transaction (one chain-head lock, one
# commit), so under load a single commit carries many requests' records. A caller whose
# batch a previous holder wrote returns at once. Waiting here, not in the database, also
# spares SQLite's busy-lock polling (sleeps of up to 100 ms) and PostgreSQL a pooled
# connection per waiter.
_APPEND_LOCK = threading.Lock()
_QUEUE_LOCK = threading.Lock()
_queued: list[_Batch] = []
# Under load the writer waits a moment for the records arriving meanwhile, as PostgreSQL's
# commit_delay does: only when at least COMMIT_SIBLINGS other requests are in flight in this
# process and the previous write began less than COMMIT_DELAY_S ago. A commit's fixed cost
# (BEGIN, the head row, COMMIT: about three quarters of a one-record transaction on SQLite)
# is then shared. A lone client, or records written less often than that, never wait.
COMMIT_DELAY_S = 0.002
COMMIT_SIBLINGS = 4
_last_write = 0.0


def content_fields(text: str | None, store_content: bool) -> dict[str, str | None]:
    """The generated text, or only its SHA-256 when content is not stored."""
    digest = hashlib.sha256(text.encode()).hexdigest() if text is not None else None
    return {"content": text if store_content else None, "content_sha256": digest}


def append(
    engine: Engine, records: list[dict[str, Any]], intent_ids: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Chain and commit `records`, closing the calls' intents (audit/intents.py) in the same
    transaction; returns them as stored, or raises once nothing was committed.

    The chain head row is locked (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) only
    for the insert itself, never across an upstream call.
    """
    batch = _Batch(engine, records, intent_ids)
    with _QUEUE_LOCK:
        _queued.append(batch)
    with _APPEND_LOCK:
        if batch.stored is None and batch.error is None:
            _gather_under_load()
            _write_queued(engine)
    if batch.error is not None:
        raise AppendFailed(f"audit append failed: {batch.error}") from batch.error
    assert batch.stored is not None
    return batch.stored


def _gather_under_load() -> None:
    global _last_write  # guarded by the append lock
    busy = requests_in_flight() > COMMIT_SIBLINGS  # this request is one of them
    if busy and time.monotonic() - _last_write < COMMIT_DELAY_S:
        time.sleep(COMMIT_DELAY_S)
    _last_write = time.monotonic()


def _write_queued(engine: Engine) -> None:
    """Write every batch queued for `engine` in one transaction; record the outcome on each."""
    with _QUEUE_LOCK:
        batches = [b for b in _queued if b.engine is engine]
        _queued[:] = [b for b in _queued if b.engine is not engine]
    try:
        stored = _insert_chained(
            engine,
            [r for b in batches for r in b.records],
            [i for b in batches for i in b.intent_ids],
        )
    except Exception as exc:  # every batch in the transaction failed with it
        for b in batches:
            b.error = exc
        return
    for b in batches:
        b.stored, stored = stored[: len(b.records)], stored[len(b.records) :]


def _insert_chained(
    engine: Engine, records: list[dict[str, Any]], intent_ids: list[str]
) -> list[dict[str, Any]]:
    with pipelined_write(engine) as conn:
        stored = insert_chained(conn, records)
        close_intents(conn, intent_ids)
        return stored


@contextmanager
def write_transaction(engine: Engine) -> Iterator[sa.Connection]:
    """A transaction that writes. On SQLite it takes the write lock at BEGIN, waiting for it
    in Python (db.py), so a gevent worker's other greenlets run meanwhile; a deferred BEGIN
    would wait inside SQLite's busy handler, and freeze the worker, at its first write."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            yield conn


@contextmanager
def pipelined_write(engine: Engine) -> Iterator[sa.Connection]:
    """A write transaction sent in one go where the driver can: on PostgreSQL its BEGIN,
    statements and COMMIT travel together (driver_sql.pipelined_transaction), one round trip
    plus one per statement whose rows are read; on SQLite, `write_transaction`."""
    if engine.dialect.name != "postgresql":
        with write_transaction(engine) as conn:
            yield conn
        return
    with engine.connect() as conn, pipelined_transaction(conn):
        yield conn


def close_intents(conn: sa.Connection, intent_ids: Sequence[str]) -> None:
    """Delete the intents of calls whose records this transaction chains."""
    if intent_ids:
        _CLOSE_INTENT.execute_many(conn, [{"id": intent_id} for intent_id in intent_ids])


def insert_chained(conn: sa.Connection, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain `records` onto the head inside the caller's transaction; returns them as stored.

    The head row stays locked (FOR UPDATE) until that transaction ends.
    """
    unknown = {name for record in records for name in record} - _WRITTEN
    if unknown:
        raise ValueError(f"not audit record fields: {', '.join(sorted(unknown))}")
    head = _HEAD.execute(conn)
    assert head is not None  # the migrations create the row
    seq, prev_hash = head
    stored = []
    for record in records:
        seq += 1
        row = {
            **_EMPTY,
            **record,
            "seq": seq,
            "id": str(ULID()),
            "time": now(),
            "schema_version": AUDIT_SCHEMA_VERSION,
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = record_hash(row)
        stored.append(row)
    _INSERT_RECORDS.execute_many(conn, stored)
    _MOVE_HEAD.execute(conn, {"new_seq": seq, "new_hash": prev_hash})
    return stored


def chain_state(engine: Engine) -> Mapping[str, Any]:
    """The chain's head and anchor."""
    with engine.connect() as conn:
        return _chain_row(conn)


def _chain_row(conn: sa.Connection) -> dict[str, Any]:
    return dict(conn.execute(sa.select(audit_chain).where(audit_chain.c.id == 1)).mappings().one())


def iter_records(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
) -> Generator[dict[str, Any]]:
    """Records in chain order, streamed in batches (constant memory)."""
    query = sa.select(audit_events)
    if since:
        query = query.where(audit_events.c.time >= as_utc(since))
    if until:
        query = query.where(audit_events.c.time < as_utc(until))
    with engine.connect() as conn:
        total = 0
        if progress:
            total = conn.execute(
                sa.select(sa.func.count()).select_from(query.subquery())
            ).scalar_one()
        yield from _counted(_stream(conn, query.order_by(audit_events.c.seq)), total, progress)


def _stream(conn: sa.Connection, query: sa.Select[Any]) -> Generator[dict[str, Any]]:
    with _rows(conn, query) as result:
        names = tuple(result.keys())
        for row in result:  # plain rows: far cheaper than mappings
            yield dict(zip(names, row, strict=True))


def _rows(conn: sa.Connection, query: sa.Select[Any], batch: int = 1000) -> sa.CursorResult[Any]:
    return conn.execute(query, execution_options={"stream_results": True, "yield_per": batch})


def verify_chain(
    engine: Engine,
    *,
    from_seq: int | None = None,
    link: str | None = None,
    checkpoints: Mapping[int, str] | None = None,
    progress: Progress | None = None,
) -> Verdict:
    """Walk the chain to the stored head, read in one snapshot: from the stored anchor, or from
    record `from_seq`, which must link to `link` (default: the prev_hash it holds)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # One snapshot: records appended during the walk are neither seen nor missed.
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            state = _chain_row(conn)
            start, start_hash = state["anchor_seq"], state["anchor_hash"]
            if from_seq is not None and from_seq > start:
                start, start_hash = from_seq, link or _link_into(conn, from_seq, state)
            # closing(): a walk that stops at a broken link releases its cursor at once.
            with closing(_chain_rows(conn, start)) as rows:
                return verify(
                    _counted(rows, state["head_seq"] - start + 1, progress),
                    anchor_seq=start,
                    anchor_hash=start_hash,
                    head_seq=state["head_seq"],
                    head_hash=state["head_hash"],
                    checkpoints=checkpoints,
                )


# iso_utc's form of a time, written by PostgreSQL itself.
_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
_TIME = READ_ORDER.index("time")


def _chain_rows(conn: sa.Connection, start: int) -> Generator[Sequence[Any]]:
    """Records from `start` on in seq order: tuples in READ_ORDER, time as ISO 8601 text."""
    postgres = conn.dialect.name == "postgresql"
    time: sa.ColumnElement[Any] = audit_events.c.time
    if postgres:
        time = sa.func.to_char(sa.func.timezone("UTC", time), _ISO_UTC)
    columns = [time if name == "time" else audit_events.c[name] for name in READ_ORDER]
    query = sa.select(*columns).where(audit_events.c.seq >= start).order_by(audit_events.c.seq)
    if postgres:
        yield from _server_cursor(conn, query)
        return
    with _rows(conn, query) as result:
        for row in result:
            values = list(row)
            values[_TIME] = iso_utc(values[_TIME])
            yield values


def _server_cursor(conn: sa.Connection, query: sa.Select[Any]) -> Generator[tuple[Any, ...]]:
    """PostgreSQL: the rows of `query` as plain tuples, from a binary server-side cursor read
    5,000 at a time (constant memory), without SQLAlchemy's per-row objects."""
    driver = conn.connection.driver_connection
    assert driver is not None  # a live, checked-out connection
    with driver.cursor("audit_verify", binary=True) as cursor:
        cursor.itersize = 5000
        cursor.execute(str(query.compile(conn, compile_kwargs={"literal_binds": True})))
        yield from cursor


def _link_into(conn: sa.Connection, seq: int, state: Mapping[str, Any]) -> str:
    """The prev_hash record `seq` holds (the head's hash just past the head)."""
    if seq == state["head_seq"] + 1:
        return str(state["head_hash"])
    query = sa.select(audit_events.c.prev_hash).where(audit_events.c.seq == seq)
    found = conn.execute(query).scalar()
    return found if found is not None else "(no such record)"


def _counted(
    rows: Iterator[T], total: int, progress: Progress | None, every: int = 10_000
) -> Iterator[T]:
    """`rows`, reporting progress every `every` records."""
    if progress is None:
        yield from rows
        return
    done = 0
    for done, row in enumerate(rows, 1):
        if done % every == 0:
            progress(done, total)
        yield row
    progress(done, total)
