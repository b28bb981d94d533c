"""Time helpers: one source of 'now' (UTC), UTC normalisation, and durations such as `90d`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; SQLite stores and compares times as naive UTC text."""
    if value.tzinfo is None:  # SQLite hands back naive datetimes; everything stored is UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds, the form hashed and exported."""
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_duration(text: str) -> timedelta:
    """'90d', '12h', '30m', '2w' → timedelta; ValueError for anything else."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 30d, 12h or 15m")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})
