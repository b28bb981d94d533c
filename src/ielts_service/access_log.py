"""Exactly one access line per request, whatever its outcome."""

from __future__ import annotations

import logging
import time

from flask import Response, request

from .state import request_state

log = logging.getLogger("ielts_service.access")


def start() -> None:
    """Start the clock the access line's duration is read from."""
    request_state().started = time.perf_counter()


def write_line(response: Response) -> Response:
    """The request's one access line, with its final status."""
    state = request_state()
    key = state.key
    status = response.status_code
    served = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    rule = served.url_rule
    log.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "%s %s %s",
        served.method,
        served.path,
        status,
        extra={
            "method": served.method,
            "route": rule.rule if rule else None,
            "path": served.path,
            "status": status,
            "duration_ms": round((time.perf_counter() - (state.started or 0)) * 1000, 2),
            "bytes": response.calculate_content_length(),
            "key_id": key.id if key else None,
            "client_ip": served.remote_addr,
            "user_agent": served.user_agent.string or None,
            "error_code": state.error_code,
        },
    )
    return response
