"""The real services the tests talk to (PostgreSQL, Redis): where they are, whether they answer."""

from __future__ import annotations

import os

import pytest
import redis
import sqlalchemy as sa

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


def postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(TEST_DATABASE_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        return type(exc.orig or exc).__name__
    return None


def redis_problem() -> str | None:
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return type(exc).__name__
    return None
