"""Appending to the audit trail under the chain-head lock, and reading it back."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Generator, Mapping
from contextlib import closing
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from ulid import ULID

from ..keys import now
from ..tables import audit_chain, audit_events
from .chain import GENESIS, Verdict, as_utc, record_hash, verify

SCHEMA_VERSION = 1
# One appender per process at a time. The others wait here, where a release wakes the next
# at once, not in the database: SQLite polls a busy lock with sleeps of up to 100 ms (the
# p99 of a loaded service), and PostgreSQL would park a pooled connection per waiter.
_APPEND_LOCK = threading.Lock()


def content_fields(text: str | None, store_content: bool) -> dict[str, str | None]:
    """The generated text, or only its SHA-256 when content is not stored."""
    digest = hashlib.sha256(text.encode()).hexdigest() if text is not None else None
    return {"content": text if store_content else None, "content_sha256": digest}


def append(engine: Engine, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain and insert `records` in one transaction; returns them as stored.

    The chain head row is locked (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite) only
    for the insert itself, never across an upstream call.
    """
    with _APPEND_LOCK, engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            head = conn.execute(
                sa.select(audit_chain.c.head_seq, audit_chain.c.head_hash)
                .where(audit_chain.c.id == 1)
                .with_for_update()
            ).one()
            seq, prev_hash = head.head_seq, head.head_hash
            stored = []
            for record in records:
                seq += 1
                row = {
                    **record,
                    "seq": seq,
                    "id": str(ULID()),
                    "time": now(),
                    "schema_version": SCHEMA_VERSION,
                    "prev_hash": prev_hash,
                }
                row["hash"] = prev_hash = record_hash(row)
                stored.append(row)
            conn.execute(audit_events.insert(), stored)
            conn.execute(
                audit_chain.update()
                .where(audit_chain.c.id == 1)
                .values(head_seq=seq, head_hash=prev_hash)
            )
    return stored


def chain_state(engine: Engine) -> Mapping[str, Any]:
    """The chain's head and anchor."""
    with engine.connect() as conn:
        return _chain_row(conn)


def _chain_row(conn: sa.Connection) -> dict[str, Any]:
    return dict(conn.execute(sa.select(audit_chain).where(audit_chain.c.id == 1)).mappings().one())


def iter_records(
    engine: Engine, *, since: datetime | None = None, until: datetime | None = None
) -> Generator[dict[str, Any]]:
    """Records in chain order, streamed in batches (constant memory)."""
    query = sa.select(audit_events).order_by(audit_events.c.seq)
    if since:
        query = query.where(audit_events.c.time >= as_utc(since))
    if until:
        query = query.where(audit_events.c.time < as_utc(until))
    with engine.connect() as conn:
        yield from _stream(conn, query)


def _stream(
    conn: sa.Connection, query: sa.Select[Any], batch: int = 1000
) -> Generator[dict[str, Any]]:
    options = {"stream_results": True, "yield_per": batch}
    with conn.execute(query, execution_options=options) as result:
        for row in result.mappings():
            yield dict(row)


def verify_chain(engine: Engine) -> Verdict:
    """Walk the chain from the stored anchor to the stored head, read in one snapshot."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # One snapshot: records appended during the walk are neither seen nor missed.
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            state = _chain_row(conn)
            query = sa.select(audit_events).order_by(audit_events.c.seq)
            # closing(): a walk that stops at a broken link releases its cursor at once.
            with closing(_stream(conn, query)) as rows:
                return verify(
                    rows,
                    anchor_seq=state["anchor_seq"],
                    anchor_hash=state["anchor_hash"],
                    head_seq=state["head_seq"],
                    head_hash=state["head_hash"],
                )


def prune(engine: Engine, cutoff: datetime) -> int:
    """Delete records older than `cutoff`; the oldest kept record becomes the stored anchor."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            head = (
                conn.execute(sa.select(audit_chain).where(audit_chain.c.id == 1).with_for_update())
                .mappings()
                .one()
            )
            first_kept = conn.execute(
                sa.select(audit_events.c.seq, audit_events.c.prev_hash)
                .where(audit_events.c.time >= cutoff)
                .order_by(audit_events.c.seq)
                .limit(1)
            ).first()
            anchor_seq, anchor_hash = (
                (first_kept.seq, first_kept.prev_hash)
                if first_kept
                else (head["head_seq"] + 1, head["head_hash"] or GENESIS)
            )
            deleted = conn.execute(
                audit_events.delete().where(audit_events.c.seq < anchor_seq)
            ).rowcount
            conn.execute(
                audit_chain.update()
                .where(audit_chain.c.id == 1)
                .values(anchor_seq=anchor_seq, anchor_hash=anchor_hash)
            )
    return int(deleted)
