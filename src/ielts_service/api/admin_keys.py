"""/v1/admin/keys: list, create, read, change, rotate and revoke API keys (scope `admin`)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app

from .. import keys
from ..audit import key_actor
from ..clock import parse_duration
from ..db import get_engine
from ..errors import ApiError
from ..schemas import (
    Key,
    KeyCreateRequest,
    KeyRotateRequest,
    KeysPage,
    KeysQuery,
    KeyUpdateRequest,
    KeyWithSecret,
)
from ..state import current_key, get_settings
from .cursor import decode_cursor, encode_cursor
from .envelope import success
from .routes import Routes

bp = Blueprint("admin_keys", __name__)
admin = Routes(bp, scope="admin")


def key_model(key: keys.ApiKey) -> Key:
    public = key.public()
    return Key.model_validate({name: public[name] for name in Key.model_fields})


def _with_secret(key: keys.ApiKey, secret: str) -> KeyWithSecret:
    return KeyWithSecret(**key_model(key).model_dump(), secret=secret)


def _key(key_id: str) -> keys.ApiKey:
    """The key with this id (ids, not names, are the API's handles), else 404."""
    try:
        return keys.get_key(get_engine(), key_id, by_name=False)
    except keys.KeyOperationError:
        raise ApiError(404, "not_found", f"no key with id {key_id!r}") from None


def _applied(key: keys.ApiKey) -> keys.ApiKey:
    """Forget the cached key here; other workers and replicas see it within the cache TTL."""
    current_app.extensions["key_store"].forget(key.id)
    return key


def _actor() -> str:
    """`key:<id>` of the admin key that asks: the actor of the audit record."""
    caller = current_key()
    assert caller is not None  # require_scope admitted it
    return key_actor(caller.id)


def _conflict(exc: keys.KeyOperationError) -> ApiError:
    return ApiError(409, "conflict", str(exc))


@admin.get("/v1/admin/keys", response=KeysPage)
def list_keys(query: KeysQuery) -> Response:
    """List API keys.

    In creation order, cursor-paginated; never a secret.
    """
    after = decode_cursor(query.cursor, {"after": str})["after"] if query.cursor else None
    found = keys.list_keys(get_engine(), after=after, limit=query.limit + 1)
    page, more = found[: query.limit], len(found) > query.limit
    return success(
        KeysPage(
            keys=[key_model(key) for key in page],
            next_cursor=encode_cursor({"after": page[-1].id}) if more else None,
        )
    )


@admin.post("/v1/admin/keys", response=KeyWithSecret, errors=(409,), status=201)
def create_key(body: KeyCreateRequest) -> Response:
    """Create an API key.

    The answer carries the key's secret, shown only this once.
    """
    try:
        key, secret = keys.create_key(
            get_engine(),
            name=body.name,
            scopes=list(body.scopes),
            expires_in=parse_duration(body.expires_in) if body.expires_in else None,
            rate_limit=body.rate_limit,
            token_budget=body.token_budget,
            actor=_actor(),
        )
    except keys.KeyOperationError as exc:
        raise _conflict(exc) from None
    return success(_with_secret(key, secret), status=201)


@admin.get("/v1/admin/keys/<key_id>", response=Key, errors=(404,))
def get_key(key_id: str) -> Response:
    """Read an API key.

    One key.
    """
    return success(key_model(_key(key_id)))


@admin.patch("/v1/admin/keys/<key_id>", response=Key, errors=(404,))
def update_key(key_id: str, body: KeyUpdateRequest) -> Response:
    """Change an API key.

    Any of rate_limit, token_budget, expires_at, scopes; null clears a field. Every worker
    and replica applies it within the key cache TTL.
    """
    key = _key(key_id)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    key, _changed = keys.update_key(get_engine(), key.id, changes, actor=_actor())
    return success(key_model(_applied(key)))


@admin.post(
    "/v1/admin/keys/<key_id>/rotate", response=KeyWithSecret, body_required=False, errors=(404, 409)
)
def rotate_key(key_id: str, body: KeyRotateRequest) -> Response:
    """Rotate an API key's secret.

    The new secret is in the answer; the old one works for `grace` (default
    KEY_ROTATION_GRACE_S). The body is optional.
    """
    key = _key(key_id)
    settings = get_settings()
    grace = (
        parse_duration(body.grace)
        if body.grace
        else timedelta(seconds=settings.KEY_ROTATION_GRACE_S)
    )
    try:
        key, secret = keys.rotate_key(get_engine(), key.name, grace, actor=_actor())
    except keys.KeyOperationError as exc:
        raise _conflict(exc) from None
    return success(_with_secret(_applied(key), secret))


@admin.post("/v1/admin/keys/<key_id>/revoke", response=Key, errors=(404,))
def revoke_key(key_id: str) -> Response:
    """Revoke an API key.

    Every worker and replica refuses it within the key cache TTL.
    """
    key = keys.revoke_key(get_engine(), _key(key_id).name, actor=_actor())
    return success(key_model(_applied(key)))
