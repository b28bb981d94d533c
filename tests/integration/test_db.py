"""The database layer: migrations by command and at start, SQLite's WAL mode, the dev key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from ielts_service import create_app, keys
from ielts_service.config import Settings
from ielts_service.db import alembic_config, get_engine_of
from ielts_service.tables import metadata
from tests.processes import flask_cli

TABLES = {"api_keys", "audit_events", "audit_chain", "alembic_version"}
SINGLE_HOST = "do not scale past one host"


@pytest.fixture
def pg_database_url(pg_schema_url: str) -> str:
    """These tests migrate (or not) themselves: the PostgreSQL backend starts empty."""
    return pg_schema_url


@pytest.fixture
def built(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Flask]]:
    """Build apps from settings overrides; their engines are disposed afterwards."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        # Production refuses an open /metrics unless told; these tests are about the database.
        apps.append(create_app(make_settings(METRICS_PUBLIC=True, **overrides)))
        return apps[-1]

    yield build
    for app in apps:
        get_engine_of(app).dispose()


def tables_of(app: Flask) -> set[str]:
    return set(sa.inspect(get_engine_of(app)).get_table_names())


def test_db_upgrade_command_creates_the_schema(
    backend: dict[str, str], tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """In production nothing migrates at start; `flask db upgrade` does it."""
    database_url = make_settings(**backend).DATABASE_URL
    env = {
        "APP_ENV": "production",
        "AI_PROVIDER": "offline",
        "METRICS_PUBLIC": "true",
        "LOG_FILE": "",
        "DATABASE_URL": database_url,
    }
    assert flask_cli(tmp_path, env, "db", "current").stdout.strip() == "none"
    flask_cli(tmp_path, env, "db", "upgrade")
    head = ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://")))
    assert flask_cli(tmp_path, env, "db", "current").stdout.strip() == head.get_current_head()
    engine = sa.create_engine(database_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(built: Callable[..., Flask]) -> None:
    with get_engine_of(built()).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


@pytest.mark.parametrize(
    ("env", "migrated"), [("development", True), ("test", True), ("production", False)]
)
def test_migrations_apply_at_start_outside_production(
    built: Callable[..., Flask], backend: dict[str, str], env: str, migrated: bool
) -> None:
    app = built(APP_ENV=env, CREATE_DEV_KEY=False, **backend)
    assert (tables_of(app) >= TABLES) is migrated


def single_host_warnings(log_file: Path) -> list[str]:
    text = log_file.read_text() if log_file.exists() else ""  # created at the first line
    lines = [json.loads(line) for line in text.splitlines()]
    return [
        line["message"]
        for line in lines
        if line["level"] == "WARNING" and SINGLE_HOST in line["message"]
    ]


def test_production_on_embedded_stores_starts_but_warns(
    built: Callable[..., Flask], tmp_path: Path
) -> None:
    log_file = tmp_path / "service.log"
    app = built(APP_ENV="production", LOG_FILE=str(log_file))
    assert app.test_client().get("/healthz").status_code == 200
    warned = single_host_warnings(log_file)
    assert len(warned) == 2
    assert any("SQLite" in w for w in warned)
    assert any("memory://" in w for w in warned)


def test_production_on_shared_stores_does_not_warn(
    built: Callable[..., Flask], tmp_path: Path, pg_schema_url: str, redis_url: str
) -> None:
    log_file = tmp_path / "service.log"
    built(
        APP_ENV="production",
        LOG_FILE=str(log_file),
        DATABASE_URL=pg_schema_url,
        RATELIMIT_STORAGE_URI=redis_url,
    )
    assert single_host_warnings(log_file) == []


def printed_key(text: str) -> str | None:
    found = [word for word in text.split() if keys.KEY_PATTERN.fullmatch(word)]
    assert len(found) <= 1
    return found[0] if found else None


def test_first_development_start_creates_and_prints_a_key_once(
    built: Callable[..., Flask], capsys: pytest.CaptureFixture[str]
) -> None:
    app = built(APP_ENV="development")
    key = printed_key(capsys.readouterr().err)
    assert key is not None
    client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
    question = client.post("/v1/questions", json={"topic": "a park"}, headers=headers)
    assert question.status_code == 200
    assert client.get("/v1/audit/events", headers=headers).status_code == 200
    built(APP_ENV="development")
    assert printed_key(capsys.readouterr().err) is None
    assert [k.name for k in keys.list_keys(get_engine_of(app))] == ["development"]


@pytest.mark.parametrize("env", ["test", "production"])
def test_no_development_key_outside_development(
    built: Callable[..., Flask], capsys: pytest.CaptureFixture[str], env: str
) -> None:
    app = built(APP_ENV=env, AUTO_MIGRATE=True)
    assert printed_key(capsys.readouterr().err) is None
    assert keys.list_keys(get_engine_of(app)) == []


def test_cli_commands_do_not_create_the_development_key(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    env = {
        "APP_ENV": "development",
        "LOG_FILE": "",
        "AI_PROVIDER": "offline",
        "DATABASE_URL": make_settings().DATABASE_URL,
    }
    result = flask_cli(tmp_path, env, "keys", "list", "--json")
    assert json.loads(result.stdout) == []
    assert printed_key(result.stderr) is None


def test_migrations_build_the_tables_the_code_declares(
    built: Callable[..., Flask], backend: dict[str, str]
) -> None:
    """Each migration repeats its tables as they were then; together they give tables.py."""
    app = built(APP_ENV="development", CREATE_DEV_KEY=False, **backend)
    with get_engine_of(app).connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
