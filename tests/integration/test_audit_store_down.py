"""PostgreSQL unreachable: no content without its record, readiness says why, recovery by itself."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from ielts_service import keys
from ielts_service.db import get_engine_of
from tests.relay import TcpProxy


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def proxy(pg_schema_url: str) -> Iterator[TcpProxy]:
    url = sa.make_url(pg_schema_url)
    relay = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    relay.start()
    yield relay
    relay.stop()


pytestmark = pytest.mark.settings(KEY_CACHE_TTL_S=5)


@pytest.fixture
def overrides(pg_schema_url: str, proxy: TcpProxy) -> dict[str, Any]:
    """The app's database connections go through the relay."""
    proxied = sa.make_url(pg_schema_url).set(host="127.0.0.1", port=proxy.port)
    return {
        "DATABASE_URL": proxied.render_as_string(hide_password=False),
        "DATABASE_CONNECT_TIMEOUT_S": 1,
    }


@pytest.fixture
def audit_log() -> Iterator[Collect]:
    handler = Collect()
    logger = logging.getLogger("ielts_service.audit")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def audit_failures(client: FlaskClient) -> float:
    """ielts_audit_writes_total{outcome="failure"} as /metrics exposes it."""
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ielts_audit_writes_total" and sample.labels == {
                "outcome": "failure"
            }:
                return sample.value
    return 0.0


def ask(client: FlaskClient, auth: dict[str, str], request_id: str) -> Any:
    return client.post(
        "/v1/questions", json={"topic": "a river"}, headers={**auth, "X-Request-ID": request_id}
    )


def test_store_down_withholds_content_and_recovers_without_restart(
    app: Flask, client: FlaskClient, auth: dict[str, str], proxy: TcpProxy, audit_log: Collect
) -> None:
    assert ask(client, auth, "before-1").status_code == 200
    assert ask(client, auth, "before-2").status_code == 200  # the key is cached now
    failures = audit_failures(client)
    proxy.stop()

    response = ask(client, auth, "while-down")
    body = response.get_json()
    assert response.status_code == 503
    assert body["code"] == "audit_unavailable"
    assert set(body) == {"status", "code", "message", "request_id"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "database" in ready.get_json()["message"]
    assert client.get("/healthz").status_code == 200
    assert audit_failures(client) == failures + 1
    [logged] = [r for r in audit_log.records if r.levelno == logging.ERROR]
    event = logged.audit  # type: ignore[attr-defined]
    assert event["request_id"] == "while-down"
    assert event["outcome"] == "success"
    assert event["content"]
    assert event["content_sha256"]

    proxy.start()
    assert ask(client, auth, "after").status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.settings(KEY_CACHE_TTL_S=0)
def test_key_store_down_past_the_cache_is_a_503_not_a_500(app: Flask, proxy: TcpProxy) -> None:
    _, secret = keys.create_key(get_engine_of(app), name="down", scopes=["questions:generate"])
    proxy.stop()
    response = app.test_client().post(
        "/v1/questions", json={"topic": "a river"}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 503
    assert response.get_json()["code"] == "key_store_unavailable"
    assert response.headers["Retry-After"] == "5"
