"""`audit verify`: the chain, checked against every signed checkpoint, and a record of each run.

Modes: from the stored anchor (everything kept); `from_seq` (records from N on, trusting the
link record N holds); incremental (from the newest checkpoint a successful run already covered,
trusting only its signature). A range never sees tampering before its first record.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from ..clock import now
from ..tables import audit_verifications
from . import checkpoints, store
from .chain import Verdict


def verify(
    engine: Engine,
    public: Ed25519PublicKey | None,
    *,
    extra: Sequence[checkpoints.Checkpoint] = (),
    from_seq: int | None = None,
    incremental: bool = False,
    progress: store.Progress | None = None,
) -> Verdict:
    """Check the signatures of the stored checkpoints (and `extra` ones), then the chain."""
    with engine.connect() as conn:
        signed = [*checkpoints.stored(conn), *extra]
        start = _last_verified(conn, signed) if incremental else None
    problem = _signature_problem(signed, public)
    if problem:
        return Verdict(False, 0, reason=problem)
    by_seq: dict[int, str] = {}
    for checkpoint in signed:
        if by_seq.setdefault(checkpoint.seq, checkpoint.hash) != checkpoint.hash:
            return Verdict(False, 0, checkpoint.seq, None, "two checkpoints sign different hashes")
    if start is not None:
        from_seq, link = start.seq + 1, start.hash
    else:
        link = None
    return store.verify_chain(
        engine, from_seq=from_seq, link=link, checkpoints=by_seq, progress=progress
    )


def record(engine: Engine, verdict: Verdict) -> None:
    """Store the outcome of a run: the verification metrics are read from these rows."""
    with engine.begin() as conn:
        conn.execute(
            audit_verifications.insert().values(
                finished_at=now(),
                ok=verdict.ok,
                from_seq=verdict.from_seq or 0,
                to_seq=verdict.head_seq,
                checked=verdict.checked,
                reason=verdict.reason,
            )
        )


def _signature_problem(
    signed: Sequence[checkpoints.Checkpoint], public: Ed25519PublicKey | None
) -> str | None:
    if signed and public is None:
        return (
            f"AUDIT_VERIFY_KEY_FILE is not set: {len(signed)} signed checkpoints cannot be checked"
        )
    for checkpoint in signed:
        assert public is not None
        problem = checkpoints.signature_problem(checkpoint, public)
        if problem:
            return problem
    return None


def _last_verified(
    conn: sa.Connection, signed: Sequence[checkpoints.Checkpoint]
) -> checkpoints.Checkpoint | None:
    """The newest checkpoint that a successful run had verified the chain up to."""
    reached = conn.execute(
        sa.select(sa.func.max(audit_verifications.c.to_seq)).where(audit_verifications.c.ok)
    ).scalar()
    covered = [c for c in signed if reached is not None and c.seq <= reached]
    return max(covered, key=lambda c: c.seq, default=None)
