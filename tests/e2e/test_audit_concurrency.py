"""Many workers and threads appending at once: every 2xx has its record, the chain holds."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from ielts_service.tables import audit_events
from tests.processes import flask_cli, service_env, start_gunicorn, stop_group

LOAD_SECONDS = 10
CLIENT_THREADS = 32
# What the offline provider can answer besides 200: nothing it answers may lack its record.
UNRECORDED = {"audit_unavailable"}


class Load:
    """Client threads posting questions until a deadline, each with its own request id."""

    def __init__(self, url: str, key: str) -> None:
        self.address = urlsplit(url).netloc
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.ok: set[str] = set()
        self.failures: Counter[str] = Counter()
        self.lock = threading.Lock()

    def run(self, seconds: float, threads: int) -> None:
        deadline = time.monotonic() + seconds
        workers = [threading.Thread(target=self._client, args=(deadline,)) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _client(self, deadline: float) -> None:
        # A long timeout: a request the client gave up on could still be recorded.
        conn = http.client.HTTPConnection(self.address, timeout=60)
        try:
            while time.monotonic() < deadline:
                request_id = uuid.uuid4().hex
                conn.request(
                    "POST",
                    "/v1/questions",
                    body=json.dumps({"topic": "a river"}),
                    headers={**self.headers, "X-Request-ID": request_id},
                )
                response = conn.getresponse()
                body = json.loads(response.read())
                with self.lock:
                    if response.status == 200:
                        self.ok.add(request_id)
                    else:
                        self.failures[body["code"]] += 1
        finally:
            conn.close()


def recorded_request_ids(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            # Model calls only: the key the load uses has its key_created record too.
            calls = sa.select(audit_events.c.request_id).where(audit_events.c.kind == "model_call")
            return list(conn.execute(calls).scalars())
    finally:
        engine.dispose()


def hammer(tmp_path: Path, database_url: str, workers: int) -> None:
    """Run the load against `workers` gunicorn processes and check records and chain."""
    env = service_env(
        tmp_path,
        DATABASE_URL=database_url,
        GUNICORN_WORKERS=str(workers),
        RATE_LIMIT_DEFAULT="1000000/minute",
        CREATE_DEV_KEY="false",
        AUTO_MIGRATE="false",
    )
    flask_cli(tmp_path, env, "db", "upgrade")
    created = flask_cli(
        tmp_path, env, "keys", "create", "load", "--scopes", "questions:generate", "--json"
    )
    server = start_gunicorn(tmp_path, env)
    load = Load(server.url, json.loads(created.stdout)["key"])
    try:
        load.run(LOAD_SECONDS, CLIENT_THREADS)
    finally:
        stop_group(server.process)
    recorded = recorded_request_ids(database_url)
    assert len(load.ok) > 100, "the load hardly ran"
    assert set(load.failures) <= UNRECORDED, load.failures
    assert len(recorded) == len(set(recorded)) == len(load.ok)
    assert set(recorded) == load.ok
    verdict = json.loads(flask_cli(tmp_path, env, "audit", "verify", "--json").stdout)
    assert verdict["ok"]
    assert verdict["checked"] == len(recorded) + 1  # and the load key's key_created record


def test_four_workers_on_postgresql(tmp_path: Path, pg_schema_url: str) -> None:
    hammer(tmp_path, pg_schema_url, workers=4)


def test_two_workers_on_sqlite(tmp_path: Path) -> None:
    hammer(tmp_path, f"sqlite:///{tmp_path}/audit.db", workers=2)
