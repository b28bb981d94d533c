"""Helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import TestResponse

from ielts_service.audit import store
from ielts_service.audit.checkpoints import keygen
from ielts_service.db import get_engine_of
from ielts_service.tables import audit_events
from tests.fakes.audit_records import sample_record


def audit_rows(app: Flask, kind: str | None = "model_call") -> list[dict[str, Any]]:
    """The audit records of `kind` (None: all) in the app's database, in chain order."""
    with get_engine_of(app).connect() as conn:
        query = sa.select(audit_events).order_by(audit_events.c.seq)
        if kind:
            query = query.where(audit_events.c.kind == kind)
        return [dict(row) for row in conn.execute(query).mappings()]


def success_data(response: TestResponse, fields: set[str]) -> dict[str, Any]:
    """The `data` of a 200 success envelope, checked to hold exactly FIELDS."""
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"status", "data"}
    assert body["status"] == "success"
    data: dict[str, Any] = body["data"]
    assert set(data) == fields
    return data


def error_body(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """The error envelope of a response, checked for STATUS, CODE and no other fields."""
    assert response.status_code == status
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"status", "code", "message", "request_id"}
    assert (body["status"], body["code"]) == ("error", code)
    return body


def audit_cli(app: Flask, *args: str) -> Result:
    """Run `flask audit ARGS` against the app's database."""
    return app.test_cli_runner().invoke(args=["audit", *args])


def append_samples(app: Flask, count: int) -> None:
    """Append `count` sample model-call records to the app's audit trail."""
    store.append(get_engine_of(app), [sample_record() for _ in range(count)])


def checkpoint_keys(directory: Path) -> dict[str, str]:
    """Generate a checkpoint key pair in DIRECTORY; the settings that point at it."""
    keygen(directory / "signing.pem", directory / "verify.pem")
    return {
        "AUDIT_SIGNING_KEY_FILE": str(directory / "signing.pem"),
        "AUDIT_VERIFY_KEY_FILE": str(directory / "verify.pem"),
    }


both_backends = pytest.mark.usefixtures("backend")
"""Run a test, class or module on SQLite + memory:// and on PostgreSQL + Redis."""


BUDGET_FAMILIES = (
    "ielts_key_token_budget_used_ratio",
    "ielts_key_token_budget_used_tokens",
    "ielts_key_token_budget_limit_tokens",
)


def budget_series(exposition: str) -> dict[str, dict[str, float]]:
    """{family: {key_id: value}} of the token-budget families in a /metrics answer."""
    found: dict[str, dict[str, float]] = {name: {} for name in BUDGET_FAMILIES}
    for family in text_string_to_metric_families(exposition):
        if family.name in found:
            for sample in family.samples:
                found[family.name][sample.labels["key_id"]] = sample.value
    return found
