"""Every route in the URL map answers bad methods and bad bodies with JSON, never HTML or 500."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

ALL_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


pytestmark = pytest.mark.settings(ENABLE_TEST_ROUTES=True)


def concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "swagger-ui.css", rule)


def assert_json_error(response: object, status: int) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.mimetype == "application/json"  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert body["status"] == "error"
    assert body["request_id"]
    assert "<html" not in response.get_data(as_text=True).lower()  # type: ignore[attr-defined]


def test_every_route_rejects_other_methods_with_json_405(app: Flask) -> None:
    client = app.test_client()
    served: dict[str, set[str]] = {}  # a path may have one rule per method
    for rule in app.url_map.iter_rules():
        served.setdefault(rule.rule, set()).update(rule.methods or ())
    for path, methods in served.items():
        for method in sorted(ALL_METHODS - methods):
            response = client.open(concrete(path), method=method)
            assert_json_error(response, 405)
            assert response.get_json()["code"] == "method_not_allowed"
            assert "Allow" in response.headers


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{broken", "application/json"),
        ("<xml/>", "application/xml"),
        ("[1,2]", "application/json"),
        ("\x00\xff", "application/json"),
    ],
)
def test_every_post_route_answers_bad_bodies_with_a_json_4xx(
    app: Flask, auth_for: Callable[[Flask], dict[str, str]], body: str, content_type: str
) -> None:
    client, headers = app.test_client(), auth_for(app)
    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()):
            response = client.post(rule.rule, data=body, content_type=content_type, headers=headers)
            assert 400 <= response.status_code < 500, (rule.rule, response.status_code)
            assert_json_error(response, response.status_code)


@pytest.mark.parametrize(
    "path",
    ["/nope", "/v1", "/v1/questions/extra", "//v1//questions", "/docs/assets/missing.js", "/%ff"],
)
def test_unknown_paths_are_json_404s(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert_json_error(response, 404)
    assert response.get_json()["code"] == "not_found"


def test_unhandled_exception_is_a_json_500_without_internals(app: Flask) -> None:
    response = app.test_client().get("/_test/crash")
    assert_json_error(response, 500)
    body = response.get_data(as_text=True)
    assert response.get_json()["code"] == "internal_error"
    assert "deliberate failure" not in body
    assert "Traceback" not in body


@pytest.fixture
def auth_for() -> Callable[[Flask], dict[str, str]]:
    from ielts_service import keys
    from ielts_service.db import get_engine_of

    def make(app: Flask) -> dict[str, str]:
        _, secret = keys.create_key(
            get_engine_of(app), name="walker", scopes=["questions:generate", "audit:read"]
        )
        return {"Authorization": f"Bearer {secret}"}

    return make


def test_unhandled_exception_is_counted_by_the_exporter(app: Flask) -> None:
    client = app.test_client()
    client.get("/_test/crash")
    metrics = client.get("/metrics").get_data(as_text=True)
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("flask_http_request_exceptions_total{")
    ]
    assert counted
    assert float(counted[0].rsplit(" ", 1)[1]) == 1.0
