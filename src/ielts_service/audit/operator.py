"""Operator actions on the audit trail: who changed which key (or pruned the trail), and how."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..clock import iso_utc
from ..current_request import current_request_id
from ..tables import AUDIT_KINDS
from . import store

OPERATOR_KINDS = frozenset(AUDIT_KINDS) - {"model_call"}
# Names that must never reach a record, whatever a caller puts in a change.
_SECRET_NAMES = frozenset({"secret", "key", "secret_hash", "previous_secret_hash"})


def record_operator_action(
    db: sa.Connection | Engine,
    *,
    kind: str,
    actor: str,
    target_key_id: str | None,
    change: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Append one operator record (`change`: field -> {"old", "new"}); returns it as stored.

    Given a Connection, the record joins the caller's transaction, so the action and its
    record commit (or roll back) together; on SQLite that transaction must have begun with
    `store.write_transaction`. Given an Engine, the record is committed on its own.
    """
    if kind not in OPERATOR_KINDS:
        raise ValueError(
            f"{kind!r} is not an operator action ({', '.join(sorted(OPERATOR_KINDS))})"
        )
    leaked = _SECRET_NAMES & set(change)
    if leaked:
        raise ValueError(f"a change must not carry secrets: {', '.join(sorted(leaked))}")
    record = {
        "kind": kind,
        "actor": actor,
        "target_key_id": target_key_id,
        "change": {
            name: {"old": _plain(v["old"]), "new": _plain(v["new"])} for name, v in change.items()
        },
        "request_id": current_request_id(),
    }
    if isinstance(db, sa.Connection):
        return store.insert_chained(db, [record])[0]
    return store.append(db, [record])[0]


def change_of(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value differs, as {field: {"old", "new"}} (a missing field is None)."""
    names = sorted(set(before) | set(after))
    return {
        name: {"old": before.get(name), "new": after.get(name)}
        for name in names
        if _plain(before.get(name)) != _plain(after.get(name))
    }


def cli_actor() -> str:
    """`cli:<os user>@<host>`: the actor of a command run on this machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry
        user = f"uid{os.getuid()}"
    return f"cli:{user}@{socket.gethostname()}"


def key_actor(key_id: str) -> str:
    """`key:<id>`: the actor of an action requested over HTTP with an admin key."""
    return f"key:{key_id}"


def _plain(value: Any) -> Any:
    """A JSON value: times as ISO 8601 UTC, sets as sorted lists."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value
