"""Usage from the audit trail (/v1/admin/usage, `keys usage`), a key's own view (/v1/usage) and
the token-budget headers, on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ielts_service.audit import store
from ielts_service.db import get_engine_of
from tests.fakes.azure import FakeAzure
from tests.helpers import audit_rows, both_backends

QUESTION = {"topic": "a memorable trip"}
TOKENS_PER_CALL = 168  # what the fake upstream reports: 120 prompt + 48 completion

pytestmark = both_backends


@pytest.fixture
def overrides(azure_settings: dict[str, Any]) -> dict[str, Any]:
    return azure_settings


@pytest.fixture
def admin(make_key: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(('admin',))}"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def ask(client: FlaskClient, key: str) -> Any:
    return client.post("/v1/questions", json=QUESTION, headers=bearer(key))


def expected_usage(app: Flask) -> dict[str, dict[str, int]]:
    """Usage per key computed directly from the model-call records: distinct requests."""
    per_key: dict[str, dict[str, Any]] = {}
    for row in audit_rows(app):
        usage = per_key.setdefault(
            row["key_id"], {"requests": set(), "failed": set(), "prompt": 0, "completion": 0}
        )
        usage["requests"].add(row["request_id"])
        if row["status"] >= 400:
            usage["failed"].add(row["request_id"])
        usage["prompt"] += row["prompt_tokens"]
        usage["completion"] += row["completion_tokens"]
    return {
        key_id: {
            "requests": len(u["requests"]),
            "prompt_tokens": u["prompt"],
            "completion_tokens": u["completion"],
            "errors": len(u["failed"]),
        }
        for key_id, u in per_key.items()
    }


@pytest.fixture
def traffic(
    ip_client: FlaskClient, make_key: Callable[..., str], fake_azure: FakeAzure
) -> list[str]:
    """Two keys' worth of questions, speaking tests and upstream failures; returns the keys."""
    first, second = make_key(), make_key()
    for _ in range(3):
        assert ask(ip_client, first).status_code == 200
    test = ip_client.post("/v1/speaking-tests", json=QUESTION, headers=bearer(second))
    assert test.status_code == 200
    assert ask(ip_client, second).status_code == 200
    fake_azure.set(mode="error")
    assert ask(ip_client, second).status_code == 502
    assert (
        ip_client.post("/v1/speaking-tests", json=QUESTION, headers=bearer(first)).status_code
        == 502
    )
    fake_azure.set(mode="ok")
    return [first, second]


def test_usage_by_key_equals_the_audit_records(
    app: Flask, ip_client: FlaskClient, admin: dict[str, str], traffic: list[str]
) -> None:
    response = ip_client.get("/v1/admin/usage?group_by=key", headers=admin)
    rows = response.get_json()["data"]["usage"]
    assert {row.pop("key_id"): row for row in rows} == expected_usage(app)
    assert sum(row["errors"] for row in rows) == 2


def test_usage_by_day_names_the_utc_day(
    app: Flask, ip_client: FlaskClient, admin: dict[str, str], traffic: list[str]
) -> None:
    rows = ip_client.get("/v1/admin/usage", headers=admin).get_json()["data"]["usage"]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert {row["day"] for row in rows} == {today}
    assert {row["key_id"] for row in rows} == set(expected_usage(app))


def test_usage_filters_by_key_name_and_time(
    app: Flask, ip_client: FlaskClient, admin: dict[str, str], traffic: list[str]
) -> None:
    key_id = traffic[0][3:15]
    rows = ip_client.get(f"/v1/admin/usage?key={key_id}&group_by=key", headers=admin)
    assert [row["key_id"] for row in rows.get_json()["data"]["usage"]] == [key_id]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = ip_client.get("/v1/admin/usage", query_string={"since": future}, headers=admin)
    assert later.get_json()["data"]["usage"] == []


def test_keys_usage_cli_prints_what_the_api_answers(
    app: Flask, ip_client: FlaskClient, admin: dict[str, str], traffic: list[str]
) -> None:
    result = app.test_cli_runner().invoke(args=["keys", "usage", "--json"])
    assert result.exit_code == 0, result.output
    api = ip_client.get("/v1/admin/usage", headers=admin).get_json()["data"]
    assert json.loads(result.stdout) == api


@pytest.mark.parametrize(
    "query",
    [
        "group_by=week",
        "since=yesterday",
        "since=2026-01-01T00:00:00",
        "limit=5",
        "key=" + "k" * 101,
        "until=0001-01-01T00:00:00Z",  # the default window before it would overflow
    ],
)
def test_usage_rejects_bad_query_parameters(
    ip_client: FlaskClient, admin: dict[str, str], query: str
) -> None:
    response = ip_client.get(f"/v1/admin/usage?{query}", headers=admin)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_own_usage_shows_the_budget_window_and_requests_today(
    app: Flask, ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key(token_budget=1000, rate_limit="50/minute")
    for _ in range(2):
        assert ask(ip_client, key).status_code == 200
    data = ip_client.get("/v1/usage", headers=bearer(key)).get_json()["data"]
    assert data["key_id"] == key[3:15]
    assert data["rate_limit"] == "50/minute"
    assert data["requests_today"] == 2
    budget = data["token_budget"]
    assert (budget["limit"], budget["used"]) == (1000, 2 * TOKENS_PER_CALL)
    assert budget["remaining"] == 1000 - 2 * TOKENS_PER_CALL
    resets_at = datetime.fromisoformat(budget["resets_at"])
    assert timedelta(hours=23) < resets_at - datetime.now(UTC) <= timedelta(days=1)


def test_budget_headers_follow_the_limiter_to_the_refusal(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key(token_budget=500)
    remaining = []
    for _ in range(4):
        response = ask(ip_client, key)
        remaining.append(int(response.headers["X-TokenBudget-Remaining"]))
        assert response.headers["X-TokenBudget-Limit"] == "500"
        assert 0 < int(response.headers["X-TokenBudget-Reset"]) <= 86400
        if response.status_code == 429:
            break
    # 168 tokens a call: the third call overspends; the fourth is refused, as announced.
    assert remaining == [500 - 168, 500 - 336, 0, 0]
    assert response.get_json()["code"] == "token_budget_exceeded"
    own = ip_client.get("/v1/usage", headers=bearer(key))
    assert own.status_code == 200  # reading one's usage never spends or needs budget
    assert own.get_json()["data"]["token_budget"]["remaining"] == 0
    assert own.headers["X-TokenBudget-Remaining"] == "0"


@pytest.mark.settings(TOKEN_BUDGET_DAILY=0)
def test_a_key_without_a_budget_has_no_budget_headers_or_state(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key()
    response = ask(ip_client, key)
    assert response.status_code == 200
    assert not [name for name, _ in response.headers.items() if name.startswith("X-TokenBudget")]
    assert (
        ip_client.get("/v1/usage", headers=bearer(key)).get_json()["data"]["token_budget"] is None
    )


def test_budget_headers_are_absent_without_a_valid_key(ip_client: FlaskClient) -> None:
    response = ip_client.get("/v1/usage")
    assert response.status_code == 401
    assert "X-TokenBudget-Limit" not in response.headers


def test_a_call_abandoned_by_a_dead_worker_is_an_unanswered_request(
    app: Flask, ip_client: FlaskClient, admin: dict[str, str], make_key: Callable[..., str]
) -> None:
    key_id = make_key()[3:15]
    record = {
        "kind": "model_call",
        "outcome": "abandoned",
        "request_id": "abandoned-1",
        "key_id": key_id,
        "client_ip": "10.0.0.9",
        "route": "/v1/questions",
        "part": 2,
        "topic": "a memorable trip",
        "provider": "azure",
        "model": "gpt-4o-test",
    }
    store.append(get_engine_of(app), [record])
    rows = ip_client.get(f"/v1/admin/usage?key={key_id}&group_by=key", headers=admin)
    assert rows.get_json()["data"]["usage"] == [
        {"key_id": key_id, "requests": 1, "prompt_tokens": 0, "completion_tokens": 0, "errors": 1}
    ]
