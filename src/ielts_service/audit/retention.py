"""Retention: delete records older than a cutoff; the oldest kept one anchors the chain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..clock import as_utc, iso_utc
from ..tables import audit_chain, audit_events
from .chain import GENESIS
from .operator import record_operator_action
from .store import write_transaction

BATCH = 10_000  # records deleted per statement, so progress can be shown


@dataclass(frozen=True)
class Pruned:
    """What a prune deleted (or, dry, would delete)."""

    deleted: int
    first_seq: int | None  # the range deleted, when any
    last_seq: int | None
    anchor_seq: int  # the first record kept (or the next one to be written)


def prune(
    engine: Engine,
    cutoff: datetime,
    *,
    actor: str,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Pruned:
    """Delete records older than `cutoff` and record `audit_pruned`, in one transaction."""
    with write_transaction(engine) as conn:
        head = (
            conn.execute(sa.select(audit_chain).where(audit_chain.c.id == 1).with_for_update())
            .mappings()
            .one()
        )
        first_kept = conn.execute(
            sa.select(audit_events.c.seq, audit_events.c.prev_hash)
            .where(audit_events.c.time >= as_utc(cutoff))
            .order_by(audit_events.c.seq)
            .limit(1)
        ).first()
        anchor_seq, anchor_hash = (
            (first_kept.seq, first_kept.prev_hash)
            if first_kept
            else (head["head_seq"] + 1, head["head_hash"] or GENESIS)
        )
        old_anchor = head["anchor_seq"]
        doomed = audit_events.c.seq < anchor_seq
        deleted, first_seq, last_seq = conn.execute(
            sa.select(
                sa.func.count(), sa.func.min(audit_events.c.seq), sa.func.max(audit_events.c.seq)
            ).where(doomed)
        ).one()
        result = Pruned(deleted, first_seq, last_seq, anchor_seq)
        if dry_run or not deleted:  # nothing written: the transaction commits nothing
            return result
        _delete(conn, first_seq, anchor_seq, progress)
        conn.execute(
            audit_chain.update()
            .where(audit_chain.c.id == 1)
            .values(anchor_seq=anchor_seq, anchor_hash=anchor_hash)
        )
        change = {
            "anchor_seq": {"old": old_anchor, "new": anchor_seq},
            "anchor_hash": {"old": head["anchor_hash"], "new": anchor_hash},
            "cutoff": {"old": None, "new": iso_utc(cutoff)},
        }
        record_operator_action(
            conn, kind="audit_pruned", actor=actor, target_key_id=None, change=change
        )
    return result


def _delete(
    conn: sa.Connection,
    start: int,
    stop: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Delete records start..stop-1 in batches, reporting records done / total."""
    total = stop - start
    for low in range(start, stop, BATCH):
        high = min(low + BATCH, stop)
        conn.execute(
            audit_events.delete().where(audit_events.c.seq >= low, audit_events.c.seq < high)
        )
        if progress:
            progress(high - start, total)
