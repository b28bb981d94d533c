"""SIGTERM under gunicorn: readiness turns 503 first, in-flight requests finish, exit 0."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.fakes.azure import FakeAzure, FakeAzureServer
from tests.processes import (
    Gunicorn,
    azure_env,
    flask_cli,
    http_status,
    post_question,
    service_env,
    start_gunicorn,
    stop_group,
    wait_until,
)

pytestmark = pytest.mark.e2e

IN_FLIGHT = 6
UPSTREAM_LATENCY_MS = 1500
# Shorter than the upstream latency: the requests are still running when the workers stop
# accepting, so they must be finished by gunicorn's graceful stop, not by the drain delay.
DRAIN_S = 1.0
GRACEFUL_TIMEOUT_S = 15


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeAzure]:
    """A fake Azure slower than the drain delay."""
    server = FakeAzureServer(latency_ms=UPSTREAM_LATENCY_MS).start()
    yield FakeAzure(server)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, upstream: FakeAzure
) -> Iterator[tuple[Gunicorn, str]]:
    """gunicorn in front of the slow upstream, with a drain delay; yields it and a key."""
    workdir = tmp_path_factory.mktemp("graceful")
    env = service_env(
        workdir,
        DATABASE_URL=f"sqlite:///{workdir}/service.db",
        SHUTDOWN_DRAIN_S=str(DRAIN_S),
        GUNICORN_GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT_S),
        **azure_env(upstream.url),
        AZURE_OPENAI_TIMEOUT_S="10",
        AZURE_OPENAI_MAX_RETRIES="0",
    )
    flask_cli(workdir, env, "db", "upgrade")
    key = json.loads(flask_cli(workdir, env, "keys", "create", "drain", "--json").stdout)["key"]
    instance = start_gunicorn(workdir, env)
    try:
        yield instance, key
    finally:
        stop_group(instance.process)


def _readiness_while_draining(url: str) -> list[int]:
    """Poll /readyz until the instance stops answering; the statuses seen (0: no answer)."""
    seen: list[int] = []
    deadline = time.monotonic() + GRACEFUL_TIMEOUT_S
    while time.monotonic() < deadline:
        seen.append(http_status(f"{url}/readyz", timeout=2))
        if seen[-1] == 0:
            break
        time.sleep(0.1)
    return seen


def _sigterm_with_requests_in_flight(
    service: tuple[Gunicorn, str], fake_azure: FakeAzure
) -> tuple[list[int], list[int], int]:
    """Start requests, SIGTERM once all reached the upstream; statuses, readiness, exit code."""
    instance, key = service
    assert http_status(f"{instance.url}/readyz") == 200
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        calls: list[Future[int]] = [
            pool.submit(post_question, instance.url, key) for _ in range(IN_FLIGHT)
        ]
        wait_until(
            lambda: fake_azure.stats()["requests"] >= IN_FLIGHT,
            10,
            "every request to reach the upstream",
        )
        instance.terminate()
        readiness = _readiness_while_draining(instance.url)
        statuses = [call.result(timeout=GRACEFUL_TIMEOUT_S) for call in calls]
    return statuses, readiness, instance.process.wait(timeout=GRACEFUL_TIMEOUT_S + 5)


@pytest.fixture(scope="module")
def shutdown(
    service: tuple[Gunicorn, str], upstream: FakeAzure
) -> tuple[list[int], list[int], int]:
    """One SIGTERM with requests in flight, which each test below checks from one side."""
    return _sigterm_with_requests_in_flight(service, upstream)


def test_every_in_flight_request_completes(shutdown: tuple[list[int], list[int], int]) -> None:
    assert shutdown[0] == [200] * IN_FLIGHT


def test_readiness_is_503_before_the_instance_stops_answering(
    shutdown: tuple[list[int], list[int], int],
) -> None:
    # 200 only until the workers got the signal, then 503 until they stop accepting.
    seen = "".join({200: "r", 503: "d", 0: "x"}.get(status, "?") for status in shutdown[1])
    assert re.fullmatch(r"r{0,3}d{3,}x", seen), seen


def test_master_exits_zero(shutdown: tuple[list[int], list[int], int]) -> None:
    assert shutdown[2] == 0
