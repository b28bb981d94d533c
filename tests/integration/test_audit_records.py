"""One audit record per provider call, with the right fields, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ielts_service.ai import prompts
from ielts_service.audit import store
from ielts_service.db import get_engine_of
from ielts_service.keys import KEY_PATTERN
from ielts_service.tables import AUDIT_SCHEMA_VERSION, audit_chain
from tests.fakes.azure import FakeAzure
from tests.helpers import audit_rows, both_backends
from tests.processes import wait_until

TOPIC = "a memorable trip"
AZURE_KEY = "fake-azure-key-0123456789abcdef"


pytestmark = both_backends


@pytest.fixture
def overrides(azure_settings: dict[str, Any]) -> dict[str, Any]:
    """Every request here calls the fake Azure upstream."""
    return azure_settings


def ask(client: FlaskClient, auth: dict[str, str], part: int = 2, request_id: str = "rid-1") -> Any:
    """POST /v1/questions with a known request id."""
    return client.post(
        "/v1/questions",
        json={"topic": TOPIC, "part": part},
        headers={**auth, "X-Request-ID": request_id},
    )


# mode of the fake upstream → (status, outcome, finish_reason, content_filter, output_valid)
FAILURES = {
    "throttle": (503, "upstream_rate_limited", None, None, None),
    "error": (502, "upstream_error", None, None, None),
    "hang": (504, "upstream_timeout", None, None, None),
    "content_filter_prompt": (422, "content_filtered", "content_filter", "filtered", None),
    "content_filter_reply": (422, "content_filtered", "content_filter", "filtered", None),
    "malformed": (502, "upstream_invalid_response", None, None, False),
    "invalid_output": (502, "upstream_invalid_response", "stop", "passed", False),
    "length": (502, "upstream_invalid_response", "length", "passed", False),
}


def assert_common_fields(row: dict[str, Any], app: Flask, auth: dict[str, str], part: int) -> None:
    """The fields every record has, whatever the outcome."""
    key_id = KEY_PATTERN.fullmatch(auth["Authorization"].removeprefix("Bearer "))[1]  # type: ignore[index]
    expected_sha = prompts.messages_sha256(prompts.build_messages(TOPIC, part, 1))
    assert row["request_id"] == "rid-1"
    assert row["key_id"] == key_id
    assert row["client_ip"] == "127.0.0.1"
    assert row["route"] == "/v1/questions"
    assert (row["part"], row["topic"], row["provider"]) == (part, TOPIC, "azure")
    assert (row["model"], row["api_version"]) == ("gpt-4o-test", "2024-10-21")
    assert row["prompt_version"] == prompts.PROMPT_VERSION
    assert row["messages_sha256"] == expected_sha
    assert row["schema_version"] == AUDIT_SCHEMA_VERSION
    assert row["kind"] == "model_call"
    assert len(row["id"]) == 26
    assert row["latency_ms"] >= (row["upstream_latency_ms"] or 0)


@pytest.mark.parametrize("part", [1, 2, 3])
def test_success_writes_one_complete_record(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure, part: int
) -> None:
    response = ask(client, auth, part)
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "rid-1"
    [row] = audit_rows(app)
    assert_common_fields(row, app, auth, part)
    assert (row["outcome"], row["status"], row["retries"]) == ("success", 200, 0)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (120, 48)
    assert (row["finish_reason"], row["content_filter"], row["output_valid"]) == (
        "stop",
        "passed",
        True,
    )
    assert row["upstream_latency_ms"] > 0
    assert row["on_topic"] is True  # the fake model writes about trips and travelling
    assert row["content"] == json.loads(json.dumps(row["content"]))
    assert row["content_sha256"] == hashlib.sha256(row["content"].encode()).hexdigest()


# A short timeout for the upstream that never answers; the others answer at once, and a
# loaded machine must not turn their answers into timeouts.
@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(
            mode, marks=pytest.mark.settings(AZURE_OPENAI_TIMEOUT_S=0.3 if mode == "hang" else 10)
        )
        for mode in FAILURES
    ],
)
def test_each_failure_writes_one_record_with_its_outcome(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure, mode: str
) -> None:
    fake_azure.set(mode=mode, retry_after=0)
    response = ask(client, auth)
    status, outcome, finish_reason, verdict, valid = FAILURES[mode]
    assert response.status_code == status
    assert response.get_json()["code"] == outcome
    [row] = audit_rows(app)
    assert_common_fields(row, app, auth, 2)
    assert (row["outcome"], row["status"]) == (outcome, status)
    assert (row["finish_reason"], row["content_filter"], row["output_valid"]) == (
        finish_reason,
        verdict,
        valid,
    )
    assert row["retries"] == fake_azure.stats()["requests"] - 1
    assert row["upstream_latency_ms"] > 0
    assert row["on_topic"] is None  # nothing was served to check


@pytest.mark.settings(CIRCUIT_BREAKER_FAILURES=1)
def test_circuit_open_is_recorded_without_an_upstream_call(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    fake_azure.set(mode="error", times=2)
    assert ask(client, auth, request_id="rid-0").status_code == 502
    response = ask(client, auth)
    assert response.status_code == 503
    assert response.get_json()["code"] == "upstream_unavailable"
    assert fake_azure.stats()["requests"] == 2  # the first call and its one retry only
    first, row = audit_rows(app)
    assert first["outcome"] == "upstream_error"
    assert_common_fields(row, app, auth, 2)
    assert (row["outcome"], row["status"], row["upstream_latency_ms"]) == (
        "upstream_unavailable",
        503,
        None,
    )
    assert (row["prompt_tokens"], row["completion_tokens"], row["retries"]) == (0, 0, 0)


@pytest.mark.settings(AUDIT_STORE_CONTENT=False)
def test_hash_mode_stores_only_the_digest_of_what_was_returned(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    response = ask(client, auth)
    [row] = audit_rows(app)
    question = response.get_json()["data"]["question"]
    reply = json.dumps(
        {
            "question": question,
            "prompts": response.get_json()["data"]["prompts"],
            "explain": response.get_json()["data"]["explain"],
        }
    )
    assert row["content"] is None
    assert row["content_sha256"] == hashlib.sha256(reply.encode()).hexdigest()


def test_content_mode_stores_the_generated_text(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    data = ask(client, auth).get_json()["data"]
    [row] = audit_rows(app)
    assert json.loads(row["content"]) == {
        "question": data["question"],
        "prompts": data["prompts"],
        "explain": data["explain"],
    }


def test_speaking_test_writes_one_record_per_call_under_one_request_id(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    response = client.post(
        "/v1/speaking-tests", json={"topic": TOPIC}, headers={**auth, "X-Request-ID": "rid-st"}
    )
    assert response.status_code == 200
    rows = audit_rows(app)
    assert sorted(row["part"] for row in rows) == [1, 2, 3]
    assert {(row["request_id"], row["route"], row["outcome"]) for row in rows} == {
        ("rid-st", "/v1/speaking-tests", "success")
    }


def test_no_secret_reaches_the_record(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    ask(client, auth)
    fake_azure.set(mode="error")
    ask(client, auth)
    api_key = auth["Authorization"].removeprefix("Bearer ")
    secret = KEY_PATTERN.fullmatch(api_key)[2]  # type: ignore[index]
    for row in audit_rows(app):
        text = json.dumps(row, default=str)
        assert api_key not in text
        assert secret not in text
        assert AZURE_KEY not in text


@pytest.mark.parametrize(
    ("scopes", "headers", "body", "status"),
    [
        (None, {}, {"topic": TOPIC}, 401),
        (("audit:read",), {}, {"topic": TOPIC}, 403),
        (("questions:generate",), {}, {"topic": ""}, 422),
    ],
)
def test_requests_that_never_reach_the_provider_leave_no_record(
    app: Flask,
    client: FlaskClient,
    make_key: Callable[..., str],
    fake_azure: FakeAzure,
    scopes: tuple[str, ...] | None,
    headers: dict[str, str],
    body: dict[str, Any],
    status: int,
) -> None:
    if scopes:
        headers = {"Authorization": f"Bearer {make_key(scopes)}"}
    assert client.post("/v1/questions", json=body, headers=headers).status_code == status
    assert audit_rows(app) == []
    assert fake_azure.stats()["requests"] == 0


def test_rate_limited_request_leaves_no_record(
    app: Flask, client: FlaskClient, make_key: Callable[..., str], fake_azure: FakeAzure
) -> None:
    headers = {"Authorization": f"Bearer {make_key(rate_limit='1/minute')}"}
    assert client.post("/v1/questions", json={"topic": TOPIC}, headers=headers).status_code == 200
    assert client.post("/v1/questions", json={"topic": TOPIC}, headers=headers).status_code == 429
    assert len(audit_rows(app)) == 1
    assert fake_azure.stats()["requests"] == 1


def chain_lock_is_free(app: Flask) -> bool:
    """Whether the chain head could be locked right now, without waiting."""
    engine = get_engine_of(app)
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()
        return True
    head = sa.select(audit_chain).where(audit_chain.c.id == 1).with_for_update(nowait=True)
    try:
        with engine.begin() as conn:
            conn.execute(head)
    except sa.exc.OperationalError:
        return False
    return True


def test_the_lock_probe_sees_a_held_chain_head(app: Flask) -> None:
    engine = get_engine_of(app)
    with engine.connect() as conn, conn.execution_options(sqlite_immediate=True).begin():
        conn.execute(sa.select(audit_chain).with_for_update())
        assert not chain_lock_is_free(app)
    assert chain_lock_is_free(app)


@pytest.mark.settings(AZURE_OPENAI_TIMEOUT_S=10.0)
def test_the_chain_head_is_not_locked_during_the_upstream_call(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    fake_azure.set(latency_ms=1500)
    request = threading.Thread(target=ask, args=(client, auth))
    request.start()
    wait_until(lambda: fake_azure.stats()["requests"] == 1, 5, "the upstream call to start")
    assert chain_lock_is_free(app)
    request.join()
    assert len(audit_rows(app)) == 1


def test_a_reply_that_misses_its_topic_is_recorded_as_off_topic(
    app: Flask, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    # The fake model writes about travelling whatever the topic.
    response = client.post("/v1/questions", json={"topic": "a book", "part": 1}, headers=auth)
    assert response.status_code == 200
    [row] = audit_rows(app)
    assert (row["outcome"], row["on_topic"]) == ("success", False)
    assert store.verify_chain(get_engine_of(app)).ok
