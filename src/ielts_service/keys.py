"""API keys: random secrets stored only as SHA-256 hashes, identified by id, name and prefix.

A key reads `iq_<id>_<secret>`: the id (48 bits, public) finds the row, the secret (256 bits)
is checked against the stored hash in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard, TypeVar, cast

import sqlalchemy as sa
from limits import parse_many
from sqlalchemy.engine import Engine

from .audit.operator import change_of, cli_actor, record_operator_action
from .audit.store import write_transaction
from .clock import now
from .key_record import ApiKey as ApiKey  # where callers have always found it
from .tables import api_keys

SCOPES = ("questions:generate", "audit:read", "admin")
# What `update_key` may change; None clears a field (scopes cannot be cleared).
UPDATABLE = ("rate_limit", "token_budget", "expires_at", "scopes")
KEY_PATTERN = re.compile(r"iq_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
# Compared against when a key id is unknown, so a miss costs what a hit costs.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()
_LAST_USED_EVERY = timedelta(minutes=1)
_READ_STRIPES = 16  # locks that serialise reads of the same key row (keys.KeyStore._fetch)
_When = TypeVar("_When", datetime, None)
# What key_created and key_updated records show of a key (never its secret or hash).
_AUDITED = ("name", "scopes", "rate_limit", "token_budget", "expires_at", "revoked_at")


class KeyOperationError(Exception):
    """A key operation that cannot be done (unknown name, duplicate, bad scope)."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_rate_limit(text: str) -> str:
    """`text` if it is a rate limit such as '120/minute' or '10/second;1000/day'."""
    try:
        parse_many(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a rate limit such as 120/minute") from None
    return text


def token_budget(key: ApiKey, default: int) -> int | None:
    """The key's daily token budget: its own, else the default (0: none)."""
    return key.token_budget or default or None


def _check_scopes(scopes: list[str]) -> str:
    """The scopes as stored, or KeyOperationError when empty or unknown."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        offered = ", ".join(scopes) or "none"
        raise KeyOperationError(f"scopes must be among {', '.join(SCOPES)}; got {offered}")
    return ",".join(sorted(set(scopes)))


def create_key(
    engine: Engine,
    *,
    name: str,
    scopes: list[str],
    expires_in: timedelta | None = None,
    rate_limit: str | None = None,
    token_budget: int | None = None,
    actor: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key and its `key_created` record; returns the key with the full key string,
    which is shown once. `actor` defaults to this process's OS user and host."""
    stored_scopes = _check_scopes(scopes)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    created = now()
    row = {
        "id": key_id,
        "name": name,
        "secret_hash": hash_secret(secret),
        "scopes": stored_scopes,
        "rate_limit": rate_limit,
        "token_budget": token_budget,
        "created_at": created,
        "expires_at": created + expires_in if expires_in else None,
    }
    try:
        with write_transaction(engine) as conn:
            conn.execute(api_keys.insert().values(row))
            key = _locked(conn, name)
            change = {field: {"old": None, "new": value} for field, value in _audited(key).items()}
            _record(conn, "key_created", actor, key, change)
    except sa.exc.IntegrityError:
        raise KeyOperationError(f"a key named {name!r} already exists") from None
    return key, f"iq_{key_id}_{secret}"


def list_keys(
    engine: Engine, *, after: str | None = None, limit: int | None = None
) -> list[ApiKey]:
    """Keys in creation order; `after` a key id, up to `limit` of them."""
    order = sa.tuple_(api_keys.c.created_at, api_keys.c.id)
    query = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id).limit(limit)
    if after is not None:
        start = sa.select(api_keys.c.created_at, api_keys.c.id).where(api_keys.c.id == after)
        query = query.where(order > start.scalar_subquery())
    with engine.connect() as conn:
        return [_from_row(row) for row in conn.execute(query).mappings()]


def get_by_name(engine: Engine, name: str) -> ApiKey:
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.name == name)).mappings().first()
    if row is None:
        raise KeyOperationError(f"no key named {name!r}")
    return _from_row(row)


def get_key(engine: Engine, ref: str, *, by_name: bool = True) -> ApiKey:
    """The key whose id (or else, with `by_name`, whose name) is `ref`."""
    columns = (api_keys.c.id, api_keys.c.name) if by_name else (api_keys.c.id,)
    with engine.connect() as conn:
        for column in columns:
            row = conn.execute(sa.select(api_keys).where(column == ref)).mappings().first()
            if row is not None:
                return _from_row(row)
    raise KeyOperationError(f"no key {ref!r}")


def update_key(
    engine: Engine, key_id: str, changes: Mapping[str, object], *, actor: str | None = None
) -> tuple[ApiKey, dict[str, dict[str, Any]]]:
    """Apply `changes` (fields of UPDATABLE) and record `key_updated` when something changed;
    returns the key and each changed field's old and new value."""
    values = dict(changes)
    if "scopes" in values:
        values["scopes"] = _check_scopes(list(cast(Iterable[str], values["scopes"] or [])))
    with write_transaction(engine) as conn:
        key = _locked(conn, key_id, by=api_keys.c.id)
        conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(values))
        updated = _locked(conn, key_id, by=api_keys.c.id)
        change = change_of(_audited(key), _audited(updated))
        if change:
            _record(conn, "key_updated", actor, key, change)
    return updated, change


def revoke_key(engine: Engine, name: str, *, actor: str | None = None) -> ApiKey:
    """Revoke the key and record `key_revoked`; a revoked key stays as it is."""
    with write_transaction(engine) as conn:
        key = _locked(conn, name)
        if key.revoked_at:
            return key
        conn.execute(api_keys.update().where(api_keys.c.id == key.id).values(revoked_at=now()))
        revoked = _locked(conn, name)
        _record(conn, "key_revoked", actor, key, change_of(_audited(key), _audited(revoked)))
    return revoked


def rotate_key(
    engine: Engine, name: str, grace: timedelta, *, actor: str | None = None
) -> tuple[ApiKey, str]:
    """Give the key a new secret (the old one keeps working for `grace`); record `key_rotated`."""
    secret = secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        key = _locked(conn, name)
        if key.revoked_at:
            raise KeyOperationError(f"key {name!r} is revoked")
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key.id)
            .values(
                secret_hash=hash_secret(secret),
                previous_secret_hash=key.secret_hash,
                previous_valid_until=now() + grace,
            )
        )
        rotated = _locked(conn, name)
        change = change_of(
            {"previous_valid_until": key.previous_valid_until},
            {"previous_valid_until": rotated.previous_valid_until},
        )
        _record(conn, "key_rotated", actor, key, change)
    return rotated, f"iq_{key.id}_{secret}"


def _locked(conn: sa.Connection, ref: str, *, by: sa.Column[str] = api_keys.c.name) -> ApiKey:
    """The key's row (by name, or `by` another column), locked until the transaction ends
    (SQLite: the whole database is)."""
    query = sa.select(api_keys).where(by == ref).with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise KeyOperationError(f"no key {'named' if by is api_keys.c.name else 'with id'} {ref!r}")
    return _from_row(row)


def _audited(key: ApiKey) -> dict[str, object]:
    """The key's settings an operator changes, as its audit records show them."""
    public = key.public()
    return {name: public[name] for name in _AUDITED}


def _record(
    conn: sa.Connection, kind: str, actor: str | None, key: ApiKey, change: dict[str, Any]
) -> None:
    record_operator_action(
        conn, kind=kind, actor=actor or cli_actor(), target_key_id=key.id, change=change
    )


def has_keys(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one() > 0


class KeyStore:
    """Looks keys up by id with a short cache, so a revocation takes effect within its TTL."""

    def __init__(self, engine: Engine, ttl_s: float) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()
        self._reading = [threading.Lock() for _ in range(_READ_STRIPES)]

    def verify(self, presented: str) -> tuple[ApiKey | None, str]:
        """(key, "ok") for a usable key, else (key or None, the reason it is refused)."""
        match = KEY_PATTERN.fullmatch(presented)
        if not match:
            return None, "malformed"
        key_id, secret = match.groups()
        offered = hash_secret(secret)
        key = self._cached(key_id)
        if key is None or not _matches(key, offered):
            # A miss always reads the row: a key rotated since it was cached works at once,
            # and unknown and known ids cost the same query and comparison.
            key = self._fetch(key_id)
            if not _matches(key, offered):
                return None, "unknown"
        if key.revoked_at:
            return key, "revoked"
        if key.expires_at and key.expires_at <= now():
            return key, "expired"
        self._touch(key)
        return key, "ok"

    def forget(self, key_id: str) -> None:
        """Drop the key from this process's cache (a change made here applies at once)."""
        with self._lock:
            self._cache.pop(key_id, None)

    def _cached(self, key_id: str) -> ApiKey | None:
        cached = self._cache.get(key_id)
        if cached and time.monotonic() - cached[0] < self._ttl_s:
            return cached[1]
        return None

    def _fetch(self, key_id: str) -> ApiKey | None:
        """Read the key's row; only keys that exist are cached, so the cache stays bounded.

        One read per key at a time: when a cached key expires under load, the requests that
        miss together wait for the first one's read (it began after they asked) instead of
        each reading the row.
        """
        asked = time.monotonic()
        with self._reading[hash(key_id) % len(self._reading)]:
            cached = self._cache.get(key_id)
            if cached and cached[0] >= asked:
                return cached[1]
            with self._engine.connect() as conn:
                query = sa.select(api_keys).where(api_keys.c.id == key_id)
                row = conn.execute(query).mappings().first()
            if row is None:
                return None
            key = _from_row(row)
            with self._lock:
                self._cache[key_id] = (time.monotonic(), key)
            return key

    def _touch(self, key: ApiKey) -> None:
        """Record last use, at most once a minute per key (not a write per request)."""
        stamp = now()
        if key.last_used_at and stamp - key.last_used_at < _LAST_USED_EVERY:
            return
        with write_transaction(self._engine) as conn:
            conn.execute(
                api_keys.update().where(api_keys.c.id == key.id).values(last_used_at=stamp)
            )
        self.forget(key.id)


def _matches(key: ApiKey | None, offered: str) -> TypeGuard[ApiKey]:
    """Whether `offered` is the key's secret hash (or its previous one, within the grace)."""
    current = hmac.compare_digest(offered, key.secret_hash if key else _DUMMY_HASH)
    previous = bool(
        key
        and key.previous_secret_hash
        and key.previous_valid_until
        and key.previous_valid_until > now()
        and hmac.compare_digest(offered, key.previous_secret_hash)
    )
    return key is not None and (current or previous)


def _from_row(row: sa.RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        scopes=frozenset(row["scopes"].split(",")),
        rate_limit=row["rate_limit"],
        token_budget=row["token_budget"],
        created_at=_utc(row["created_at"]),
        expires_at=_utc(row["expires_at"]),
        revoked_at=_utc(row["revoked_at"]),
        last_used_at=_utc(row["last_used_at"]),
        secret_hash=row["secret_hash"],
        previous_secret_hash=row["previous_secret_hash"],
        previous_valid_until=_utc(row["previous_valid_until"]),
    )


def _utc(value: _When) -> _When:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo:
        return value
    return value.replace(tzinfo=UTC)
