"""Partial verification: --from-seq N and --incremental see tampering inside their range only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask

from ielts_service.db import get_engine_of
from ielts_service.tables import audit_events, audit_verifications
from tests.helpers import append_samples, audit_cli, both_backends, checkpoint_keys

pytestmark = both_backends


@pytest.fixture
def overrides(tmp_path: Path) -> dict[str, str]:
    return checkpoint_keys(tmp_path)


def tamper(app: Flask, seq: int) -> None:
    with get_engine_of(app).begin() as conn:
        change = audit_events.update().where(audit_events.c.seq == seq).values(topic="changed")
        conn.execute(change)


def verdict(result: Result) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


@pytest.mark.parametrize(("tampered", "caught"), [(3, False), (7, True), (10, True)])
def test_from_seq_checks_its_range_only(app: Flask, tampered: int, caught: bool) -> None:
    append_samples(app, 10)
    tamper(app, tampered)
    result = audit_cli(app, "verify", "--from-seq", "6", "--json")
    assert verdict(result)["from_seq"] == 6
    assert (result.exit_code == 1) is caught
    if caught:
        assert verdict(result)["broken_seq"] == tampered
    else:
        assert verdict(result)["checked"] == 5
        assert audit_cli(app, "verify").exit_code == 1  # a full run sees it


def test_from_seq_past_the_head_checks_nothing_and_passes(app: Flask) -> None:
    append_samples(app, 3)
    result = audit_cli(app, "verify", "--from-seq", "4", "--json")
    assert result.exit_code == 0
    assert verdict(result)["checked"] == 0


def test_incremental_starts_at_the_last_verified_checkpoint(app: Flask) -> None:
    append_samples(app, 4)
    first = audit_cli(app, "verify", "--incremental", "--record", "--json")
    assert verdict(first)["from_seq"] == 1  # nothing verified yet: from the anchor
    assert audit_cli(app, "checkpoint").exit_code == 0  # signs #4, which the run above covered
    append_samples(app, 3)
    second = audit_cli(app, "verify", "--incremental", "--record", "--json")
    assert (verdict(second)["from_seq"], verdict(second)["checked"]) == (5, 3)
    tamper(app, 2)  # before the verified checkpoint: outside the range
    assert audit_cli(app, "verify", "--incremental", "--json").exit_code == 0
    tamper(app, 6)  # inside it
    third = audit_cli(app, "verify", "--incremental", "--record", "--json")
    assert third.exit_code == 1
    assert verdict(third)["broken_seq"] == 6
    with get_engine_of(app).connect() as conn:
        runs = conn.execute(
            sa.select(audit_verifications.c.ok, audit_verifications.c.from_seq).order_by("id")
        ).all()
    assert [tuple(run) for run in runs] == [(True, 1), (True, 5), (False, 5)]


def test_from_seq_and_incremental_are_exclusive(app: Flask) -> None:
    result = audit_cli(app, "verify", "--from-seq", "2", "--incremental")
    assert result.exit_code == 2
