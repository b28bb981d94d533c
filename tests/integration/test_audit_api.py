"""GET /v1/audit/events: filters, newest first, cursor pagination, limits, scope."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import keys
from ielts_service.audit import store
from ielts_service.db import get_engine_of
from tests.fakes.audit_records import sample_record
from tests.helpers import both_backends

URL = "/v1/audit/events"


pytestmark = both_backends


def append(app: Flask, count: int, **fields: Any) -> list[dict[str, Any]]:
    """Append `count` records, one per transaction as requests do; returns them as stored."""
    engine = get_engine_of(app)
    return [store.append(engine, [sample_record(**fields)])[0] for _ in range(count)]


def events(client: FlaskClient, auth: dict[str, str], **query: Any) -> Any:
    """Records of provider calls (the key behind `auth` has a key_created record too)."""
    query.setdefault("kind", "model_call")
    response = client.get(URL, query_string=query, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def ids(page: dict[str, Any]) -> list[str]:
    return [event["id"] for event in page["events"]]


def test_newest_first_with_every_record_field(
    app: Flask, client: FlaskClient, auth: dict[str, str]
) -> None:
    stored = append(app, 3)
    page = events(client, auth)
    assert ids(page) == [row["id"] for row in reversed(stored)]
    assert page["next_cursor"] is None
    newest = page["events"][0]
    assert newest["hash"] == stored[-1]["hash"]
    assert newest["prev_hash"] == stored[1]["hash"]
    assert newest["time"].endswith("Z")
    assert newest["content"] == stored[-1]["content"]


def test_cursor_walks_every_record_exactly_once(
    app: Flask, client: FlaskClient, auth: dict[str, str]
) -> None:
    stored = append(app, 23)
    seen: list[str] = []
    page = events(client, auth, limit=5)
    while True:
        assert len(page["events"]) <= 5
        seen += ids(page)
        if page["next_cursor"] is None:
            break
        page = events(client, auth, limit=5, cursor=page["next_cursor"])
    assert seen == [row["id"] for row in reversed(stored)]


def test_cursor_keeps_the_filters(app: Flask, client: FlaskClient, auth: dict[str, str]) -> None:
    failures = append(app, 4, outcome="upstream_error", status=502)
    append(app, 4)
    first = events(client, auth, outcome="upstream_error", limit=3)
    rest = events(client, auth, outcome="upstream_error", limit=3, cursor=first["next_cursor"])
    assert ids(first) + ids(rest) == [row["id"] for row in reversed(failures)]


def test_filter_by_outcome(app: Flask, client: FlaskClient, auth: dict[str, str]) -> None:
    append(app, 2)
    timeouts = append(app, 2, outcome="upstream_timeout", status=504)
    page = events(client, auth, outcome="upstream_timeout")
    assert ids(page) == [row["id"] for row in reversed(timeouts)]


@pytest.mark.parametrize("by", ["id", "name"])
def test_filter_by_key_id_or_name(
    app: Flask, client: FlaskClient, auth: dict[str, str], by: str
) -> None:
    key, _ = keys.create_key(get_engine_of(app), name="reporting-app", scopes=["audit:read"])
    append(app, 2)
    mine = append(app, 2, key_id=key.id)
    page = events(client, auth, key=key.id if by == "id" else key.name)
    assert ids(page) == [row["id"] for row in reversed(mine)]


def test_filter_by_time_range(app: Flask, client: FlaskClient, auth: dict[str, str]) -> None:
    append(app, 2)
    time.sleep(0.01)
    middle = append(app, 2)
    time.sleep(0.01)
    append(app, 2)
    # Bounds in a non-UTC zone on purpose: they are instants, whatever the offset.
    india = timezone(timedelta(hours=5, minutes=30))
    since = middle[0]["time"].astimezone(india)
    until = (middle[-1]["time"] + timedelta(microseconds=1)).astimezone(india)
    page = events(client, auth, since=since.isoformat(), until=until.isoformat())
    assert ids(page) == [row["id"] for row in reversed(middle)]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "x"},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJiZWZvcmUiOiAieCJ9"},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},
        {"colour": "red"},
    ],
)
def test_bad_query_is_422(
    app: Flask, client: FlaskClient, auth: dict[str, str], query: dict[str, Any]
) -> None:
    response = client.get(URL, query_string=query, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_limit_bounds_are_accepted(app: Flask, client: FlaskClient, auth: dict[str, str]) -> None:
    append(app, 2)
    assert len(events(client, auth, limit=1)["events"]) == 1
    assert len(events(client, auth, limit=1000)["events"]) == 2


@pytest.mark.parametrize(
    ("scopes", "status"), [(None, 401), (("questions:generate",), 403), (("audit:read",), 200)]
)
def test_scope_audit_read_is_required(
    app: Flask,
    client: FlaskClient,
    make_key: Callable[..., str],
    scopes: tuple[str, ...] | None,
    status: int,
) -> None:
    headers = {"Authorization": f"Bearer {make_key(scopes)}"} if scopes else {}
    assert client.get(URL, headers=headers).status_code == status
