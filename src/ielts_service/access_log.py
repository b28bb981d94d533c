"""Exactly one access line per request, whatever its outcome."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("ielts_service.access")


def _start() -> None:
    g.request_started = time.perf_counter()


def _log(response: Response) -> Response:
    key = g.get("api_key")
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
            "duration_ms": round((time.perf_counter() - g.get("request_started", 0)) * 1000, 2),
            "bytes": response.calculate_content_length(),
            "key_id": key.id if key else None,
            "client_ip": request.remote_addr,
            "user_agent": request.user_agent.string or None,
            "error_code": g.get("error_code"),
        },
    )
    return response


def init_app(app: Flask) -> None:
    # Right after the request id is assigned; the after_request hook registered first runs last.
    app.before_request_funcs.setdefault(None, []).insert(1, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _log)
