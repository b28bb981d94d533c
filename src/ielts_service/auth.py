"""API-key authentication and scope checks for protected views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from . import limits, metrics
from .errors import ApiError
from .key_commands import keys_cli
from .keys import ApiKey, KeyStore
from .state import request_state

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
ANY_SCOPE = "any"  # for views every valid key may call (its own usage)

_REFUSALS = {
    "missing": "an API key is required (Authorization: Bearer <key> or X-API-Key)",
    "malformed": "the API key is malformed",
    "unknown": "the API key is not valid",
    "revoked": "the API key has been revoked",
    "expired": "the API key has expired",
}


def required_scope(view: Callable[..., Any]) -> str | None:
    """The scope a view demands, or None for a public view."""
    return getattr(view, "required_scope", None)


def require_scope(scope: str) -> Callable[[ViewT], ViewT]:
    """Decorate a view: a valid key with `scope` (or any valid key: ANY_SCOPE) may call it."""

    def decorate(view: ViewT) -> ViewT:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            key = authenticate()
            if scope not in (ANY_SCOPE, *key.scopes) and "admin" not in key.scopes:
                metrics.AUTH_FAILURES.labels(reason="forbidden").inc()
                raise ApiError(403, "forbidden", f"this key lacks the scope {scope!r}")
            return view(*args, **kwargs)

        guarded.required_scope = scope  # type: ignore[attr-defined]
        return cast(ViewT, guarded)

    return decorate


def authenticate() -> ApiKey:
    """The request's key, or ApiError 401 saying why not (429 if this IP guessed too often)."""
    limits.refuse_if_ip_exhausted()
    presented, reason = _credential()
    if presented is not None:
        store: KeyStore = current_app.extensions["key_store"]
        try:
            key, reason = store.verify(presented)
        except SQLAlchemyError as exc:
            # Neither the client's fault nor a bug: the key store is down; retry shortly.
            raise ApiError(
                503,
                "key_store_unavailable",
                "keys cannot be checked right now",
                headers={"Retry-After": "5"},
            ) from exc
        if key and reason == "ok":
            request_state().key = key
            return key
    metrics.AUTH_FAILURES.labels(reason=reason).inc()
    limits.charge_refused_credentials()
    raise ApiError(401, "unauthorized", _REFUSALS[reason], headers={"WWW-Authenticate": "Bearer"})


def _credential() -> tuple[str | None, str]:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, "malformed"
        return value.strip(), "ok"
    api_key = request.headers.get("X-API-Key")
    return (api_key.strip(), "ok") if api_key else (None, "missing")


def init_app(app: Flask, store: KeyStore) -> None:
    """Bind the key store and the `flask keys` commands that manage it."""
    app.extensions["key_store"] = store
    app.cli.add_command(keys_cli)
