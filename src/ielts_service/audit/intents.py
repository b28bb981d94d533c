"""Model calls in flight: an intent row before each upstream call, closed by its audit record.

A worker killed mid-call (kill -9, out of memory, a lost node) never writes the call's record,
although the call may have cost tokens. Its intent rows stay behind; the sweep chains each one
as a `model_call` record with outcome `abandoned`, so every upstream call is accounted for.
Intents are outside the hash chain: writing one is a single small insert.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from ulid import ULID

from .. import metrics
from ..clock import as_utc, now
from ..driver_sql import DriverStatement
from ..tables import audit_intents
from . import store
from .chain import jsonable

OUTCOME = "abandoned"
log = logging.getLogger("ielts_service.audit")


def _host() -> str:
    """This host and PID namespace: a pid names a process only inside both."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}/{namespace}"


_HOST = _host()
_INSERT_INTENTS = DriverStatement(audit_intents.insert())
# Intents this process gave up on while alive (the audit store failed at the record's commit,
# or the call raised): its own sweep closes them once the store answers again.
_released: set[str] = set()
_released_lock = threading.Lock()


def owner() -> str:
    """The current process, as its intents name it."""
    return f"{_HOST}:{os.getpid()}"


def open_intents(engine: Engine, calls: Sequence[Mapping[str, Any]]) -> list[str]:
    """Record calls about to go upstream (request fields, part, topic, provider, model)."""
    started, who = now(), owner()
    rows = [{**call, "id": str(ULID()), "owner": who, "started_at": started} for call in calls]
    with store.pipelined_write(engine) as conn:  # one round trip on PostgreSQL
        _INSERT_INTENTS.execute_many(conn, rows)
    return [row["id"] for row in rows]


def release(intent_ids: Sequence[str]) -> None:
    """Hand calls whose record this live process could not write to the sweep."""
    with _released_lock:
        _released.update(intent_ids)


def sweep(engine: Engine, stale_after_s: float) -> int:
    """Chain the intents of dead workers, those this process released, and any older than
    `stale_after_s` as `abandoned` records; returns how many. Safe to run in every worker of
    every replica at once."""
    cutoff = now() - timedelta(seconds=stale_after_s)
    with engine.connect() as conn:
        candidates = conn.execute(
            sa.select(audit_intents.c.id, audit_intents.c.owner, audit_intents.c.started_at)
        ).all()
    with _released_lock:
        released = set(_released)
    gone = [
        row.id
        for row in candidates
        if row.id in released or _abandoned(row.owner, row.started_at, cutoff)
    ]
    if not gone:
        return 0
    with store.write_transaction(engine) as conn:
        # The chain head first, as every append takes it: sweepers and appenders queue in one
        # order, and an intent still here now is one no record has closed.
        conn.execute(store.HEAD_FOR_UPDATE)
        query = sa.select(audit_intents).where(audit_intents.c.id.in_(gone))
        rows = conn.execute(query).mappings().all()
        if not rows:
            return 0
        stored = store.insert_chained(conn, [_record(dict(row)) for row in rows])
        closed = [row["id"] for row in rows]
        store.close_intents(conn, closed)
    with _released_lock:
        _released.difference_update(closed)
    metrics.AUDIT_ABANDONED.inc(len(stored))
    for record in stored:
        log.warning("model call abandoned by a dead worker", extra={"audit": jsonable(record)})
    return len(stored)


def _abandoned(who: str, started_at: datetime, cutoff: datetime) -> bool:
    host, _, pid = who.rpartition(":")
    if as_utc(started_at) < cutoff:
        return True
    return host == _HOST and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _record(intent: Mapping[str, Any]) -> dict[str, Any]:
    """The audit record of a call whose worker died: what was asked, no answer, no status."""
    fields = ("request_id", "key_id", "client_ip", "route", "part", "topic", "provider", "model")
    return {"kind": "model_call", "outcome": OUTCOME, **{name: intent[name] for name in fields}}


def start_sweeper(engine: Engine, every_s: float, stale_after_s: float) -> threading.Thread:
    """Sweep now (a worker starting may follow one that died), then every `every_s` seconds."""

    def run() -> None:
        while True:
            try:
                sweep(engine, stale_after_s)
            except sa.exc.SQLAlchemyError as exc:  # the database is down: try again later
                log.warning("abandoned-call sweep failed: %s", type(exc.__cause__ or exc).__name__)
            time.sleep(every_s)

    thread = threading.Thread(target=run, name="audit-intent-sweep", daemon=True)
    thread.start()
    return thread
