"""One text rule for every string a client sends, on every operation of the OpenAPI document."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import both_backends

# NUL, a C0 control, DEL, a C1 control (NEL), bidi override, isolate and mark.
FORBIDDEN = ["\x00", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\u200f"]
ALLOWED = ["café", "日本の旅", "a trip 🧳", "family\u200dmembers"]  # ZWJ joins emoji


pytestmark = both_backends
# A valid body of each operation that takes one, which the walk adds the tested string to.
BODIES = {
    ("post", "/v1/questions"): {"topic": "a trip"},
    ("post", "/generate-question"): {"topic": "a trip"},
    ("post", "/v1/speaking-tests"): {"topic": "a trip"},
    ("post", "/v1/admin/keys"): {"name": "walker", "scopes": ["audit:read"]},
}


@pytest.fixture
def auth(make_key: Callable[..., str]) -> dict[str, str]:
    """An admin key: it may call every operation the walk reaches."""
    return {"Authorization": f"Bearer {make_key(('admin',))}"}


@pytest.fixture
def key_id(make_key: Callable[..., str]) -> str:
    """The id the walk puts in paths such as /v1/admin/keys/{key_id}."""
    return make_key()[3:15]


def string_inputs(app: Flask) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every string the spec says an operation accepts."""
    spec = app.test_client().get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                query_text = param["in"] == "query" and _is_string(param["schema"])
                if query_text and "format" not in str(param["schema"]):
                    found.append((method, path, "query", param["name"]))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                model = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]
                for name, prop in model["properties"].items():
                    if _is_string(prop):
                        found.append((method, path, "body", name))
    return found


def _is_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" or any(
        s.get("type") == "string" for s in schema.get("anyOf", [])
    )


def send(
    client: FlaskClient, auth: dict[str, str], target: tuple[str, ...], value: str, key_id: str
) -> Any:
    method, path, where, name = target
    url = path.replace("{key_id}", key_id)
    if where == "query":
        return client.open(url, method=method, query_string={name: value}, headers=auth)
    body = {**BODIES.get((method, path), {}), name: value}
    return client.open(url, method=method, json=body, headers=auth)


def free_text(app: Flask, target: tuple[str, ...]) -> bool:
    """Whether the input takes any text (not a cursor, a pattern, a format or listed values)."""
    return target[3] != "cursor" and not _constrained(app, target)


def _constrained(app: Flask, target: tuple[str, ...]) -> bool:
    method, path, where, name = target
    spec = app.test_client().get("/openapi.json").get_json()
    operation = spec["paths"][path][method]
    if where == "query":
        (schema,) = [p["schema"] for p in operation["parameters"] if p["name"] == name]
    else:
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"][name]
    return any(word in str(schema) for word in ("'pattern'", "'format'", "'enum'"))


def test_the_spec_names_the_inputs_this_test_walks(app: Flask) -> None:
    targets = {(path, name) for _, path, _, name in string_inputs(app)}
    assert {("/v1/questions", "topic"), ("/v1/audit/events", "outcome")} <= targets
    assert ("/v1/audit/events", "key") in targets


@pytest.mark.parametrize("char", FORBIDDEN)
def test_every_string_input_refuses_control_and_bidi_characters(
    app: Flask, client: FlaskClient, auth: dict[str, str], key_id: str, char: str
) -> None:
    for target in string_inputs(app):
        response = send(client, auth, target, f"x{char}y", key_id)
        assert response.status_code == 422, (target, response.get_json())
        body = response.get_json()
        assert body["code"] == "validation_error"
        assert [d["field"] for d in body["details"]] == [target[3]]


@pytest.mark.parametrize("text", ALLOWED)
def test_ordinary_unicode_is_accepted(
    app: Flask, client: FlaskClient, auth: dict[str, str], key_id: str, text: str
) -> None:
    for target in string_inputs(app):
        if free_text(app, target):
            assert send(client, auth, target, text, key_id).status_code in (200, 201), target


def test_nul_in_an_audit_filter_is_a_422_not_a_database_error(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    for name in ("outcome", "key"):
        response = client.get(f"/v1/audit/events?{name}=%00x", headers=auth)
        assert response.status_code == 422
        assert response.get_json()["details"][0]["field"] == name


@pytest.mark.parametrize("part", [1.0, 2.0, "2", True])
def test_part_is_a_strict_integer(client: FlaskClient, auth: dict[str, str], part: Any) -> None:
    response = client.post("/v1/questions", json={"topic": "a trip", "part": part}, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["details"][0]["field"] == "part"


@pytest.mark.parametrize(("size", "status"), [(16 * 1024, 422), (16 * 1024 + 1, 413)])
def test_chunked_body_over_the_limit_is_413(
    client: FlaskClient, auth: dict[str, str], size: int, status: int
) -> None:
    body = b'{"topic": "a trip", "x": "' + b"y" * (size - 28) + b'"}'
    assert len(body) == size
    response = client.post(
        "/v1/questions",
        input_stream=io.BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn sets it for chunked
        headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert response.status_code == status
