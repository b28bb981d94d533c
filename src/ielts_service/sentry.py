"""Sentry error reporting: only with SENTRY_DSN, never with a secret in an event."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from flask import g, has_request_context, request
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from .config import Settings
from .redaction import REDACTED, Redactor

_DROPPED_REQUEST_FIELDS = ("cookies", "data", "query_string", "env")


def release(version: str, settings: Settings) -> str:
    suffix = f"+{settings.GIT_SHA}" if settings.GIT_SHA else ""
    return f"ielts-question-service@{version}{suffix}"


def init_sentry(settings: Settings, version: str) -> None:
    """Start the SDK when a DSN is configured; errors (log level ERROR) become events."""
    if not settings.SENTRY_DSN:
        return
    redactor = Redactor(settings.secret_values())

    def scrub(event: Any, _hint: Any) -> Any:
        return _scrub(event, redactor)

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN.get_secret_value(),
        environment=settings.APP_ENV,
        release=release(version, settings),
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        send_default_pii=False,
        integrations=[FlaskIntegration(), LoggingIntegration(event_level="ERROR")],
        before_send=scrub,
        before_send_transaction=scrub,
    )


def _scrub(event: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    if has_request_context():
        key = g.get("api_key")
        tags = event.setdefault("tags", {})
        tags["request_id"] = g.get("request_id")
        tags["key_id"] = key.id if key else None
        tags["route"] = request.url_rule.rule if request.url_rule else None
    req = event.get("request")
    if isinstance(req, dict):
        for field in _DROPPED_REQUEST_FIELDS:
            req.pop(field, None)
        if isinstance(req.get("url"), str):
            req["url"] = req["url"].split("?", 1)[0]
        headers = req.get("headers")
        if isinstance(headers, dict):
            req["headers"] = {
                k: REDACTED if k.lower() in ("authorization", "x-api-key", "cookie") else v
                for k, v in headers.items()
            }
    scrubbed: dict[str, Any] = redactor.value(event)
    return scrubbed


def flush() -> None:
    sentry_sdk.flush(timeout=2)
