"""A per-key limit is exact across two gunicorn instances sharing PostgreSQL and Redis."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ielts_service import keys
from tests.processes import Gunicorn, http_status, service_env, start_gunicorn, stop_group

pytestmark = pytest.mark.e2e


@pytest.fixture
def instances(pg_schema_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[Gunicorn]]:
    """Two service instances, one worker each, on their own ports; started one after the other
    so that only the first applies the migrations."""
    started: list[Gunicorn] = []
    try:
        for name in ("a", "b"):
            workdir = tmp_path / name
            workdir.mkdir()
            env = service_env(
                workdir,
                DATABASE_URL=pg_schema_url,
                RATELIMIT_STORAGE_URI=redis_url,
                GUNICORN_WORKERS="1",
            )
            started.append(start_gunicorn(workdir, env))
        yield started
    finally:
        for instance in started:
            stop_group(instance.process)


def post_question(url: str, key: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"{url}/v1/questions",
        data=b'{"topic": "a memorable trip"}',
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_five_per_minute_holds_across_two_instances(
    instances: list[Gunicorn], pg_schema_url: str
) -> None:
    engine = sa.create_engine(pg_schema_url)
    try:
        _, key = keys.create_key(
            engine, name="shared", scopes=["questions:generate"], rate_limit="5/minute"
        )
    finally:
        engine.dispose()
    a, b = (instance.url for instance in instances)
    results = [post_question(url, key) for url in (a, b, a, b, a, b)]
    assert [status for status, _ in results] == [200, 200, 200, 200, 200, 429]
    assert [headers["X-RateLimit-Remaining"] for _, headers in results] == [
        "4",
        "3",
        "2",
        "1",
        "0",
        "0",
    ]
    assert int(results[-1][1]["Retry-After"]) > 0
    assert post_question(a, key)[0] == 429
    assert http_status(f"{a}/healthz") == 200
