"""One JSON error envelope for every failure, on every path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from .state import request_state

# Plain HTTP errors raised by Flask/werkzeug, mapped to the API's codes.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


@dataclass(eq=False)  # compared and hashed by identity, as exceptions are
class ApiError(Exception):
    """An error the client should see, with its status, machine code and message."""

    status: int
    code: str
    message: str
    details: list[dict[str, str]] | None = field(default=None, kw_only=True)
    headers: dict[str, str] = field(default_factory=dict, kw_only=True)

    def __str__(self) -> str:
        return self.message


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build the error envelope; the only place that does."""
    state = request_state()
    body: dict[str, Any] = {
        "status": "error",
        "code": code,
        "message": message,
        "request_id": state.request_id,
    }
    if details is not None:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    state.error_code = code
    if "Retry-After" in response.headers:
        state.retry_after = response.headers["Retry-After"]
    return response


def _handle_api_error(exc: ApiError) -> Response:
    return error_response(
        exc.status, exc.code, exc.message, details=exc.details, headers=exc.headers
    )


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
    message = (exc.description or exc.name) if status != 500 else "internal server error"
    return error_response(status, HTTP_CODES.get(status, "http_error"), message, headers=headers)


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _handle_api_error)
    # Unexpected exceptions take Flask's own path (logged with the traceback, the
    # got_request_exception signal for Sentry, counted by the metrics exporter) and reach
    # this handler as an InternalServerError: a JSON 500 without internals.
    app.register_error_handler(HTTPException, _handle_http_exception)
