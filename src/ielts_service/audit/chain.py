"""The hash chain: canonical serialisation, record hashes, and verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; SQLite stores and compares times as naive UTC text."""
    if value.tzinfo is None:  # SQLite hands back naive datetimes; everything stored is UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds, the form hashed and exported."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record as plain JSON values (time as ISO 8601 UTC)."""
    return {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in row.items()}


def record_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but `hash` (prev_hash included)."""
    fields = {k: v for k, v in jsonable(row).items() if k != "hash"}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: str | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None


def verify(
    rows: Iterable[Mapping[str, Any]],
    *,
    anchor_seq: int,
    anchor_hash: str,
    head_seq: int,
    head_hash: str,
) -> Verdict:
    """Walk records in seq order from the anchor; the first broken link ends the walk."""
    expected_seq, expected_prev, checked = anchor_seq, anchor_hash, 0
    for row in rows:
        reason = None
        if row["seq"] != expected_seq:
            reason = f"sequence gap: expected record #{expected_seq}, found #{row['seq']}"
        elif row["prev_hash"] != expected_prev:
            reason = "prev_hash does not match the previous record's hash"
        elif record_hash(row) != row["hash"]:
            reason = "hash does not match the record's contents"
        if reason:
            return Verdict(False, checked, row["seq"], row["id"], reason)
        expected_seq, expected_prev, checked = row["seq"] + 1, row["hash"], checked + 1
    if expected_seq - 1 != head_seq or expected_prev != head_hash:
        return Verdict(
            False,
            checked,
            head_seq,
            None,
            f"the chain head (#{head_seq}) is missing or does not match the last record",
        )
    return Verdict(True, checked, head_seq=head_seq, head_hash=head_hash)
