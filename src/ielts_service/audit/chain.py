"""The hash chain: canonical serialisation, record hashes per schema version, verification."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa

from ..clock import iso_utc
from ..tables import AUDIT_FIELDS, AUDIT_SCHEMA_VERSION

GENESIS = "0" * 64
_TIMES = frozenset(f.name for f in AUDIT_FIELDS if isinstance(f.type, sa.DateTime))


def jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record as plain JSON values (time as ISO 8601 UTC)."""
    plain = dict(row)
    for name in _TIMES:  # the only fields that are not JSON values already
        value = plain.get(name)
        if isinstance(value, datetime):
            plain[name] = iso_utc(value)
    return plain


@cache
def _name_set(version: int) -> frozenset[str]:
    return frozenset(hashed_fields(version))


@cache
def _unhashed(version: int) -> tuple[str, ...]:
    hashed = set(hashed_fields(version))
    return tuple(f.name for f in AUDIT_FIELDS if f.name not in hashed)


class UnknownSchemaVersion(KeyError):
    """A record claims a schema version this code does not define."""


@cache
def hashed_fields(version: int) -> tuple[str, ...]:
    """The fields a record of schema `version` is hashed over, forever: all but `hash`."""
    if not 1 <= version <= AUDIT_SCHEMA_VERSION:
        raise UnknownSchemaVersion(version)
    return tuple(sorted(f.name for f in AUDIT_FIELDS if f.since <= version and f.name != "hash"))


@cache
def predated_fields(version: int) -> tuple[tuple[str, Any], ...]:
    """(field, value) for the fields newer than `version`: what its records must hold there."""
    return tuple((f.name, f.absent) for f in AUDIT_FIELDS if f.since > version)


def record_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the fields of the record's schema version (a stored
    row or an exported record). The canonical form is the standard library's JSON with sorted
    keys, no spaces and UTF-8 text."""
    return _canonical_hash(_hashed_values(row))


def hash_matches(row: Mapping[str, Any]) -> bool:
    """Whether the record's `hash` is the hash of its contents.

    orjson writes the canonical form several times faster and byte for byte the same for the
    values records hold; where it might not (some floats, lone surrogates), a mismatch is
    re-checked with the canonical encoder, so the answer is always the canonical one.
    """
    fields, stored = _hashed_values(row), str(row["hash"])
    try:
        fast = hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()
    except orjson.JSONEncodeError:
        fast = None
    return fast == stored or _canonical_hash(fields) == stored


def _hashed_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the record's version hashes (key order does not matter: both encoders sort)."""
    names = hashed_fields(row["schema_version"])
    fields = dict(row)  # a stored row holds every column: drop the few its version does not hash
    for name in _unhashed(row["schema_version"]):
        fields.pop(name, None)
    if fields.keys() != _name_set(row["schema_version"]):  # a partial or foreign mapping
        fields = {name: row[name] for name in names}
    for name in _TIMES:  # exported records already hold the ISO text
        if isinstance(fields[name], datetime):
            fields[name] = iso_utc(fields[name])
    return fields


def _canonical_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _problem(row: Mapping[str, Any], expected_seq: int, expected_prev: str) -> str | None:
    """Why this record breaks the chain, or None."""
    if row["seq"] != expected_seq:
        return f"sequence gap: expected record #{expected_seq}, found #{row['seq']}"
    if row["prev_hash"] != expected_prev:
        return "prev_hash does not match the previous record's hash"
    try:
        if not hash_matches(row):
            return "hash does not match the record's contents"
    except UnknownSchemaVersion:
        return f"unknown schema version {row['schema_version']}"
    for name, value in predated_fields(row["schema_version"]):
        if row[name] != value:
            return f"{name} is set, but schema version {row['schema_version']} has no {name}"
    return None


# The order verifiers read columns in: the current version's hashed fields (every column but
# `hash`, sorted as the canonical form sorts them), then `hash`. Time comes as ISO 8601 text.
READ_ORDER = (*hashed_fields(AUDIT_SCHEMA_VERSION), "hash")
_SEQ, _ID, _VERSION, _PREV = (
    READ_ORDER.index(name) for name in ("seq", "id", "schema_version", "prev_hash")
)
_CURRENT = hashed_fields(AUDIT_SCHEMA_VERSION)


def _intact_current(row: Sequence[Any], expected_seq: int, expected_prev: str) -> bool:
    """The fast path for a record of the current version read in READ_ORDER: True only when
    it links and its hash matches (the fields are already in canonical key order, so orjson
    needs no sorting; any doubt, e.g. a nested mapping out of order, answers False)."""
    if (
        row[_SEQ] != expected_seq
        or row[_PREV] != expected_prev
        or row[_VERSION] != AUDIT_SCHEMA_VERSION
    ):
        return False
    fields = dict(zip(_CURRENT, row, strict=False))  # all but the last value, `hash`
    return bool(hashlib.sha256(orjson.dumps(fields)).hexdigest() == row[-1])


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: str | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    from_seq: int | None = None


def verify(
    rows: Iterable[Sequence[Any]],
    *,
    anchor_seq: int,
    anchor_hash: str,
    head_seq: int,
    head_hash: str,
    checkpoints: Mapping[int, str] | None = None,
) -> Verdict:
    """Walk records (tuples in READ_ORDER) in seq order from the anchor (the first record to
    check and the hash it must link to); the first broken link ends the walk. `checkpoints`
    (seq -> signed hash): each record they name, and the anchor's link, must hold that hash."""
    signed = checkpoints or {}
    expected_seq, expected_prev, checked = anchor_seq, anchor_hash, 0
    if signed.get(anchor_seq - 1, anchor_hash) != anchor_hash:
        link = (
            f"the link into record #{anchor_seq} does not match the checkpoint of #{anchor_seq - 1}"
        )
        return Verdict(False, 0, anchor_seq, None, link, from_seq=anchor_seq)
    for values in rows:
        if not _intact_current(values, expected_seq, expected_prev):
            row = dict(zip(READ_ORDER, values, strict=True))
            reason = _problem(row, expected_seq, expected_prev)
            if reason:
                return Verdict(False, checked, row["seq"], row["id"], reason, from_seq=anchor_seq)
        seq, digest = values[_SEQ], values[-1]
        if signed.get(seq, digest) != digest:
            reason = "hash differs from the one signed in a checkpoint: history was rewritten"
            return Verdict(False, checked, seq, values[_ID], reason, from_seq=anchor_seq)
        expected_seq, expected_prev, checked = seq + 1, digest, checked + 1
    if expected_seq - 1 != head_seq or expected_prev != head_hash:
        reason = f"the chain head (#{head_seq}) is missing or does not match the last record"
        return Verdict(False, checked, head_seq, None, reason, from_seq=anchor_seq)
    beyond = [seq for seq in signed if seq > head_seq]
    if beyond:
        reason = f"a checkpoint signed record #{max(beyond)}, beyond the head: records were removed"
        return Verdict(False, checked, head_seq, None, reason, from_seq=anchor_seq)
    return Verdict(True, checked, head_seq=head_seq, head_hash=head_hash, from_seq=anchor_seq)
