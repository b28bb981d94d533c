"""Sentry error reporting: only with SENTRY_DSN, never with a secret in an event."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask, has_request_context, request, request_finished

from .config import Settings
from .redaction import REDACTED, Redactor
from .state import current_key, request_state

_DROPPED_REQUEST_FIELDS = ("cookies", "data", "query_string", "env")
_SECRET_HEADERS = ("authorization", "x-api-key", "cookie")


def release(version: str, settings: Settings) -> str:
    suffix = f"+{settings.GIT_SHA}" if settings.GIT_SHA else ""
    return f"ielts-question-service@{version}{suffix}"


def init_sentry(settings: Settings, version: str, redactor: Redactor) -> None:
    """Start the SDK when a DSN is configured; errors (log level ERROR) become events."""
    if not settings.SENTRY_DSN:
        return
    # Imported only when configured: the SDK and its integrations cost every worker memory.
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.httpx2 import Httpx2Integration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

    def scrub(event: Any, _hint: Any) -> Any:
        return _scrub(event, redactor)

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN.get_secret_value(),
        environment=settings.APP_ENV,
        release=release(version, settings),
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        # send_default_pii is left unset, which means False: sentry-sdk 2.75 deprecates the
        # option, and its successor `data_collection` would turn the default EventScrubber off.
        integrations=[
            FlaskIntegration(),
            LoggingIntegration(event_level=logging.ERROR),
            Httpx2Integration(),  # upstream calls as spans
            SqlalchemyIntegration(),
            RedisIntegration(),
        ],
        # Only the integrations listed. The auto-enabled OpenAI one, for instance, reports every
        # SDK exception as unhandled, a content-filter refusal (a 422 to the client) included;
        # the service reports upstream failures itself, once, after retries (generation.py).
        auto_enabling_integrations=False,
        before_send=scrub,
        before_send_transaction=scrub,
    )
    request_finished.connect(_tag_scope)


def _request_tags() -> dict[str, str]:
    key = current_key()
    tags = {
        "request_id": request_state().request_id,
        "key_id": key.id if key else None,
        "route": request.url_rule.rule if request.url_rule else None,
    }
    return {name: value for name, value in tags.items() if value is not None}


def _tag_scope(_sender: Flask, **_extra: Any) -> None:
    """Tag the request's scope once the key is known, so its transaction carries the tags too."""
    import sentry_sdk

    sentry_sdk.set_tags(_request_tags())


def _scrub(event: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    if has_request_context():
        event.setdefault("tags", {}).update(_request_tags())
    req = event.get("request")
    if isinstance(req, dict):
        for field in _DROPPED_REQUEST_FIELDS:
            req.pop(field, None)
        if isinstance(req.get("url"), str):
            req["url"] = req["url"].split("?", 1)[0]
        headers = req.get("headers")
        if isinstance(headers, dict):
            req["headers"] = {
                k: REDACTED if k.lower() in _SECRET_HEADERS else v for k, v in headers.items()
            }
    # The dynamic sampling context becomes the envelope header Sentry routes by (it holds the
    # DSN's public key): it is left as the SDK built it.
    trace = event.get("contexts", {}).get("trace", {})
    sampling = trace.pop("dynamic_sampling_context", None)
    scrubbed: dict[str, Any] = redactor.value(event)
    if sampling is not None:
        scrubbed["contexts"]["trace"]["dynamic_sampling_context"] = sampling
    return scrubbed


def flush() -> None:
    """Send what is queued; nothing to do when the SDK was never started."""
    sentry_sdk = sys.modules.get("sentry_sdk")
    if sentry_sdk is not None:
        sentry_sdk.flush(timeout=2)
