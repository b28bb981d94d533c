"""Fixtures: apps on SQLite + memory:// and on the real PostgreSQL + Redis, keys, fake Azure."""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from bench.fake_azure import FakeAzureServer
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import create_app, keys
from ielts_service.config import Settings
from ielts_service.db import get_engine_of

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, reason: str | None) -> None:
    """Fail in CI, skip elsewhere, when a real service a test needs is missing."""
    if reason is None:
        return
    message = f"{name} is not reachable: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: .ci/run must start it)")
    pytest.skip(message)


def _postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(TEST_DATABASE_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        return type(exc.orig or exc).__name__
    return None


def _redis_problem() -> str | None:
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return type(exc).__name__
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    require_service("PostgreSQL", _postgres_problem())
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    require_service("Redis", _redis_problem())
    return TEST_REDIS_URL


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


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


@pytest.fixture(params=["sqlite+memory", "postgres+redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings overrides for the embedded defaults and for the production stores."""
    if request.param == "sqlite+memory":
        return {}
    return {
        "DATABASE_URL": request.getfixturevalue("pg_schema_url"),
        "RATELIMIT_STORAGE_URI": request.getfixturevalue("redis_url"),
    }


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Flask:
    return create_app(make_settings())


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


class FakeAzure:
    """The fake upstream, with helpers to switch its behaviour."""

    def __init__(self, server: FakeAzureServer) -> None:
        self.server = server
        self.url = server.url

    def set(self, **control: Any) -> None:
        request = urllib.request.Request(
            f"{self.url}/_control",
            data=json.dumps(control).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_stats", timeout=5) as response:
            stats: dict[str, Any] = json.load(response)
            return stats


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
