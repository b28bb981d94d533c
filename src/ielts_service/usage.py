"""Usage per key (requests, tokens, errors), computed from the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .clock import as_utc
from .tables import audit_events

SPEAKING_TEST_ROUTE = "/v1/speaking-tests"

GroupBy = Literal["day", "key"]
DEFAULT_WINDOW = timedelta(days=7)
COUNTS = ("requests", "prompt_tokens", "completion_tokens", "errors")

_events = audit_events.c


def _utc_day(engine: Engine) -> sa.ColumnElement[Any]:
    """The record's UTC calendar day (a date, or 'YYYY-MM-DD' text on SQLite)."""
    if engine.dialect.name == "postgresql":
        # Constants, not bound parameters: the statistics on this expression (migration
        # 0007) are matched against it.
        utc = sa.func.timezone(sa.literal_column("'UTC'"), _events.time)
        return sa.func.date_trunc(sa.literal_column("'day'"), utc)
    return sa.func.strftime("%Y-%m-%d", _events.time)  # SQLite stores naive UTC


# One record per request: a speaking test writes three records, one per part, and only its
# Part 2 record counts; every other route writes one record per request. This counts
# requests without COUNT(DISTINCT request_id), which sorts the whole range.
_ONE_PER_REQUEST = sa.or_(_events.route != SPEAKING_TEST_ROUTE, _events.part == 2)


def usage(
    engine: Engine,
    *,
    since: datetime,
    until: datetime | None = None,
    key_id: str | None = None,
    group_by: GroupBy = "day",
) -> list[dict[str, Any]]:
    """Rows of key_id (and day), requests, prompt_tokens, completion_tokens, errors.

    Tokens are summed over every provider call; requests and errors count each request
    once (an error: a request not answered with success, or never answered).
    """
    groups: list[sa.ColumnElement[Any]] = [_events.key_id]
    if group_by == "day":
        groups.append(_utc_day(engine).label("day"))
    counted = sa.case((_ONE_PER_REQUEST, 1), else_=0)
    # No status: the worker died during the call (an `abandoned` record), so no answer.
    unanswered = sa.or_(_events.status >= 400, _events.status.is_(None))
    failed = sa.case((sa.and_(_ONE_PER_REQUEST, unanswered), 1), else_=0)
    query = (
        sa.select(
            *groups,
            sa.func.sum(counted).label("requests"),
            sa.func.coalesce(sa.func.sum(_events.prompt_tokens), 0).label("prompt_tokens"),
            sa.func.coalesce(sa.func.sum(_events.completion_tokens), 0).label("completion_tokens"),
            sa.func.sum(failed).label("errors"),
        )
        .where(_events.kind == "model_call", _events.time >= as_utc(since))
        .group_by(*groups)
        .order_by(*groups)
    )
    if until is not None:
        query = query.where(_events.time < as_utc(until))
    if key_id is not None:
        query = query.where(_events.key_id == key_id)
    with engine.connect() as conn:
        return [_plain(row) for row in conn.execute(query).mappings()]


def _plain(row: sa.RowMapping) -> dict[str, Any]:
    """Counts as ints, the day as 'YYYY-MM-DD'."""
    plain = {name: int(row[name]) for name in COUNTS}
    day = row.get("day")
    if day is not None and not isinstance(day, str):
        day = day.strftime("%Y-%m-%d")
    return {"key_id": row["key_id"], **({"day": day} if "day" in row else {}), **plain}


def today(engine: Engine, key_id: str, now: datetime) -> dict[str, int]:
    """The key's requests, tokens and errors since 00:00 UTC today."""
    midnight = as_utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = usage(engine, since=midnight, key_id=key_id, group_by="key")
    return {name: rows[0][name] if rows else 0 for name in COUNTS}
