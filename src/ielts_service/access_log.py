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
    log.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "%s %s %s",
        request.method,
        request.path,
        status,
        extra={
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule else None,
            "path": request.path,
            "status": status,
            "duration_ms": round((time.perf_counter() - (state.started or 0)) * 1000, 2),
            "bytes": response.calculate_content_length(),
            "key_id": key.id if key else None,
            "client_ip": request.remote_addr,
            "user_agent": request.user_agent.string or None,
            "error_code": state.error_code,
        },
    )
    return response
