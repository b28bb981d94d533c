"""Typed access to the app's settings and to the state of the request being served.

Code reads settings with `get_settings()` and the request's key with `current_key()`, never
`current_app.config[...]` or `flask.g` under a string name, so mypy checks both contracts.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from flask import Flask, current_app

from .config import Settings
from .key_record import ApiKey

_SETTINGS = "SETTINGS"


def bind_settings(app: Flask, settings: Settings) -> None:
    """Attach the settings to the app (once, in the factory)."""
    app.config[_SETTINGS] = settings


def get_settings(app: Flask | None = None) -> Settings:
    """The settings of `app`, or of the current app."""
    settings = (app or current_app).config[_SETTINGS]
    if not isinstance(settings, Settings):
        raise RuntimeError("the app was not built by ielts_service.create_app")
    return settings


@dataclass
class RequestState:
    """What the service learns about one request while serving it."""

    request_id: str | None = None
    request_id_token: Token[str | None] | None = None
    started: float | None = None
    key: ApiKey | None = None
    # Tokens the answer used, charged to the key's daily budget after the view.
    tokens_used: int | None = None
    # Set by the error envelope: the access line's error_code, the Retry-After it chose.
    error_code: str | None = None
    retry_after: str | None = None


# A context variable rather than flask.g: read about fifteen times a request, and each read of
# g goes through a context-local proxy. Each server thread or greenlet has its own.
_STATE: ContextVar[RequestState | None] = ContextVar("ielts_request_state", default=None)


def start_request_state() -> RequestState:
    """A fresh state for the request that begins (its first hook)."""
    state = RequestState()
    _STATE.set(state)
    return state


def end_request_state() -> None:
    """The request is over (its last teardown): the next one on this thread starts afresh."""
    _STATE.set(None)


def request_state() -> RequestState:
    """The current request's state, created on first use."""
    return _STATE.get() or start_request_state()


def current_key() -> ApiKey | None:
    """The key the request authenticated with, or None before (or without) authentication."""
    return request_state().key
