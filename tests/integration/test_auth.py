"""API-key authentication: every 401 and 403 case, on SQLite + memory:// and PostgreSQL + Redis."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import keys
from ielts_service.db import get_engine_of
from tests.helpers import both_backends

QUESTION = {"topic": "a memorable trip"}
UNKNOWN_KEY = "iq_000000000000_" + "A" * 43


pytestmark = both_backends


def other_secret(key: str) -> str:
    """The same key id with a different (well-formed) secret."""
    prefix, secret = key[:16], key[16:]
    return prefix + ("B" if secret[0] != "B" else "C") + secret[1:]


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.get_json()
    assert set(body) == {"status", "code", "message", "request_id"}
    assert body["status"] == "error"
    assert body["code"] == "unauthorized"
    assert body["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer    "},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer iq_short_secret"},
        {"Authorization": f"Basic {UNKNOWN_KEY}"},
        {"Authorization": f"Token {UNKNOWN_KEY}"},
        {"Authorization": f"Bearer {UNKNOWN_KEY}"},
        {"X-API-Key": ""},
        {"X-API-Key": UNKNOWN_KEY},
        {"X-API-Key": f"Bearer {UNKNOWN_KEY}"},
    ],
    ids=[
        "missing",
        "empty-header",
        "bearer-no-value",
        "bearer-empty",
        "bearer-blank",
        "malformed",
        "malformed-prefix",
        "basic-scheme",
        "token-scheme",
        "unknown",
        "x-api-key-empty",
        "x-api-key-unknown",
        "x-api-key-with-scheme",
    ],
)
def test_refused_credentials_get_401(ip_client: FlaskClient, headers: dict[str, str]) -> None:
    assert_unauthorized(ip_client.post("/v1/questions", json=QUESTION, headers=headers))


def test_wrong_secret_for_a_known_id_gets_401(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key()
    response = ip_client.post(
        "/v1/questions", json=QUESTION, headers={"Authorization": f"Bearer {other_secret(key)}"}
    )
    assert_unauthorized(response)


def test_wrong_scheme_with_a_valid_key_gets_401(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    response = ip_client.post(
        "/v1/questions", json=QUESTION, headers={"Authorization": f"Basic {make_key()}"}
    )
    assert_unauthorized(response)


def test_revoked_key_gets_401(app: Flask, ip_client: FlaskClient) -> None:
    engine = get_engine_of(app)
    key, secret = keys.create_key(engine, name="gone", scopes=["questions:generate"])
    keys.revoke_key(engine, key.name)
    response = ip_client.post(
        "/v1/questions", json=QUESTION, headers={"Authorization": f"Bearer {secret}"}
    )
    assert_unauthorized(response)
    assert "revoked" in response.get_json()["message"]


def test_expired_key_gets_401(ip_client: FlaskClient, make_key: Callable[..., str]) -> None:
    key = make_key(expires_in=timedelta(microseconds=1))
    response = ip_client.post(
        "/v1/questions", json=QUESTION, headers={"Authorization": f"Bearer {key}"}
    )
    assert_unauthorized(response)
    assert "expired" in response.get_json()["message"]


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_valid_key_is_accepted_in_either_header(
    ip_client: FlaskClient, make_key: Callable[..., str], header: str
) -> None:
    key = make_key()
    value = f"Bearer {key}" if header == "Authorization" else key
    response = ip_client.post("/v1/questions", json=QUESTION, headers={header: value})
    assert response.status_code == 200


def test_key_without_the_scope_gets_403(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key(("audit:read",))
    response = ip_client.post(
        "/v1/questions", json=QUESTION, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 403
    body = response.get_json()
    assert body["code"] == "forbidden"
    assert "questions:generate" in body["message"]
    assert "WWW-Authenticate" not in response.headers


def test_admin_scope_grants_every_scope(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {make_key(('admin',))}"}
    assert ip_client.post("/v1/questions", json=QUESTION, headers=headers).status_code == 200
    assert ip_client.get("/v1/audit/events", headers=headers).status_code == 200


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every constant-time comparison made while the test runs."""
    seen: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return seen


def test_unknown_id_is_compared_against_the_dummy_hash(
    app: Flask, comparisons: list[tuple[Any, Any]]
) -> None:
    """An unknown id costs the same row read and comparison as a known id with a wrong secret."""
    assert app.extensions["key_store"].verify(UNKNOWN_KEY) == (None, "unknown")
    assert comparisons == [(keys.hash_secret("A" * 43), keys._DUMMY_HASH)]


def test_known_id_with_a_wrong_secret_makes_the_same_single_comparison(
    app: Flask, comparisons: list[tuple[Any, Any]]
) -> None:
    stored, secret = keys.create_key(get_engine_of(app), name="known", scopes=["admin"])
    assert app.extensions["key_store"].verify(other_secret(secret)) == (None, "unknown")
    assert [stored_hash for _, stored_hash in comparisons] == [stored.secret_hash]


def test_requests_missing_the_same_key_together_read_its_row_once(
    app: Flask, make_key: Callable[..., str]
) -> None:
    secret = make_key()
    app.extensions["key_store"].verify(secret)  # stamped as used: no stamp write below
    store = keys.KeyStore(get_engine_of(app), ttl_s=60)  # an empty cache: every caller misses
    reads: list[str] = []
    sa.event.listen(get_engine_of(app), "before_cursor_execute", _count_key_reads(reads))
    results: list[tuple[keys.ApiKey | None, str]] = []
    callers = [
        threading.Thread(target=lambda: results.append(store.verify(secret))) for _ in range(8)
    ]
    stripe = store._reading[hash(secret[3:15]) % len(store._reading)]
    with stripe:  # a read of this key in progress: the callers queue behind it
        for caller in callers:
            caller.start()
        time.sleep(0.2)
    for caller in callers:
        caller.join(10)
    assert [reason for _, reason in results] == ["ok"] * 8
    assert len(reads) == 1


def _count_key_reads(reads: list[str]) -> Callable[..., None]:
    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_keys" in statement:
            reads.append(statement)

    return count
