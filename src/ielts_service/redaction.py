"""Removes secrets from text and nested values: used by log filters and Sentry's before_send."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"
_CREDENTIAL_FIELDS = r"api[-_]?key|authorization|token|secret|password"
_PATTERNS = [
    # An API key keeps its public part (iq_<id>); everything after it is secret, even truncated.
    (re.compile(r"(iq_[0-9a-f]{12})_[A-Za-z0-9_-]+"), r"\1_" + REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), r"\1 " + REDACTED),
    # `name: value` / `name=value`, including a scheme word before the value ("Token abc").
    (
        re.compile(
            rf"(?i)((?:{_CREDENTIAL_FIELDS})[\"']?\s*[:=]\s*[\"']?)(?:[A-Za-z]+\s+)?[^\s\"',;&]+"
        ),
        r"\1" + REDACTED,
    ),
    # Credentials inside URLs: a DSN's key and secret, a database or Redis password.
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^:/@\s]*(?::[^@\s]*)?@"), r"\1" + REDACTED + "@"),
]
# Every pattern above needs one of these, in any case, first: text without them skips the
# patterns. One search of the lowered text for the plain words: a case-insensitive regex
# alternation costs about 0.2 us per character, and every string of every log line passes here.
# A key's public id alone (every access and audit line has one) is not a trigger: the key
# pattern needs the separator after it.
_TRIGGERS = ("bearer", "basic", "api", "authorization", "token", "secret", "password", "://")
_ANY_TRIGGER = re.compile("|".join([r"iq_[0-9a-f]{12}_", *map(re.escape, _TRIGGERS)]))


def might_hold_secret(text: str) -> bool:
    """Whether any pattern could match `text` (never False where one would)."""
    return _ANY_TRIGGER.search(text.lower()) is not None


SECRET_KEYS = {
    "authorization",
    "x-api-key",
    "api-key",
    "api_key",
    "cookie",
    "set-cookie",
    "key",
    "token",
    "password",
    "secret",
    "dsn",
}


_SCALARS = frozenset({int, float, bool})  # nothing to redact inside


class Redactor:
    """Knows the patterns of secrets and the configured secret values."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self._values = sorted({v for v in secret_values if len(v) >= 6}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._values:
            if secret in value:
                value = value.replace(secret, REDACTED)
        if not might_hold_secret(value):
            return value
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """Redact strings anywhere inside dicts, lists and tuples; drop values of secret keys."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            if self._nothing_to_redact(value):
                return value
            return {k: self._field(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(v) for v in value)
        return value

    def _nothing_to_redact(self, fields: dict[Any, Any]) -> bool:
        """One test for a flat dict (an audit record, a log line's fields): no secret-named key
        holds a value, and the text of all its strings together could not be changed. The
        strings are joined with a NUL, which no pattern or configured value crosses."""
        strings = []
        for key, value in fields.items():
            if value and str(key).lower() in SECRET_KEYS:
                return False
            if value is None or type(value) in _SCALARS:
                continue
            if type(value) is not str:
                return False  # nested: field by field
            strings.append(value)
        joined = "\0".join(strings)
        return not any(secret in joined for secret in self._values) and not might_hold_secret(
            joined
        )

    def _field(self, key: Any, value: Any) -> Any:
        if value and str(key).lower() in SECRET_KEYS:
            return REDACTED
        if value is None or type(value) in _SCALARS:  # most fields of a log line
            return value
        return self.value(value)
