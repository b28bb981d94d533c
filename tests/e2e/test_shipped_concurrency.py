"""The shipped worker model (gunicorn settings as deploy/gunicorn.conf.py has them) under
concurrent and slow clients: every guarantee holds, and slow clients starve no one.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.processes import (
    Gunicorn,
    flask_cli,
    http_status,
    service_env,
    start_gunicorn,
    stop_group,
)
from tests.slow_clients import SlowClients

pytestmark = pytest.mark.e2e

CONCURRENT_REQUESTS = 120
CLIENT_THREADS = 60
METRICS_TOKEN = "metrics-token-for-the-concurrency-test"


@dataclass
class Shipped:
    instance: Gunicorn
    key: str
    workdir: Path
    env: dict[str, str]

    def question(self, request_id: str) -> int:
        return http_status(
            f"{self.instance.url}/v1/questions",
            timeout=30,
            data=json.dumps({"topic": "a memorable trip"}).encode(),
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                "X-Request-ID": request_id,
            },
        )

    def log_lines(self) -> list[dict[str, Any]]:
        text = (self.workdir / "log" / "service.log").read_text()
        return [json.loads(line) for line in text.splitlines()]


def worker_pids(master: int) -> set[str]:
    """The pids of the master's children (its workers)."""
    return {
        proc.name
        for proc in Path("/proc").iterdir()
        if proc.name.isdigit()
        and (proc / "stat").exists()
        and (proc / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(master)
    }


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shipped]:
    workdir = tmp_path_factory.mktemp("shipped")
    env = service_env(
        workdir,
        DATABASE_URL=f"sqlite:///{workdir}/service.db",
        RATE_LIMIT_DEFAULT="1000000/minute",
        RATE_LIMIT_UNAUTHENTICATED="1000000/minute",
        TOKEN_BUDGET_DAILY=str(10**12),
        LOG_LEVEL="INFO",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    created = flask_cli(workdir, env, "keys", "create", "load", "--json")
    instance = start_gunicorn(workdir, env)
    yield Shipped(instance, json.loads(created.stdout)["key"], workdir, env)
    stop_group(instance.process)


@pytest.fixture(scope="module")
def concurrent_ids(shipped: Shipped) -> list[str]:
    """Send the concurrent requests once; every one must be answered 200."""
    ids = [f"concurrent-{uuid.uuid4().hex}" for _ in range(CONCURRENT_REQUESTS)]
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        statuses = list(pool.map(shipped.question, ids))
    assert Counter(statuses) == {200: CONCURRENT_REQUESTS}
    return ids


def test_every_answer_has_its_audit_record_and_the_chain_verifies(
    shipped: Shipped, concurrent_ids: list[str]
) -> None:
    records = [
        json.loads(line)
        for line in flask_cli(shipped.workdir, shipped.env, "audit", "export").stdout.splitlines()
    ]
    audited = Counter(r["request_id"] for r in records if r["request_id"] in concurrent_ids)
    assert audited == Counter(concurrent_ids)
    verdict = json.loads(
        flask_cli(shipped.workdir, shipped.env, "audit", "verify", "--json").stdout
    )
    assert verdict["ok"], verdict


def test_exactly_one_access_line_per_request(shipped: Shipped, concurrent_ids: list[str]) -> None:
    access = Counter(
        line["request_id"]
        for line in shipped.log_lines()
        if line["logger"] == "ielts_service.access" and line["request_id"] in concurrent_ids
    )
    assert access == Counter(concurrent_ids)


def test_both_workers_served_and_the_metrics_add_up(
    shipped: Shipped, concurrent_ids: list[str]
) -> None:
    # Multiprocess metrics: one counter file per process that counted something.
    counted = {
        path.stem.removeprefix("counter_")
        for path in (shipped.workdir / "metrics").glob("counter_*.db")
    }
    workers = worker_pids(shipped.instance.process.pid)
    assert len(workers) == 2
    assert workers <= counted, "one worker took every connection"
    request = urllib.request.Request(
        f"{shipped.instance.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    served = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("flask_http_request_duration_seconds_count{")
        and 'url_rule="/v1/questions"' in line
        and 'status="200"' in line
    )
    assert served >= CONCURRENT_REQUESTS


def test_normal_requests_are_answered_beside_300_slow_connections(shipped: Shipped) -> None:
    port = urlsplit(shipped.instance.url).port
    assert port is not None
    with SlowClients(port, trickling=100, stalled=100, idle=100, interval_s=1.0) as slow:
        ids = [f"beside-slow-{uuid.uuid4().hex}" for _ in range(40)]
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(shipped.question, ids))
        assert slow.open_count == 300
    assert Counter(statuses) == {200: len(ids)}


def test_a_worker_that_cannot_accept_holds_no_new_connection(shipped: Shipped) -> None:
    """A worker that is booting, or stuck, leaves every new connection to the other one."""
    stuck = int(min(worker_pids(shipped.instance.process.pid)))
    os.kill(stuck, signal.SIGSTOP)  # as a worker still loading the app: alive, not accepting
    try:
        statuses = [http_status(f"{shipped.instance.url}/healthz", timeout=5) for _ in range(20)]
    finally:
        os.kill(stuck, signal.SIGCONT)
    assert statuses == [200] * 20
