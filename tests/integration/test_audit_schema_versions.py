"""Records keep verifying across schema versions: a real migration adds fields to old rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from ulid import ULID

from ielts_service.audit import store
from ielts_service.audit.chain import hashed_fields
from ielts_service.clock import iso_utc, now
from ielts_service.config import Settings
from ielts_service.db import build_engine, upgrade
from ielts_service.tables import AUDIT_SCHEMA_VERSION, audit_events
from tests.fakes.audit_records import sample_record

VERSION_1_REVISION = "0002"  # the last migration before schema version 2


@pytest.fixture
def pg_database_url(pg_schema_url: str) -> str:
    """These tests migrate (or not) themselves: the PostgreSQL backend starts empty."""
    return pg_schema_url


@pytest.fixture
def engine(make_settings: Callable[..., Settings], backend: dict[str, str]) -> Iterator[Engine]:
    """A database migrated only as far as schema version 1 went."""
    engine = build_engine(make_settings(**backend))
    upgrade(engine, VERSION_1_REVISION)
    yield engine
    engine.dispose()


def write_version_1(engine: Engine, count: int, version: int = 1) -> list[int]:
    """Append records as the code of the migrated revision did: every column of its table
    hashed (version 2 adds the record kind)."""
    with engine.begin() as conn:
        table = sa.Table("audit_events", sa.MetaData(), autoload_with=conn)
        chain = sa.Table("audit_chain", sa.MetaData(), autoload_with=conn)
        seq, prev_hash = conn.execute(sa.select(chain.c.head_seq, chain.c.head_hash)).one()
        for _ in range(count):
            seq += 1
            row = {**sample_record(), "seq": seq, "id": str(ULID()), "time": now()}
            row |= {"schema_version": version, "prev_hash": prev_hash}
            if version >= 2:
                row |= {"kind": "model_call", "actor": None, "target_key_id": None}
                row |= {"change": None}
            hashed = {k: iso_utc(v) if k == "time" else v for k, v in row.items()}
            canonical = json.dumps(
                hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            row["hash"] = prev_hash = hashlib.sha256(canonical.encode()).hexdigest()
            assert set(row) == set(table.c.keys())
            conn.execute(table.insert().values(row))
        conn.execute(chain.update().values(head_seq=seq, head_hash=prev_hash))
    return list(range(seq - count + 1, seq + 1))


def change(engine: Engine, seq: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(audit_events.update().where(audit_events.c.seq == seq).values(**values))


@pytest.fixture
def evolved(engine: Engine) -> tuple[Engine, list[int], list[int]]:
    """Version 1 records, then the migrations to head, then records of the current version."""
    old = write_version_1(engine, 3)
    upgrade(engine)
    new = [row["seq"] for row in store.append(engine, [sample_record() for _ in range(3)])]
    return engine, old, new


def test_old_and_new_records_verify_after_the_migration(
    evolved: tuple[Engine, list[int], list[int]],
) -> None:
    engine, _, _ = evolved
    verdict = store.verify_chain(engine)
    assert (verdict.ok, verdict.checked) == (True, 6)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings().all()
    assert [r["schema_version"] for r in rows] == [1] * 3 + [AUDIT_SCHEMA_VERSION] * 3
    assert {r["kind"] for r in rows} == {"model_call"}
    assert "kind" not in hashed_fields(1)
    assert "kind" in hashed_fields(AUDIT_SCHEMA_VERSION)


@pytest.mark.parametrize("which", ["old", "new"])
def test_tampering_with_an_old_or_a_new_record_is_caught(
    evolved: tuple[Engine, list[int], list[int]], which: str
) -> None:
    engine, old, new = evolved
    seq = (old if which == "old" else new)[1]
    change(engine, seq, topic="a different topic")
    verdict = store.verify_chain(engine)
    assert (verdict.ok, verdict.broken_seq) == (False, seq)
    assert verdict.reason == "hash does not match the record's contents"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"kind": "key_revoked"}, "kind is set, but schema version 1 has no kind"),
        ({"actor": "cli:mallory@host"}, "actor is set, but schema version 1 has no actor"),
        ({"schema_version": 99}, "unknown schema version 99"),
    ],
)
def test_an_old_record_cannot_gain_fields_its_version_lacks(
    evolved: tuple[Engine, list[int], list[int]], values: dict[str, Any], reason: str
) -> None:
    engine, old, _ = evolved
    change(engine, old[0], **values)
    verdict = store.verify_chain(engine)
    assert (verdict.ok, verdict.broken_seq, verdict.reason) == (False, old[0], reason)


def test_version_2_records_verify_after_on_topic_is_added(
    make_settings: Callable[..., Settings], backend: dict[str, str]
) -> None:
    engine = build_engine(make_settings(**backend))
    upgrade(engine, "0003")  # the last migration before schema version 3
    old = write_version_1(engine, 2, version=2)
    upgrade(engine)
    store.append(engine, [sample_record(on_topic=False)])
    assert "on_topic" in hashed_fields(AUDIT_SCHEMA_VERSION)
    assert "on_topic" not in hashed_fields(2)
    assert store.verify_chain(engine).ok
    change(engine, old[0], on_topic=True)
    verdict = store.verify_chain(engine)
    assert (verdict.ok, verdict.broken_seq) == (False, old[0])
    assert verdict.reason == "on_topic is set, but schema version 2 has no on_topic"
    engine.dispose()
