"""Sentry delivery for real: the SDK posts envelopes to a capture server on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import __version__, keys
from ielts_service.db import get_engine_of
from tests.fakes.azure import FakeAzure
from tests.fakes.sentry import PUBLIC_KEY, SECRET_KEY, SentryCapture, running_capture

BEARER_TOKEN = "not-a-key-bearer-token-5f0c2a9e77d1"


@pytest.fixture
def capture() -> Iterator[SentryCapture]:
    with running_capture() as server:
        yield server


@pytest.fixture
def overrides(azure_settings: dict[str, Any], capture: SentryCapture) -> dict[str, Any]:
    return {
        **azure_settings,
        "SENTRY_DSN": capture.dsn,
        "GIT_SHA": "abc1234",
        "ENABLE_TEST_ROUTES": True,
        "CIRCUIT_BREAKER_FAILURES": 100,
    }


@pytest.fixture
def sentry_app(app: Flask) -> Iterator[Flask]:
    """The app reporting to the capture server; the process-global SDK is stopped afterwards."""
    yield app
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)


@pytest.fixture
def sentry_client(sentry_app: Flask) -> FlaskClient:
    return sentry_app.test_client()


@pytest.fixture
def api_key(sentry_app: Flask) -> str:
    _, secret = keys.create_key(
        get_engine_of(sentry_app), name=f"k-{uuid.uuid4().hex[:8]}", scopes=["questions:generate"]
    )
    return secret


def events(capture: SentryCapture) -> list[dict[str, Any]]:
    sentry_sdk.flush(timeout=5)
    return capture.items("event")


def test_unhandled_exception_sends_exactly_one_event(
    sentry_client: FlaskClient, capture: SentryCapture
) -> None:
    response = sentry_client.get("/_test/crash")
    assert response.status_code == 500
    [event] = events(capture)
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"


def test_event_carries_request_id_release_and_environment(
    sentry_client: FlaskClient, capture: SentryCapture
) -> None:
    response = sentry_client.get("/_test/crash")
    [event] = events(capture)
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["tags"]["route"] == "/_test/crash"
    assert event["release"] == f"ielts-question-service@{__version__}+abc1234"
    assert event["environment"] == "test"


def test_event_carries_no_secret(
    sentry_client: FlaskClient,
    capture: SentryCapture,
    api_key: str,
    azure_settings: dict[str, Any],
) -> None:
    sentry_client.get(
        f"/_test/crash?api_key={api_key}&token={BEARER_TOKEN}",
        headers={
            "Authorization": f"Bearer {BEARER_TOKEN}",
            "X-API-Key": api_key,
            "Cookie": f"session={api_key}",
        },
    )
    assert len(events(capture)) == 1
    secrets = [api_key, azure_settings["AZURE_OPENAI_API_KEY"], SECRET_KEY, BEARER_TOKEN]
    envelopes = b"".join(capture.raw()).decode()
    assert [secret for secret in secrets if secret in envelopes] == []
    # The public key travels only in the envelope header, where Sentry needs it.
    assert not any(PUBLIC_KEY in item.decode() for item in capture.item_bytes())


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [("GET", "/nope", None, 404), ("POST", "/v1/questions", {"topic": ""}, 422)],
)
def test_client_errors_send_no_event(
    sentry_client: FlaskClient,
    capture: SentryCapture,
    api_key: str,
    method: str,
    path: str,
    body: dict[str, str] | None,
    status: int,
) -> None:
    response = sentry_client.open(
        path, method=method, json=body, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == status
    assert events(capture) == []


def test_upstream_failure_after_retries_is_reported(
    sentry_client: FlaskClient,
    capture: SentryCapture,
    api_key: str,
    fake_azure: FakeAzure,
    azure_settings: dict[str, Any],
) -> None:
    fake_azure.set(mode="error")
    response = sentry_client.post(
        "/v1/questions", json={"topic": "a trip"}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 502
    assert fake_azure.stats()["requests"] == 2  # the call and its one retry
    [event] = events(capture)
    assert event["logentry"]["formatted"] == "upstream failure after 1 retries: upstream_error"
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["tags"]["key_id"] == api_key.split("_")[1]
    assert azure_settings["AZURE_OPENAI_API_KEY"] not in b"".join(capture.raw()).decode()


def test_content_filter_refusal_sends_no_event(
    sentry_client: FlaskClient, capture: SentryCapture, api_key: str, fake_azure: FakeAzure
) -> None:
    fake_azure.set(mode="content_filter_prompt")
    response = sentry_client.post(
        "/v1/questions", json={"topic": "a trip"}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.get_json()["code"] == "content_filtered"
    assert events(capture) == []


def test_audit_store_failure_is_reported(
    sentry_app: Flask, sentry_client: FlaskClient, capture: SentryCapture, api_key: str
) -> None:
    with get_engine_of(sentry_app).begin() as conn:
        conn.execute(sa.text("DROP TABLE audit_events"))
    response = sentry_client.post(
        "/v1/questions", json={"topic": "a trip"}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.get_json()["code"] == "audit_unavailable"
    [event] = events(capture)
    assert event["logger"] == "ielts_service.audit"
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.settings(SENTRY_TRACES_SAMPLE_RATE=1.0)
def test_auto_enabled_integrations_leak_no_key_into_spans(
    sentry_client: FlaskClient, capture: SentryCapture, api_key: str, azure_settings: dict[str, Any]
) -> None:
    integrations = set(sentry_sdk.get_client().integrations)
    assert {"flask", "logging", "httpx2", "sqlalchemy"} <= integrations
    assert "openai" not in integrations
    response = sentry_client.post(
        "/v1/questions", json={"topic": "a trip"}, headers={"Authorization": f"Bearer {api_key}"}
    )
    assert response.status_code == 200
    sentry_sdk.flush(timeout=5)
    [transaction] = capture.items("transaction")
    upstream = [span for span in transaction["spans"] if span["op"] == "http.client"]
    assert upstream
    assert "/chat/completions" in upstream[0]["description"]
    assert transaction["tags"]["request_id"] == response.headers["X-Request-ID"]
    envelopes = b"".join(capture.raw()).decode()
    assert azure_settings["AZURE_OPENAI_API_KEY"] not in envelopes
    assert api_key not in envelopes
