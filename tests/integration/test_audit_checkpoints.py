"""Signed checkpoints: keygen, sign, verify; a rewritten history is caught by an earlier one."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ielts_service.audit import store
from ielts_service.audit.chain import record_hash
from ielts_service.db import get_engine_of
from ielts_service.tables import audit_chain, audit_checkpoints, audit_events
from tests.helpers import append_samples, audit_cli, both_backends, checkpoint_keys

pytestmark = both_backends


@pytest.fixture
def overrides(tmp_path: Path) -> dict[str, str]:
    return checkpoint_keys(tmp_path)


def checkpoint(app: Flask) -> dict[str, Any]:
    result = audit_cli(app, "checkpoint")
    assert result.exit_code == 0, result.output
    signed: dict[str, Any] = json.loads(result.stdout)
    return signed


def execute(app: Flask, statement: sa.Executable) -> None:
    with get_engine_of(app).begin() as conn:
        conn.execute(statement)


def rewrite_history(app: Flask, seq: int, **values: Any) -> None:
    """Change record `seq`, then recompute every later hash, link and the head: a rewrite that
    leaves the chain itself consistent."""
    engine = get_engine_of(app)
    with engine.begin() as conn:
        query = sa.select(audit_events).where(audit_events.c.seq >= seq).order_by("seq")
        rows = [dict(row) for row in conn.execute(query).mappings()]
        prev = rows[0]["prev_hash"]
        for row in rows:
            row |= values if row["seq"] == seq else {}
            row["prev_hash"] = prev
            row["hash"] = prev = record_hash(row)
            update = audit_events.update().where(audit_events.c.seq == row["seq"])
            conn.execute(update.values(row))
        conn.execute(audit_chain.update().values(head_seq=rows[-1]["seq"], head_hash=prev))
    assert store.verify_chain(engine).ok  # the chain alone no longer shows anything


def test_keygen_writes_a_private_key_only_its_owner_reads(app: Flask, tmp_path: Path) -> None:
    signing, verify = tmp_path / "new-signing.pem", tmp_path / "new-verify.pem"
    args = ("keygen", "--signing-key", str(signing), "--verify-key", str(verify))
    assert audit_cli(app, *args).exit_code == 0
    assert stat.S_IMODE(signing.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in signing.read_bytes()
    assert b"PUBLIC KEY" in verify.read_bytes()
    again = audit_cli(app, *args)
    assert again.exit_code == 1
    assert "never overwritten" in again.output


def test_checkpoint_signs_and_stores_the_head_and_verify_checks_it(app: Flask) -> None:
    append_samples(app, 3)
    signed = checkpoint(app)
    head = store.chain_state(get_engine_of(app))
    assert (signed["seq"], signed["hash"]) == (3, head["head_hash"])
    assert set(signed) == {"seq", "hash", "time", "key_id", "signature"}
    result = audit_cli(app, "verify", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checked"] == 3


def test_an_earlier_checkpoint_catches_a_rewritten_history(app: Flask) -> None:
    append_samples(app, 5)
    checkpoint(app)
    append_samples(app, 3)
    rewrite_history(app, 2, topic="something else entirely")
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    assert "BROKEN at record #5" in result.stdout
    assert "history was rewritten" in result.stdout


def test_a_shipped_checkpoint_catches_it_when_the_stored_ones_are_gone(
    app: Flask, tmp_path: Path
) -> None:
    append_samples(app, 5)
    shipped = tmp_path / "checkpoint.json"
    shipped.write_text(json.dumps(checkpoint(app)))
    append_samples(app, 3)
    rewrite_history(app, 4, status=200, outcome="success", topic="x")
    execute(app, audit_checkpoints.delete())
    assert audit_cli(app, "verify").exit_code == 0  # nothing stored is left to contradict it
    result = audit_cli(app, "verify", "--checkpoint", str(shipped))
    assert result.exit_code == 1
    assert "BROKEN at record #5" in result.stdout


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"hash": "0" * 64}, "the signature does not match"),
        ({"seq": 1}, "the signature does not match"),
        ({"key_id": "f" * 16}, "signed by another key"),
    ],
)
def test_a_forged_checkpoint_is_refused(app: Flask, change: dict[str, Any], problem: str) -> None:
    append_samples(app, 3)
    checkpoint(app)
    execute(app, audit_checkpoints.update().values(**change))
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    assert problem in result.stdout


def test_removing_records_signed_by_a_checkpoint_is_caught(app: Flask) -> None:
    append_samples(app, 4)
    checkpoint(app)
    with get_engine_of(app).begin() as conn:
        third = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.seq == 3))
        conn.execute(audit_chain.update().values(head_seq=3, head_hash=third.scalar_one()))
        conn.execute(audit_events.delete().where(audit_events.c.seq == 4))
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    assert "records were removed" in result.stdout


def test_verify_refuses_to_skip_checkpoints_without_the_verify_key(app: Flask) -> None:
    append_samples(app, 2)
    checkpoint(app)
    app.config["SETTINGS"] = app.config["SETTINGS"].model_copy(update={"AUDIT_VERIFY_KEY_FILE": ""})
    result = audit_cli(app, "verify")
    assert result.exit_code == 1
    assert "AUDIT_VERIFY_KEY_FILE is not set: 1 signed checkpoints cannot be checked" in (
        result.stdout
    )


def test_checkpoint_without_a_signing_key_says_so(app: Flask) -> None:
    app.config["SETTINGS"] = app.config["SETTINGS"].model_copy(
        update={"AUDIT_SIGNING_KEY_FILE": ""}
    )
    result = audit_cli(app, "checkpoint")
    assert result.exit_code == 1
    assert "AUDIT_SIGNING_KEY_FILE is not set" in result.output
