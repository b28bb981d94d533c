"""The chain walk over records read as tuples: the fast path for current-version records gives
the same verdicts as the generic checks, and hands them whatever it does not accept."""

from __future__ import annotations

from typing import Any

from ielts_service.audit.chain import GENESIS, READ_ORDER, Verdict, record_hash, verify
from ielts_service.tables import AUDIT_FIELDS, AUDIT_SCHEMA_VERSION
from tests.fakes.audit_records import sample_record


def chain(*overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """Records 1.. chained from the genesis hash, each a sample with its overrides."""
    records, prev = [], GENESIS
    for seq, extra in enumerate(overrides, 1):
        record = {
            **{f.name: f.absent for f in AUDIT_FIELDS},
            **sample_record(),
            "kind": "model_call",
            "seq": seq,
            "id": f"{seq:026d}",
            "time": f"2026-11-30T12:00:{seq:02d}.000000Z",
            "schema_version": AUDIT_SCHEMA_VERSION,
            "prev_hash": prev,
            **extra,
        }
        record["hash"] = prev = record_hash(record)
        records.append(record)
    return records


def walk(records: list[dict[str, Any]]) -> Verdict:
    last = records[-1]
    return verify(
        [tuple(r[name] for name in READ_ORDER) for r in records],
        anchor_seq=1,
        anchor_hash=GENESIS,
        head_seq=last["seq"],
        head_hash=last["hash"],
    )


def test_records_the_fast_path_passes_on_still_verify() -> None:
    nested = {"budget": {"old": 2, "new": 1}, "actor": "ops"}  # keys out of canonical order
    records = chain(
        {},
        {"schema_version": 1, "kind": "model_call", "on_topic": None},
        {"kind": "key_updated", "actor": "key:0123456789ab", "change": nested},
        {"latency_ms": 0.1 + 0.2},
    )
    assert walk(records) == Verdict(True, 4, head_seq=4, head_hash=records[-1]["hash"], from_seq=1)


def test_a_changed_field_is_reported_as_the_generic_checks_report_it() -> None:
    records = chain({}, {}, {})
    records[1]["topic"] = "rewritten"
    verdict = walk(records)
    assert (verdict.ok, verdict.checked, verdict.broken_seq, verdict.broken_id) == (
        False,
        1,
        2,
        records[1]["id"],
    )
    assert verdict.reason == "hash does not match the record's contents"


def test_a_newer_field_set_on_an_older_version_is_named() -> None:
    records = chain({}, {"schema_version": 2})
    records[1]["on_topic"] = True
    records[1]["hash"] = record_hash(records[1])  # hashed over version 2's fields: matches
    verdict = walk(records)
    assert verdict.broken_seq == 2
    assert verdict.reason == "on_topic is set, but schema version 2 has no on_topic"
