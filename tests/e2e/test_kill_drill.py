"""kill -9 of workers under load: no 2xx without its record, no upstream call without one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ielts_service.tables import audit_events, audit_intents
from tests.fakes.azure import FakeAzure
from tests.load import Load
from tests.processes import (
    Gunicorn,
    azure_env,
    flask_cli,
    request_limits,
    service_env,
    start_gunicorn,
    stop_group,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


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
        AZURE_OPENAI_MAX_RETRIES="0",  # one upstream request per call: calls and records compare
        AUDIT_INTENT_SWEEP_S="1",
        **azure_env(fake_azure.url),
        **request_limits(100000),
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
    load = Load(instance.url, key).start(clients=12)
    for kills in range(2):  # under load: a dozen more answers before each kill, and after
        _wait_for_answers(load, 12 * (kills + 1))
        victim = workers(instance.process)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda v=victim: v not in workers(instance.process), 10, "the worker to die")
    _wait_for_answers(load, 36)
    answers = load.stop()

    engine = sa.create_engine(pg_schema_url)
    try:
        wait_until(lambda: _count(engine, audit_intents) == 0, 15, "the sweep to close intents")
        with engine.connect() as conn:
            records = conn.execute(
                sa.select(audit_events.c.request_id, audit_events.c.outcome).where(
                    audit_events.c.kind == "model_call"  # not the load key's key_created
                )
            ).all()
    finally:
        engine.dispose()
    ok = {a.request_id for a in answers if 200 <= a.status < 300}
    recorded = {rid for rid, outcome in records if outcome == "success"}
    abandoned = [rid for rid, outcome in records if outcome == "abandoned"]
    calls = fake_azure.stats()["requests"]
    assert len(ok) >= 36, Counter(answer.status for answer in answers)
    assert abandoned  # the kills cut calls off: the sweep closed them
    assert ok <= recorded  # no 2xx without its record
    # Every upstream call has a record; the only records without a call are abandoned ones
    # whose worker died between writing the intent and sending the request.
    assert len(records) - len(abandoned) <= calls <= len(records), (calls, len(records))


def _wait_for_answers(load: Load, succeeded: int) -> None:
    """Wait for the load's 2xx count to reach `succeeded` (a slow machine answers slower)."""
    wait_until(lambda: load.succeeded() >= succeeded, 60, f"{succeeded} answers")


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
