"""Walk the URL map: every route is public by design or demands a key with the right scope."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from ielts_service.auth import ANY_SCOPE, required_scope
from ielts_service.keys import SCOPES
from tests.helpers import both_backends

PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/init.js",
    "/docs/assets/<path:filename>",
    "/static/<path:filename>",
}
BODY = {"topic": "a memorable trip"}


pytestmark = [both_backends, pytest.mark.settings(ENABLE_TEST_ROUTES=True)]


def is_public(rule: Rule) -> bool:
    return rule.rule in PUBLIC or rule.rule.startswith("/_test/")


def protected_calls(app: Flask) -> list[tuple[str, str, str]]:
    """(method, path, scope) for every method of every protected route."""
    calls = []
    for rule in app.url_map.iter_rules():
        if is_public(rule):
            continue
        scope = required_scope(app.view_functions[rule.endpoint])
        assert scope in (*SCOPES, ANY_SCOPE), f"{rule.rule} is neither public nor key-protected"
        calls += [
            (method, rule.rule, scope)
            for method in sorted(rule.methods or ())
            if method != "OPTIONS"
        ]
    return calls


def call(client: FlaskClient, method: str, path: str, key: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = BODY if method == "POST" else None
    return client.open(path, method=method, json=body, headers=headers).status_code


def test_the_walk_finds_every_api_route(app: Flask) -> None:
    paths = {path for _, path, _ in protected_calls(app)}
    assert paths == {
        "/v1/questions",
        "/generate-question",
        "/v1/speaking-tests",
        "/v1/audit/events",
        "/v1/admin/keys",
        "/v1/admin/keys/<key_id>",
        "/v1/admin/keys/<key_id>/rotate",
        "/v1/admin/keys/<key_id>/revoke",
        "/v1/admin/usage",
        "/v1/usage",
    }


def test_every_protected_route_refuses_requests_without_a_key(
    app: Flask, ip_client: FlaskClient
) -> None:
    for method, path, _ in protected_calls(app):
        assert call(ip_client, method, path) == 401, (method, path)


def test_every_protected_route_refuses_a_key_without_its_scope(
    app: Flask, ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    for method, path, scope in protected_calls(app):
        if scope == ANY_SCOPE:
            continue
        others = tuple(s for s in SCOPES if s not in (scope, "admin"))
        assert call(ip_client, method, path, make_key(others)) == 403, (method, path)


def test_every_protected_route_admits_a_key_with_its_scope(
    app: Flask, ip_client: FlaskClient, make_key: Callable[..., str]
) -> None:
    for method, path, scope in protected_calls(app):
        key = make_key(("questions:generate",) if scope == ANY_SCOPE else (scope,))
        # Admitted: past the key and scope checks (admin routes may then refuse the body).
        assert call(ip_client, method, path, key) not in (401, 403), (method, path)


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"],
)
def test_public_routes_need_no_key(ip_client: FlaskClient, path: str) -> None:
    with ip_client.get(path) as response:
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 401),
        ({"Authorization": "metrics-token-0123456789"}, 401),
        ({"Authorization": "Basic metrics-token-0123456789"}, 401),
        ({"Authorization": "Bearer metrics-token-0123456789"}, 200),
    ],
)
@pytest.mark.settings(METRICS_TOKEN="metrics-token-0123456789")
def test_metrics_token_guards_metrics_when_set(
    client: FlaskClient, headers: dict[str, str], status: int
) -> None:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.get_json()["code"] == "unauthorized"


@pytest.mark.settings(METRICS_TOKEN="metrics-token-0123456789")
def test_metrics_token_leaves_other_public_routes_open(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
