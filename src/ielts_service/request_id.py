"""Request ids: the client's `X-Request-ID` when well-formed, else a new one, echoed back.

The id also lives in a context variable (current_request.py) for log lines and fan-out threads.
"""

from __future__ import annotations

import re
import uuid

from flask import Response, request

from . import current_request
from .state import end_request_state, request_state, start_request_state

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def assign() -> None:
    """The request's id: the client's when well-formed, else a new one."""
    offered = request.headers.get(HEADER, "")
    state = start_request_state()
    state.request_id = offered if _VALID.fullmatch(offered) else uuid.uuid4().hex
    state.request_id_token = current_request.enter(state.request_id)


def echo(response: Response) -> Response:
    """X-Request-ID on every response."""
    response.headers[HEADER] = request_state().request_id or ""
    return response


def forget(_exc: BaseException | None) -> None:
    """Server threads are reused: lines logged after this request must not carry its id, nor
    the next request find its state."""
    state = request_state()
    if state.request_id_token is not None:
        current_request.leave(state.request_id_token)
        state.request_id_token = None
    end_request_state()
