"""Request ids: the client's `X-Request-ID` when well-formed, else a new one, echoed back."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def _assign() -> None:
    offered = request.headers.get(HEADER, "")
    g.request_id = offered if _VALID.fullmatch(offered) else uuid.uuid4().hex


def _echo(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id") or ""
    return response


def init_app(app: Flask) -> None:
    # First before_request of the app, so every later hook and error sees the id.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign)
    app.after_request(_echo)
