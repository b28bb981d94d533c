"""Request ids: the client's `X-Request-ID` when well-formed, else a new one, echoed back.

The id also lives in a context variable, so threads a request fans out to (with
`contextvars.copy_context()`) log it too.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from flask import Response, request

from .state import request_state

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return _current.get()


def assign() -> None:
    """The request's id: the client's when well-formed, else a new one."""
    offered = request.headers.get(HEADER, "")
    state = request_state()
    state.request_id = offered if _VALID.fullmatch(offered) else uuid.uuid4().hex
    state.request_id_token = _current.set(state.request_id)


def echo(response: Response) -> Response:
    """X-Request-ID on every response."""
    response.headers[HEADER] = request_state().request_id or ""
    return response


def forget(_exc: BaseException | None) -> None:
    """Server threads are reused: lines logged after this request must not carry its id."""
    state = request_state()
    if state.request_id_token is not None:
        _current.reset(state.request_id_token)
        state.request_id_token = None
