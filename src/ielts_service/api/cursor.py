"""Opaque pagination cursors: a position as URL-safe base64 JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ..errors import ApiError


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fields: dict[str, type]) -> dict[str, Any]:
    """The position in `cursor`, which must hold `fields` of those types; else 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        position = None
    valid = isinstance(position, dict) and all(
        type(position.get(name)) is kind for name, kind in fields.items()
    )
    if not valid:
        raise ApiError(
            422,
            "validation_error",
            "query parameters are invalid",
            details=[{"field": "cursor", "message": "not a cursor from this API"}],
        )
    return dict(position)
