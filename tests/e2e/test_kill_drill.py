"""kill -9 of workers under load: no 2xx without its record, no upstream call without one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from ielts_service.tables import audit_events, audit_intents
from tests.fakes.azure import FakeAzure
from tests.processes import (
    Gunicorn,
    flask_cli,
    service_env,
    start_gunicorn,
    stop_group,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@dataclass
class Load:
    """Clients posting questions in a loop, each request named by its own X-Request-ID."""

    url: str
    key: str
    statuses: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, clients: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        return threads

    def _client(self, n: int) -> None:
        sent = 0
        while not self.stop.is_set():
            request_id, sent = f"drill-{n}-{sent}", sent + 1
            status = post(self.url, self.key, request_id)
            with self.lock:
                self.statuses[request_id] = status


def post(url: str, key: str, request_id: str) -> int:
    request = urllib.request.Request(
        f"{url}/v1/questions",
        data=json.dumps({"topic": "a memorable trip"}).encode(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # the worker died with the connection
        return 0


def workers(master: subprocess.Popen[bytes]) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
def served(
    tmp_path: Path, pg_schema_url: str, fake_azure: FakeAzure
) -> Iterator[tuple[Gunicorn, str]]:
    env = service_env(
        tmp_path,
        DATABASE_URL=pg_schema_url,
        AI_PROVIDER="azure",
        AZURE_OPENAI_ENDPOINT=fake_azure.url,
        AZURE_OPENAI_API_KEY="fake-azure-key-0123456789abcdef",
        AZURE_OPENAI_DEPLOYMENT="gpt-4o-test",
        AZURE_OPENAI_MAX_RETRIES="0",  # one upstream request per call: calls and records compare
        AUDIT_INTENT_SWEEP_S="1",
        RATE_LIMIT_DEFAULT="100000/minute",
        RATE_LIMIT_UNAUTHENTICATED="100000/minute",
    )
    instance = start_gunicorn(tmp_path, env)
    key = json.loads(flask_cli(tmp_path, env, "keys", "create", "drill", "--json").stdout)["key"]
    yield instance, key
    stop_group(instance.process)


def test_every_call_is_accounted_for_after_two_worker_kills(
    served: tuple[Gunicorn, str], pg_schema_url: str, fake_azure: FakeAzure
) -> None:
    instance, key = served
    fake_azure.set(latency_ms=300)
    load = Load(instance.url, key)
    threads = load.run(clients=12)
    for _ in range(2):
        time.sleep(1.5)
        victim = workers(instance.process)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda v=victim: v not in workers(instance.process), 10, "the worker to die")
    time.sleep(1.5)
    load.stop.set()
    for thread in threads:
        thread.join(60)

    engine = sa.create_engine(pg_schema_url)
    try:
        wait_until(lambda: _count(engine, audit_intents) == 0, 15, "the sweep to close intents")
        with engine.connect() as conn:
            records = conn.execute(
                sa.select(audit_events.c.request_id, audit_events.c.outcome)
            ).all()
    finally:
        engine.dispose()
    ok = {rid for rid, status in load.statuses.items() if 200 <= status < 300}
    recorded = {rid for rid, outcome in records if outcome == "success"}
    abandoned = [rid for rid, outcome in records if outcome == "abandoned"]
    calls = fake_azure.stats()["requests"]
    assert len(ok) > 20
    assert abandoned  # the kills cut calls off: the sweep closed them
    assert ok <= recorded  # no 2xx without its record
    # Every upstream call has a record; the only records without a call are abandoned ones
    # whose worker died between writing the intent and sending the request.
    assert len(records) - len(abandoned) <= calls <= len(records), (calls, len(records))


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
