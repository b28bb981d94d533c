"""POST /v1/questions: data shape, bad input, request ids (offline provider)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from tests.helpers import success_data

QUESTION_FIELDS = {
    "part",
    "topic",
    "question",
    "prompts",
    "explain",
    "provider",
    "model",
    "match",
    "usage",
}


@pytest.mark.parametrize("path", ["/v1/questions", "/generate-question", "/v1/questions/"])
def test_part2_cue_card_shape(client: FlaskClient, auth: dict[str, str], path: str) -> None:
    response = client.post(path, json={"topic": "a memorable trip"}, headers=auth)
    data = success_data(response, QUESTION_FIELDS)
    assert data["part"] == 2
    assert data["provider"] == "offline"
    assert data["match"] == "exact"
    assert data["question"].startswith("Describe ")
    assert 3 <= len(data["prompts"]) <= 4
    assert data["explain"].startswith("and explain")
    assert set(data["usage"]) == {"prompt_tokens", "completion_tokens"}


@pytest.mark.parametrize("part", [1, 3])
def test_part1_and_part3_are_single_questions(
    client: FlaskClient, auth: dict[str, str], part: int
) -> None:
    data = client.post(
        "/v1/questions", json={"topic": "a book", "part": part}, headers=auth
    ).get_json()["data"]
    assert data["part"] == part
    assert data["question"].endswith("?")
    assert data["prompts"] == []
    assert data["explain"] is None


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"data": "topic=x", "content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
        ({"data": "", "content_type": "application/json"}, 400, "invalid_json"),
        (
            {"data": "x" * (16 * 1024 + 1), "content_type": "application/json"},
            413,
            "payload_too_large",
        ),
        ({"json": {}}, 422, "validation_error"),
        ({"json": []}, 422, "validation_error"),
        ({"json": {"topic": ""}}, 422, "validation_error"),
        ({"json": {"topic": "   "}}, 422, "validation_error"),
        ({"json": {"topic": "x" * 201}}, 422, "validation_error"),
        ({"json": {"topic": "tab\there"}}, 422, "validation_error"),
        ({"json": {"topic": "line\nbreak"}}, 422, "validation_error"),
        ({"json": {"topic": "bell\x07"}}, 422, "validation_error"),
        ({"json": {"topic": "ok", "part": 4}}, 422, "validation_error"),
        ({"json": {"topic": "ok", "part": "2"}}, 422, "validation_error"),
        ({"json": {"topic": "ok", "part": True}}, 422, "validation_error"),
        ({"json": {"topic": 5}}, 422, "validation_error"),
        ({"json": {"topic": "ok", "extra": 1}}, 422, "validation_error"),
    ],
)
def test_bad_input_gets_the_exact_status_and_code(
    client: FlaskClient, auth: dict[str, str], kwargs: dict[str, object], status: int, code: str
) -> None:
    response = client.post("/v1/questions", headers=auth, **kwargs)
    assert response.status_code == status
    body = response.get_json()
    assert body["status"] == "error"
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    expected_keys = {"status", "code", "message", "request_id"}
    if code == "validation_error":
        expected_keys.add("details")
        assert all(set(d) == {"field", "message"} for d in body["details"])
    assert set(body) == expected_keys


def test_validation_details_name_each_field(client: FlaskClient, auth: dict[str, str]) -> None:
    body = client.post(
        "/v1/questions", json={"topic": "", "part": 9, "colour": "red"}, headers=auth
    ).get_json()
    assert {d["field"] for d in body["details"]} == {"topic", "part", "colour"}


def test_topic_is_stripped(client: FlaskClient, auth: dict[str, str]) -> None:
    data = client.post(
        "/v1/questions", json={"topic": "  a memorable trip \n"}, headers=auth
    ).get_json()["data"]
    assert data["topic"] == "a memorable trip"


def test_client_request_id_is_echoed(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/v1/questions", json={"topic": "a park"}, headers={**auth, "X-Request-ID": "client-id_1.2"}
    )
    assert response.headers["X-Request-ID"] == "client-id_1.2"


@pytest.mark.parametrize("offered", ["", "has space", "x" * 129, "semi;colon", "ünï"])
def test_bad_request_id_is_replaced(client: FlaskClient, offered: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    generated = response.headers["X-Request-ID"]
    assert generated
    assert generated != offered
    assert len(generated) == 32


def test_a_topic_the_bank_cannot_place_is_a_counted_fallback(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    def fallbacks() -> float:
        value = REGISTRY.get_sample_value("ielts_ai_topic_match_total", {"match": "fallback"})
        return value or 0.0

    before = fallbacks()
    data = client.post("/v1/questions", json={"topic": "xyzzy"}, headers=auth).get_json()["data"]
    assert data["match"] == "fallback"
    assert data["question"] == "Describe an experience connected with xyzzy."
    assert fallbacks() - before == 1
