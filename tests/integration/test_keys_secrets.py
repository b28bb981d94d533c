"""No key secret in the database, in the logs or in any response after creation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ielts_service.db import get_engine_of
from tests.helpers import both_backends


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "log" / "service.log"


pytestmark = both_backends


@pytest.fixture
def overrides(log_file: Path) -> dict[str, Any]:
    return {"LOG_FILE": str(log_file), "LOG_LEVEL": "DEBUG"}


@pytest.fixture
def issued(app: Flask) -> list[str]:
    """Keys created and rotated through the CLI: the old and the new full key of one name."""
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["keys", "create", "client", "--json", "--scopes", "questions:generate,audit:read"]
    )
    rotated = runner.invoke(args=["keys", "rotate", "client", "--json"])
    return [json.loads(created.stdout)["key"], json.loads(rotated.stdout)["key"]]


def secret_parts(keys: list[str]) -> list[str]:
    """The secret half of each key (the id half is public by design)."""
    return [key[16:] for key in keys]


def exercise(client: FlaskClient, keys: list[str]) -> list[str]:
    """Use the keys every way a client might, right and wrong; return every response's text."""
    texts = []
    for key in keys:
        calls = [
            ("POST", "/v1/questions", {"Authorization": f"Bearer {key}"}),
            ("POST", "/v1/speaking-tests", {"X-API-Key": key}),
            ("GET", "/v1/audit/events", {"Authorization": f"Bearer {key}"}),
            ("GET", f"/v1/audit/events?key={key}", {"Authorization": f"Bearer {key}"}),
            ("POST", "/v1/questions", {"Authorization": f"Bearer {key[:-1]}x"}),
            ("POST", "/v1/questions", {"Authorization": f"Basic {key}"}),
            ("GET", f"/no-such-route/{key}", {"X-API-Key": key}),
        ]
        for method, path, headers in calls:
            response = client.open(
                path,
                method=method,
                headers=headers,
                json={"topic": "a park"} if method == "POST" else None,
            )
            texts.append(f"{response.headers}\n{response.get_data(as_text=True)}")
    for path in ("/readyz", "/metrics", "/openapi.json"):
        response = client.get(path)
        texts.append(f"{response.headers}\n{response.get_data(as_text=True)}")
    return texts


def test_no_secret_in_any_table(app: Flask, issued: list[str], ip_client: FlaskClient) -> None:
    exercise(ip_client, issued)
    engine = get_engine_of(app)
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        dump = "\n".join(
            repr(row) for table in tables.sorted_tables for row in conn.execute(sa.select(table))
        )
    assert "api_keys" in tables.tables
    assert "audit_events" in tables.tables
    assert dump.count(issued[0][3:15]) > 1  # the key's row and its audit records
    for secret in secret_parts(issued):
        assert secret not in dump


def test_no_secret_in_the_logs(issued: list[str], ip_client: FlaskClient, log_file: Path) -> None:
    exercise(ip_client, issued)
    logs = log_file.read_text()
    assert issued[0][3:15] in logs  # the key id is logged; its secret is not
    for secret in secret_parts(issued):
        assert secret not in logs


def test_no_secret_in_any_response(issued: list[str], ip_client: FlaskClient) -> None:
    texts = exercise(ip_client, issued)
    assert any('"status":"success"' in text.replace(" ", "") for text in texts)
    for secret in secret_parts(issued):
        assert not [text for text in texts if secret in text]
