"""Security headers on every response, CORS only when configured, /metrics closed in production."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import ValidationError

from ielts_service.config import Settings
from ielts_service.security import DOCS_CSP


def concrete(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "swagger-ui.css", rule)


def test_every_route_answers_with_nosniff_and_no_version(app: Flask, auth: dict[str, str]) -> None:
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            with client.open(concrete(rule.rule), method=method, headers=auth, json={}) as response:
                assert response.headers["X-Content-Type-Options"] == "nosniff", rule.rule
                assert "Server" not in response.headers
                assert "X-Powered-By" not in response.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/questions"),
        ("POST", "/generate-question"),
        ("POST", "/v1/speaking-tests"),
        ("GET", "/v1/audit/events"),
        ("GET", "/v1/nope"),
    ],
)
def test_api_answers_are_never_cached(
    app: Flask, auth: dict[str, str], method: str, path: str
) -> None:
    response = app.test_client().open(path, method=method, json={"topic": "a trip"}, headers=auth)
    assert response.headers["Cache-Control"] == "no-store"


def test_docs_page_allows_only_its_own_assets_and_no_framing(app: Flask) -> None:
    response = app.test_client().get("/docs")
    assert response.headers["Content-Security-Policy"] == DOCS_CSP
    assert "unsafe-inline" not in DOCS_CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script to allow


def test_cors_is_off_unless_configured(app: Flask) -> None:
    response = app.test_client().get("/healthz", headers={"Origin": "https://evil.example"})
    assert not [name for name, _ in response.headers if name.startswith("Access-Control-")]


@pytest.mark.settings(CORS_ALLOWED_ORIGINS="https://app.example, https://b.example")
def test_cors_allows_only_the_configured_origins(client: FlaskClient) -> None:
    allowed = client.get("/healthz", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Origin" in allowed.headers["Vary"]
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        "/v1/questions",
        headers={
            "Origin": "https://b.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_production_needs_a_metrics_token_or_an_explicit_public_metrics() -> None:
    base = {"APP_ENV": "production", "AI_PROVIDER": "offline"}
    with pytest.raises(ValidationError, match="METRICS_TOKEN: required"):
        Settings(**base)
    assert Settings(**base, METRICS_TOKEN="t" * 32).METRICS_TOKEN
    assert Settings(**base, METRICS_PUBLIC=True).METRICS_PUBLIC
