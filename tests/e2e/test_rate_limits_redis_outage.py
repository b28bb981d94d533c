"""Redis dies mid-run: the service keeps serving on its in-memory fallback and comes back.

The test runs its own redis-server on a free port, so killing it disturbs nobody else.
flask-limiter re-checks a dead store only when a request arrives, with an exponential
back-off (1, 2, 4 … 32 s between checks). The outage here lasts about a second, so the next
check is due within a few seconds of the restart; 40 s bounds even the longest back-off.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from tests.processes import RedisServer, free_port, wait_until

FALLBACK_WARNING = "Rate limit storage unreachable - falling back to in-memory storage"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "service.log"


@pytest.fixture
def overrides(redis_server: RedisServer, log_file: Path) -> dict[str, Any]:
    return {"RATELIMIT_STORAGE_URI": redis_server.url, "LOG_FILE": str(log_file)}


def fallback_gauge() -> float | None:
    return REGISTRY.get_sample_value("ielts_ratelimit_storage_fallback")


def fallback_warnings(log_file: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    return [line for line in lines if line["message"] == FALLBACK_WARNING]


def test_service_survives_a_redis_outage_and_returns_to_redis(
    redis_server: RedisServer,
    ip_client: FlaskClient,
    make_key: Callable[..., str],
    log_file: Path,
) -> None:
    key = make_key()
    key_id, headers = key[3:15], {"Authorization": f"Bearer {key}"}

    def ask() -> int:
        response = ip_client.post("/v1/questions", json={"topic": "a lake"}, headers=headers)
        return response.status_code

    assert [ask(), ask()] == [200, 200]
    assert redis_server.counters_of(key_id) == 2
    assert fallback_gauge() == 0

    redis_server.kill()
    assert [ask() for _ in range(5)] == [200] * 5
    assert fallback_gauge() == 1
    warnings = fallback_warnings(log_file)
    assert len(warnings) == 1
    assert warnings[0]["logger"] == "flask-limiter"
    assert warnings[0]["level"] == "WARNING"
    not_ready = ip_client.get("/readyz")
    assert not_ready.status_code == 503
    assert "ratelimit_store" in not_ready.get_json()["message"]

    redis_server.start()
    wait_until(lambda: ask() == 200 and fallback_gauge() == 0, 40, "limits back on Redis")
    before = redis_server.counters_of(key_id)
    assert ask() == 200
    assert redis_server.counters_of(key_id) == before + 1 > 1
    assert ip_client.get("/readyz").status_code == 200
    assert len(fallback_warnings(log_file)) == 1
