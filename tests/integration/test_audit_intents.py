"""Intents: every upstream call is accounted for by its record or, its worker dead, by the sweep."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from prometheus_client import REGISTRY

from ielts_service.audit import intents, store
from ielts_service.clock import now
from ielts_service.db import get_engine_of
from ielts_service.tables import audit_intents
from tests.fakes.azure import FakeAzure
from tests.helpers import audit_rows, both_backends

pytestmark = both_backends


@pytest.fixture
def overrides(azure_settings: dict[str, Any]) -> dict[str, Any]:
    return azure_settings


def call(**fields: Any) -> dict[str, Any]:
    return {
        "request_id": "req-1",
        "key_id": None,
        "client_ip": "127.0.0.1",
        "route": "/v1/questions",
        "part": 2,
        "topic": "a memorable trip",
        "provider": "azure",
        "model": "gpt-4o-test",
        **fields,
    }


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def intent_rows(app: Flask) -> list[dict[str, Any]]:
    with get_engine_of(app).connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(audit_intents)).mappings()]


def abandoned_total() -> float:
    return REGISTRY.get_sample_value("ielts_audit_abandoned_calls_total") or 0.0


def test_a_completed_call_leaves_its_record_and_no_intent(
    app: Flask, make_key: Callable[..., str], fake_azure: FakeAzure
) -> None:
    client, key = app.test_client(), make_key()
    for body in ({"topic": "a trip"}, {"topic": "a trip", "part": 1}):
        response = client.post(
            "/v1/questions", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200
    fake_azure.set(mode="error", times=10)
    failed = client.post(
        "/v1/speaking-tests", json={"topic": "a trip"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert failed.status_code == 502
    assert intent_rows(app) == []
    assert len(audit_rows(app)) == 2 + 3


def test_sweep_chains_the_calls_of_dead_and_long_gone_workers_only(app: Flask) -> None:
    engine, here = get_engine_of(app), intents.owner().rpartition(":")[0]
    dead, alive, gone_host = intents.open_intents(
        engine, [call(request_id=f"r{i}") for i in range(3)]
    )
    with engine.begin() as conn:
        owners = {dead: f"{here}:{dead_pid()}", gone_host: "other-host/pid:[1]:7"}
        for intent_id, owner in owners.items():
            conn.execute(
                audit_intents.update().where(audit_intents.c.id == intent_id).values(owner=owner)
            )
        old = now() - timedelta(seconds=120)
        conn.execute(
            audit_intents.update().where(audit_intents.c.id == gone_host).values(started_at=old)
        )
    before = abandoned_total()
    assert intents.sweep(engine, stale_after_s=60) == 2
    assert [row["id"] for row in intent_rows(app)] == [alive]
    records = audit_rows(app)
    assert sorted((r["request_id"], r["outcome"], r["kind"]) for r in records) == [
        ("r0", "abandoned", "model_call"),
        ("r2", "abandoned", "model_call"),
    ]
    assert all(r["status"] is None and r["topic"] == "a memorable trip" for r in records)
    assert store.verify_chain(engine).ok
    assert abandoned_total() == before + 2
    assert intents.sweep(engine, stale_after_s=60) == 0  # nothing closed twice


def test_sweep_closes_what_a_live_worker_released_when_its_record_failed(app: Flask) -> None:
    engine = get_engine_of(app)
    kept, released = intents.open_intents(
        engine, [call(request_id="kept"), call(request_id="gone")]
    )
    intents.release([released])
    assert intents.sweep(engine, stale_after_s=60) == 1
    assert [row["id"] for row in intent_rows(app)] == [kept]
    assert [r["request_id"] for r in audit_rows(app)] == ["gone"]


def test_the_calls_of_one_request_are_recorded_all_or_none(app: Flask) -> None:
    engine = get_engine_of(app)
    with pytest.raises(sa.exc.IntegrityError):  # the second row breaks NOT NULL
        intents.open_intents(engine, [call(request_id="ok"), call(request_id="bad", part=None)])
    assert intent_rows(app) == []
    ids = intents.open_intents(engine, [call(request_id=f"r{i}") for i in range(3)])
    assert sorted(row["id"] for row in intent_rows(app)) == sorted(ids)
