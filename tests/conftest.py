"""Fixtures: the app under test (on the embedded stores or on PostgreSQL + Redis), keys, fake Azure.

The app: `app` is built from `settings`, which layers, last one winning:
- the backend: SQLite + memory:// unless the test runs on both backends (`both_backends` from
  tests.helpers, which parametrises it over `backend`);
- `overrides`: a module's or class's settings (override this fixture, e.g. with `azure_settings`);
- `@pytest.mark.settings(NAME=value)` on the test, its class or its module.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from ielts_service import create_app, keys
from ielts_service.config import Settings
from ielts_service.db import get_engine_of, upgrade
from tests.fakes.azure import FakeAzure, FakeAzureServer
from tests.services import (
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    postgres_problem,
    redis_problem,
    require_service,
)

E2E_DIR = Path(__file__).parent / "e2e"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what each test really needs, so `-m "not postgres"` and `-m "not e2e"` mean it."""
    for item in items:
        needs = getattr(item, "fixturenames", ())
        if "postgres_url" in needs:
            item.add_marker(pytest.mark.postgres)
        if "redis_url" in needs:
            item.add_marker(pytest.mark.redis)
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
    # The fuzz run is the longest test by far: started first, it overlaps the rest of the run
    # on the other workers instead of finishing alone at the end.
    items.sort(key=lambda item: item.get_closest_marker("fuzz") is None)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    require_service("PostgreSQL", postgres_problem())
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service("Redis", redis_problem())
    return TEST_REDIS_URL


@pytest.fixture(scope="session")
def postgres_admin(postgres_url: str) -> Iterator[Engine]:
    """One engine for the run's schema bookkeeping (create, copy, drop)."""
    engine = sa.create_engine(postgres_url)
    yield engine
    engine.dispose()


def schema_url(postgres_url: str, schema: str) -> str:
    return f"{postgres_url}?options=-csearch_path%3D{schema}"


@contextmanager
def new_schema(admin: Engine, prefix: str) -> Iterator[str]:
    """A schema with a name no other test or suite on this server uses, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def pg_schema_url(postgres_url: str, postgres_admin: Engine) -> Iterator[str]:
    """An empty PostgreSQL schema for one test (for tests of migrations and start-up)."""
    with new_schema(postgres_admin, "t") as schema:
        yield schema_url(postgres_url, schema)


@pytest.fixture(scope="module")
def pg_module_schema_url(postgres_url: str, postgres_admin: Engine) -> Iterator[str]:
    """An empty PostgreSQL schema for one module (the instances a module starts once)."""
    with new_schema(postgres_admin, "m") as schema:
        yield schema_url(postgres_url, schema)


@pytest.fixture(scope="session")
def pg_template(postgres_url: str, postgres_admin: Engine) -> Iterator[tuple[str, list[str]]]:
    """The run's schema migrated to head, once; each test's database is a copy of it."""
    with new_schema(postgres_admin, "tpl") as schema:
        engine = sa.create_engine(schema_url(postgres_url, schema))
        upgrade(engine)
        engine.dispose()
        yield schema, sa.inspect(postgres_admin).get_table_names(schema=schema)


@pytest.fixture
def pg_database_url(
    postgres_url: str, postgres_admin: Engine, pg_template: tuple[str, list[str]]
) -> Iterator[str]:
    """A migrated schema for one test: the template's tables and rows, copied, not migrated."""
    template, tables = pg_template
    with new_schema(postgres_admin, "t") as schema:
        with postgres_admin.begin() as conn:
            for table in tables:
                conn.execute(
                    sa.text(
                        f'CREATE TABLE "{schema}"."{table}" '
                        f'(LIKE "{template}"."{table}" INCLUDING ALL)'
                    )
                )
                source, target = f'"{template}"."{table}"', f'"{schema}"."{table}"'
                conn.execute(sa.text(f"INSERT INTO {target} SELECT * FROM {source}"))  # noqa: S608
        yield schema_url(postgres_url, schema)


@pytest.fixture
def make_settings(tmp_path: Any) -> Callable[..., Settings]:
    """Settings for tests: SQLite in tmp_path, offline provider, logs to stdout only."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "APP_ENV": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path}/test.db",
            "LOG_FILE": "",
            "LOG_LEVEL": "WARNING",
            "AI_PROVIDER": "offline",
            "RATE_LIMIT_UNAUTHENTICATED": "1000/minute",
            "RATE_LIMIT_DEFAULT": "1000/minute",
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture(
    params=[
        pytest.param("sqlite+memory"),
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings overrides for the embedded defaults and for the production stores."""
    if request.param == "sqlite+memory":
        return {}
    return {
        "DATABASE_URL": request.getfixturevalue("pg_database_url"),
        "RATELIMIT_STORAGE_URI": request.getfixturevalue("redis_url"),
    }


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings of a module's or class's app; override this fixture to change them."""
    return {}


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    make_settings: Callable[..., Settings],
    overrides: dict[str, Any],
) -> Settings:
    """The settings `app` is built from: backend, then `overrides`, then `settings` marks."""
    values: dict[str, Any] = {}
    if "backend" in request.fixturenames:
        values.update(request.getfixturevalue("backend"))
    values.update(overrides)
    for mark in reversed(list(request.node.iter_markers("settings"))):
        values.update(mark.kwargs)
    return make_settings(**values)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app under test; its database connections are closed afterwards."""
    app = create_app(settings)
    yield app
    get_engine_of(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_ip() -> Callable[[], str]:
    """New client addresses no other test uses: per-IP counters on the shared Redis stay apart."""

    def new() -> str:
        raw = uuid.uuid4().bytes
        return f"10.{raw[0]}.{raw[1]}.{raw[2]}"

    return new


@pytest.fixture
def ip_client(app: Flask, make_ip: Callable[[], str]) -> FlaskClient:
    """A test client that comes from an address of its own."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = make_ip()
    return client


@pytest.fixture
def make_key(app: Flask) -> Callable[..., str]:
    """Create a key in the app's database; returns the full key string."""

    def create(scopes: tuple[str, ...] = ("questions:generate",), **options: Any) -> str:
        _, secret = keys.create_key(
            get_engine_of(app), name=f"k-{uuid.uuid4().hex[:8]}", scopes=list(scopes), **options
        )
        return secret

    return create


@pytest.fixture
def auth(make_key: Callable[..., str]) -> dict[str, str]:
    """Headers of a key with every scope."""
    return {"Authorization": f"Bearer {make_key(('questions:generate', 'audit:read'))}"}


@pytest.fixture
def fake_azure() -> Iterator[FakeAzure]:
    server = FakeAzureServer().start()
    yield FakeAzure(server)
    server.shutdown()
    server.server_close()


@pytest.fixture
def azure_settings(fake_azure: FakeAzure) -> dict[str, Any]:
    """Settings overrides that point the Azure provider at the fake upstream."""
    return {
        "AI_PROVIDER": "azure",
        "AZURE_OPENAI_ENDPOINT": fake_azure.url,
        "AZURE_OPENAI_API_KEY": "fake-azure-key-0123456789abcdef",
        "AZURE_OPENAI_DEPLOYMENT": "gpt-4o-test",
        "AZURE_OPENAI_API_VERSION": "2024-10-21",
        "AZURE_OPENAI_TIMEOUT_S": 1.0,
        "AZURE_OPENAI_MAX_RETRIES": 1,
    }
