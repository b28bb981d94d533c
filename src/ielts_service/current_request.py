"""The id of the request being served, in a context variable.

Log lines and audit records read it without Flask (the gunicorn master logs through the
same handlers and never imports Flask), and threads a request fans out to see it when run
with `contextvars.copy_context()`.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return _current.get()


def enter(request_id: str) -> Token[str | None]:
    """Mark `request_id` as the current one; returns the token that `leave` takes."""
    return _current.set(request_id)


def leave(token: Token[str | None]) -> None:
    _current.reset(token)
