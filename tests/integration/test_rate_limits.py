"""Per-key limits, the per-IP limit for refused keys and the token budget, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ielts_service.db import get_engine_of
from tests.fakes.azure import FakeAzure
from tests.helpers import both_backends

QUESTION = {"topic": "a memorable trip"}
BAD_KEY = "iq_000000000000_" + "A" * 43
TOKENS_PER_CALL = 168  # what the fake upstream reports: 120 prompt + 48 completion


pytestmark = both_backends


def ask(client: FlaskClient, key: str, **headers: str) -> Any:
    return client.post(
        "/v1/questions", json=QUESTION, headers={"Authorization": f"Bearer {key}", **headers}
    )


def test_five_per_minute_passes_five_and_refuses_the_sixth(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key(rate_limit="5/minute")
    passed = [ask(ip_client, key) for _ in range(5)]
    assert [r.status_code for r in passed] == [200] * 5
    assert [r.headers["X-RateLimit-Remaining"] for r in passed] == ["4", "3", "2", "1", "0"]
    refused = ask(ip_client, key)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "rate_limited"
    assert refused.headers["X-RateLimit-Limit"] == "5"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) > 0
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_keys_are_limited_separately(ip_client: FlaskClient, make_key: Callable[..., str]) -> None:
    spent, fresh = make_key(rate_limit="1/minute"), make_key(rate_limit="1/minute")
    assert ask(ip_client, spent).status_code == 200
    assert ask(ip_client, spent).status_code == 429
    assert ask(ip_client, fresh).status_code == 200


@pytest.mark.settings(RATE_LIMIT_DEFAULT="2/minute;1000/day")
def test_default_limit_applies_to_keys_without_their_own(
    ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    key = make_key()
    assert [ask(ip_client, key).status_code for _ in range(3)] == [200, 200, 429]


PROXIED = {"TRUSTED_PROXY_HOPS": 1, "RATE_LIMIT_UNAUTHENTICATED": "3/minute"}


@pytest.mark.settings(**PROXIED)
def test_refused_credentials_exhaust_the_ip_before_any_key_lookup(
    client: FlaskClient, make_key: Callable[..., str], make_ip: Callable[[], str]
) -> None:
    guesser, neighbour = make_ip(), make_ip()
    for _ in range(3):
        assert ask(client, BAD_KEY, **{"X-Forwarded-For": guesser}).status_code == 401
    valid = make_key()
    refused = ask(client, valid, **{"X-Forwarded-For": guesser})
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "rate_limited"
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert int(refused.headers["Retry-After"]) > 0
    assert ask(client, valid, **{"X-Forwarded-For": neighbour}).status_code == 200


@pytest.mark.settings(**PROXIED)
def test_missing_keys_count_against_the_ip(client: FlaskClient, make_ip: Callable[[], str]) -> None:
    ip = make_ip()
    statuses = [
        client.post("/v1/questions", json=QUESTION, headers={"X-Forwarded-For": ip}).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.settings(**PROXIED)
def test_valid_keys_are_not_charged_to_the_ip(
    client: FlaskClient, make_key: Callable[..., str], make_ip: Callable[[], str]
) -> None:
    key, ip = make_key(), make_ip()
    assert [ask(client, key, **{"X-Forwarded-For": ip}).status_code for _ in range(5)] == [200] * 5


@pytest.mark.settings(TRUSTED_PROXY_HOPS=0, RATE_LIMIT_UNAUTHENTICATED="2/minute")
def test_forwarded_for_is_ignored_without_trusted_hops(
    ip_client: FlaskClient, make_ip: Callable[[], str]
) -> None:
    """A guesser cannot dodge the per-IP limit by inventing X-Forwarded-For addresses."""
    statuses = [
        ask(ip_client, BAD_KEY, **{"X-Forwarded-For": make_ip()}).status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


class TestTokenBudget:
    @pytest.fixture
    def overrides(self, azure_settings: dict[str, Any]) -> dict[str, Any]:
        """The fake Azure upstream reports the token usage a budget counts."""
        return azure_settings

    @pytest.mark.parametrize(
        ("budget", "served"),
        [(2 * TOKENS_PER_CALL, 2), (2 * TOKENS_PER_CALL + 1, 3), (TOKENS_PER_CALL - 1, 1)],
    )
    def test_token_budget_refuses_once_recorded_usage_reaches_it(
        self,
        app: Flask,
        fake_azure: FakeAzure,
        make_ip: Callable[[], str],
        budget: int,
        served: int,
    ) -> None:
        from ielts_service import keys

        _, key = keys.create_key(
            get_engine_of(app),
            name="budgeted",
            scopes=["questions:generate"],
            token_budget=budget,
        )
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = make_ip()
        responses = [ask(client, key) for _ in range(served + 1)]
        assert [r.status_code for r in responses] == [200] * served + [429]
        usage = responses[0].get_json()["data"]["usage"]
        assert usage["prompt_tokens"] + usage["completion_tokens"] == TOKENS_PER_CALL
        refused = responses[-1]
        assert refused.get_json()["code"] == "token_budget_exceeded"
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.headers["X-RateLimit-Limit"] == str(budget)
        assert fake_azure.stats()["requests"] == served
