"""/metrics reports the recorded verification runs and the chain head, read from the database."""

from __future__ import annotations

import subprocess
import time

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from ielts_service.audit import store
from ielts_service.db import get_engine_of
from ielts_service.tables import audit_events
from tests.fakes.audit_records import sample_record
from tests.helpers import both_backends

pytestmark = both_backends


def samples(client: FlaskClient) -> dict[str, float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith(("ielts_audit_verify", "ielts_audit_chain"))
    }


def verify(app: Flask) -> int:
    return app.test_cli_runner().invoke(args=["audit", "verify", "--record"]).exit_code


def test_nothing_verified_yet_reads_as_never(client: FlaskClient) -> None:
    assert samples(client) == {
        "ielts_audit_verify_last_success_timestamp_seconds": 0.0,
        "ielts_audit_verify_failures_total": 0.0,
        "ielts_audit_chain_head_seq": 0.0,
    }


def test_runs_are_reported_as_they_were_recorded(app: Flask, client: FlaskClient) -> None:
    store.append(get_engine_of(app), [sample_record() for _ in range(3)])
    before = time.time()
    assert verify(app) == 0
    after_success = samples(client)
    assert (
        before - 1
        <= after_success["ielts_audit_verify_last_success_timestamp_seconds"]
        <= time.time()
    )
    assert after_success["ielts_audit_chain_head_seq"] == 3
    with get_engine_of(app).begin() as conn:
        conn.execute(audit_events.update().where(audit_events.c.seq == 2).values(topic="x"))
    assert verify(app) == 1
    after_failure = samples(client)
    assert after_failure["ielts_audit_verify_failures_total"] == 1
    assert (
        after_failure["ielts_audit_verify_last_success_timestamp_seconds"]
        == after_success["ielts_audit_verify_last_success_timestamp_seconds"]
    )


def test_metrics_pass_promtool(client: FlaskClient) -> None:
    text = client.get("/metrics").get_data(as_text=True)
    ours = "\n".join(
        line
        for line in text.splitlines()
        if "ielts_audit_verify" in line or "ielts_audit_chain" in line
    )
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=ours + "\n", capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_database_that_cannot_answer_leaves_the_rest_of_metrics(
    app: Flask, client: FlaskClient
) -> None:
    with get_engine_of(app).begin() as conn:
        conn.execute(sa.text("DROP TABLE audit_verifications"))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "ielts_audit_verify" not in response.get_data(as_text=True)
    assert "ielts_audit_writes_total" in response.get_data(as_text=True)
