"""Request ids: the client's `X-Request-ID` when well-formed, else a new one, echoed back.

The id also lives in a context variable, so threads a request fans out to (with
`contextvars.copy_context()`) log it too.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return _current.get()


def _assign() -> None:
    offered = request.headers.get(HEADER, "")
    g.request_id = offered if _VALID.fullmatch(offered) else uuid.uuid4().hex
    g.request_id_token = _current.set(g.request_id)


def _echo(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id") or ""
    return response


def _forget(_exc: BaseException | None) -> None:
    # Server threads are reused: lines logged after this request must not carry its id.
    token = g.pop("request_id_token", None)
    if token is not None:
        _current.reset(token)


def init_app(app: Flask) -> None:
    # First before_request of the app, so every later hook and error sees the id.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign)
    app.after_request(_echo)
    app.teardown_request(_forget)
