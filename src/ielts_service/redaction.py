"""Removes secrets from text and nested values: used by log filters and Sentry's before_send."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
_PATTERNS = [
    (re.compile(r"\b(iq_[0-9a-f]{12})_[A-Za-z0-9_-]{20,}"), r"\1_" + REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), r"\1 " + REDACTED),
    (re.compile(r"(?i)((?:api[-_]?key|authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+"),
     r"\1" + REDACTED),
    (re.compile(r"(https?://)[^:/@\s]+(?::[^@\s]*)?@"), r"\1" + REDACTED + "@"),
]
SECRET_KEYS = {"authorization", "x-api-key", "api-key", "api_key", "cookie", "set-cookie", "key",
               "token", "password", "secret", "dsn"}


class Redactor:
    """Knows the patterns of secrets and the configured secret values."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self._values = sorted({v for v in secret_values if len(v) >= 6}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """Redact strings anywhere inside dicts, lists and tuples; drop values of secret keys."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: REDACTED if str(k).lower() in SECRET_KEYS and v else self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        return value
