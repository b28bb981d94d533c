"""POST /v1/speaking-tests: shape, bad input, audit per call, all or nothing, concurrency."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from ielts_service.current_request import current_request_id
from tests.fakes.azure import FAILURE_ANSWERS, FakeAzure
from tests.helpers import both_backends, error_body, success_data

TEST_FIELDS = {"topic", "part1", "part2", "part3", "provider", "model", "match", "usage"}
PATH = "/v1/speaking-tests"


@pytest.fixture
def overrides(azure_settings: dict[str, Any]) -> dict[str, Any]:
    """This module's app calls the fake Azure upstream (one retry per call)."""
    return azure_settings


def audit_events(client: FlaskClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    query = {"kind": "model_call"}
    response = client.get("/v1/audit/events", query_string=query, headers=auth)
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.get_json()["data"]["events"]
    return events


def test_test_has_every_part(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post(PATH, json={"topic": "travel"}, headers=auth)
    data = success_data(response, TEST_FIELDS)
    assert data["topic"] == "travel"
    assert (data["provider"], data["model"]) == ("azure", "gpt-4o-test")
    assert len(data["part1"]) == len(data["part3"]) == 3
    assert set(data["part2"]) == {"question", "prompts", "explain"}
    assert data["part2"]["question"].startswith("Describe ")


@pytest.mark.parametrize(("part1_count", "part3_count"), [(1, 5), (5, 1), (2, 4)])
def test_counts_choose_how_many_questions(
    client: FlaskClient, auth: dict[str, str], part1_count: int, part3_count: int
) -> None:
    body = {"topic": "a book", "part1_count": part1_count, "part3_count": part3_count}
    data = client.post(PATH, json=body, headers=auth).get_json()["data"]
    assert (len(data["part1"]), len(data["part3"])) == (part1_count, part3_count)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"topic": "ok", "part1_count": 0}, "part1_count"),
        ({"topic": "ok", "part1_count": 6}, "part1_count"),
        ({"topic": "ok", "part3_count": 0}, "part3_count"),
        ({"topic": "ok", "part3_count": 6}, "part3_count"),
        ({"topic": "ok", "part1_count": True}, "part1_count"),
        ({"topic": "ok", "part3_count": False}, "part3_count"),
        ({"topic": "ok", "part1_count": "3"}, "part1_count"),
        ({"topic": "ok", "part3_count": 2.5}, "part3_count"),
        ({"topic": "ok", "part": 2}, "part"),
        ({"topic": "ok", "extra": 1}, "extra"),
        ({"topic": ""}, "topic"),
        ({"topic": "   "}, "topic"),
        ({"topic": "x" * 201}, "topic"),
        ({"topic": "tab\there"}, "topic"),
        ({"topic": 7}, "topic"),
        ({}, "topic"),
    ],
)
def test_bad_input_is_a_validation_error(
    client: FlaskClient,
    auth: dict[str, str],
    fake_azure: FakeAzure,
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.post(PATH, json=body, headers=auth)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == "validation_error"
    assert [d["field"] for d in payload["details"]] == [field]
    assert fake_azure.stats()["requests"] == 0


def test_a_key_without_the_scope_is_refused(
    client: FlaskClient, make_key: Callable[..., str]
) -> None:
    headers = {"Authorization": f"Bearer {make_key(('audit:read',))}"}
    assert client.post(PATH, json={"topic": "ok"}, headers=headers).status_code == 403


def test_token_usage_is_summed(client: FlaskClient, auth: dict[str, str]) -> None:
    data = client.post(PATH, json={"topic": "travel"}, headers=auth).get_json()["data"]
    # The fake upstream reports 120 prompt and 48 completion tokens per call.
    assert data["usage"] == {"prompt_tokens": 360, "completion_tokens": 144}


def test_the_token_budget_is_charged_the_summed_usage(
    client: FlaskClient, make_key: Callable[..., str]
) -> None:
    # One test costs 3 * (120 + 48) = 504 tokens, more than one call (168) or a 500 budget.
    headers = {"Authorization": f"Bearer {make_key(token_budget=500)}"}
    assert client.post(PATH, json={"topic": "a"}, headers=headers).status_code == 200
    second = client.post(PATH, json={"topic": "a"}, headers=headers)
    assert second.status_code == 429
    assert second.get_json()["code"] == "token_budget_exceeded"


@both_backends
class TestAuditTrail:
    def test_each_upstream_call_is_audited_under_one_request_id(
        self, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
    ) -> None:
        response = client.post(PATH, json={"topic": "travel"}, headers=auth)
        events = audit_events(client, auth)
        assert fake_azure.stats()["requests"] == len(events) == 3
        assert {e["request_id"] for e in events} == {response.headers["X-Request-ID"]}
        assert sorted(e["part"] for e in events) == [1, 2, 3]
        assert {(e["route"], e["outcome"], e["status"]) for e in events} == {(PATH, "success", 200)}


def test_a_part_that_fails_once_is_retried(
    client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    fake_azure.set(mode="error", times=1)
    response = client.post(PATH, json={"topic": "travel"}, headers=auth)
    assert response.status_code == 200
    assert sorted(e["retries"] for e in audit_events(client, auth)) == [0, 0, 1]


# Without retries, `times=1` makes exactly one part (the first to arrive) fail.
@pytest.mark.settings(AZURE_OPENAI_MAX_RETRIES=0)
class TestOnePartFails:
    @pytest.mark.parametrize("mode", [mode for mode in FAILURE_ANSWERS if mode != "hang"])
    def test_the_whole_test_fails_with_the_mapped_error(
        self, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure, mode: str
    ) -> None:
        fake_azure.set(mode=mode, times=1)
        response = client.post(PATH, json={"topic": "travel"}, headers=auth)
        error_body(response, *FAILURE_ANSWERS[mode])

    def test_every_call_is_audited_and_no_content_is_returned(
        self, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
    ) -> None:
        fake_azure.set(mode="invalid_output", times=1)
        response = client.post(PATH, json={"topic": "travel"}, headers=auth)
        assert "data" not in response.get_json()
        events = audit_events(client, auth)
        assert sorted(e["outcome"] for e in events) == [
            "success",
            "success",
            "upstream_invalid_response",
        ]
        assert {e["status"] for e in events} == {502}


def test_parts_run_concurrently(
    client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
) -> None:
    fake_azure.set(latency_ms=300)
    client.post("/v1/questions", json={"topic": "warm up"}, headers=auth)
    started = time.perf_counter()
    client.post("/v1/questions", json={"topic": "travel"}, headers=auth)
    one_call = time.perf_counter() - started
    started = time.perf_counter()
    response = client.post(PATH, json={"topic": "travel"}, headers=auth)
    whole_test = time.perf_counter() - started
    assert response.status_code == 200
    # Coarse: three sequential calls would take 3x; the benchmark measures the real ratio.
    assert whole_test < 2 * one_call


@pytest.mark.settings(SPEAKING_TEST_MAX_PARALLEL=1)
class TestOnePartAtATime:
    def test_max_parallel_bounds_the_calls_in_flight(
        self, client: FlaskClient, auth: dict[str, str], fake_azure: FakeAzure
    ) -> None:
        fake_azure.set(latency_ms=300)
        started = time.perf_counter()
        response = client.post(PATH, json={"topic": "travel"}, headers=auth)
        assert response.status_code == 200
        # One at a time, three 300 ms calls cannot finish sooner than 900 ms.
        assert time.perf_counter() - started >= 0.9


class TestOffline:
    @pytest.fixture
    def overrides(self) -> dict[str, Any]:
        return {}

    def test_the_offline_provider_composes_a_whole_test(
        self, client: FlaskClient, auth: dict[str, str]
    ) -> None:
        response = client.post(PATH, json={"topic": "a memorable trip"}, headers=auth)
        data = response.get_json()["data"]
        assert set(data) == TEST_FIELDS
        assert data["provider"] == "offline"
        assert data["match"] == "exact"
        assert len(data["part1"]) == len(data["part3"]) == 3

    def test_all_three_parts_are_about_the_topic(
        self, client: FlaskClient, auth: dict[str, str]
    ) -> None:
        response = client.post(PATH, json={"topic": "climate change"}, headers=auth)
        data = response.get_json()["data"]
        assert data["match"] == "theme"
        assert data["part2"]["question"].endswith("climate change.")
        for part in (data["part1"], data["part3"]):
            assert any("climate change" in q or "environment" in q for q in part)


def test_log_lines_from_the_fan_out_threads_carry_the_request_id(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    seen: list[tuple[str, str | None]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.threadName.startswith("speaking-test"):
                seen.append((record.name, current_request_id()))

    handler, sdk_log = Capture(), logging.getLogger("openai")
    previous_level = sdk_log.level
    sdk_log.setLevel(logging.DEBUG)
    sdk_log.addHandler(handler)
    try:
        response = client.post(
            "/v1/speaking-tests",
            json={"topic": "a river"},
            headers={**auth, "X-Request-ID": "fan-out-1"},
        )
    finally:
        sdk_log.removeHandler(handler)
        sdk_log.setLevel(previous_level)
    assert response.status_code == 200
    assert seen
    assert {request_id for _, request_id in seen} == {"fan-out-1"}
    assert current_request_id() is None  # and nothing leaks past the request
