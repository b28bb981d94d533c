"""Under gevent, every blocking wait on the request path lets the worker's other greenlets run.

A gevent worker serves each connection in a greenlet of one thread: a library that blocks
the thread instead of yielding to the hub stalls every request of the worker. Each test runs
a child process that patches the standard library first, as each gunicorn worker does,
then builds the service's own pieces (`create_app`, `db.build_engine`) and starts five
greenlets that each wait once on one library, recording when each started and ended:

- psycopg 3 through the service's engine: `SELECT pg_sleep(0.4)` on the real PostgreSQL;
- redis-py, the rate limiter's own client: `BLPOP` on a key nobody pushes to, 0.4 s;
- the Azure provider's openai SDK client (httpx2, PooledTransport) against the fake Azure
  server answering in 0.4 s;
- SQLite's write lock as `store.write_transaction` takes it (`_begin_immediate`), while an
  unpatched OS thread holds `BEGIN IMMEDIATE` on the WAL database for 0.5 s;
- `audit.store.append` (its group-commit locks, then that same write lock) under the same hold;
  every append completes and the chain verifies with one record per greenlet;
- `audit.intents.open_intents`, the insert before each model call, under the same hold.

Proof of cooperation is structural: every greenlet started before any ended (they waited
at the same time), and a ticker greenlet (gevent.sleep(0.01) in a loop) kept ticking while
all of them waited, so the hub was never frozen. The last test runs one case without
patching and checks that the same assertion then fails: the greenlets run one after another.
A wait that deadlocks the thread (a lock the patch missed) is the child's timeout, a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.azure import FakeAzure
from tests.processes import ROOT, wait_until

GREENLETS = 5
WAIT_S = 0.4  # each greenlet's one wait (pg_sleep, BLPOP, upstream latency)
MIN_WAIT_S = 0.3  # each wait must really have lasted about that long
TICKS_WHILE_WAITING = 3  # of the ticker's ~10 ms ticks, while every greenlet was waiting
CASE_TIMEOUT_S = 30  # the child's start (imports) included; a deadlock ends here

# A worker starts with what its master imported (the logger and worker classes), patches,
# then imports the app; the control leaves the patch out.
MASTER_IMPORTS = "import ielts_service.gunicorn_logging\nimport ielts_service.gunicorn_worker\n"
PATCH = "from gevent import monkey\nmonkey.patch_all()\n"

# Reads one command a line on stdin ({"case", "settings", "out"}), runs the case, writes its
# result (or the traceback) to `out`. The service is imported per case, after the patch.
CHILD = """
import json
import os
import sqlite3
import sys
import time
import traceback
import uuid

import gevent
from gevent import monkey

GREENLETS, WAIT_S, HOLD_S = 5, 0.4, 0.5
native_id = monkey.get_original("threading", "get_native_id")


def race(wait):
    # GREENLETS greenlets, one wait each; a ticker greenlet beside them shows the hub running.
    spans, ticks, stop = [], [], []

    def ticker():
        while not stop:
            ticks.append(time.monotonic())
            gevent.sleep(0.01)

    def one(i):
        start = time.monotonic()
        wait(i)
        spans.append([start, time.monotonic()])

    tick = gevent.spawn(ticker)
    gevent.joinall([gevent.spawn(one, i) for i in range(GREENLETS)], raise_error=True)
    stop.append(True)
    tick.join()
    return {"spans": spans, "ticks": ticks}


def hold_write_lock(path, hold):
    # Runs in an OS thread the patch leaves alone: real sqlite3, real sleep.
    sleep = monkey.get_original("time", "sleep")
    hold["thread"] = native_id()
    conn = sqlite3.connect(path, isolation_level=None)
    hold["journal_mode"] = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.execute("BEGIN IMMEDIATE")
    hold["held"] = time.monotonic()
    sleep(HOLD_S)
    hold["releasing"] = time.monotonic()
    conn.execute("COMMIT")
    conn.close()
    hold["done"] = True


def while_write_lock_held(engine, wait):
    # race(wait) while another thread holds SQLite's write lock on the engine's database.
    # Not threading.Thread, even the original class: under the patch it starts a greenlet.
    with engine.connect() as conn:  # the database exists, in WAL mode (the engine sets it)
        conn.exec_driver_sql("SELECT 1")
    hold = {"main_thread": native_id()}
    start_new_thread = monkey.get_original("_thread", "start_new_thread")
    start_new_thread(hold_write_lock, (engine.url.database, hold))
    deadline = time.monotonic() + 10
    while "held" not in hold and time.monotonic() < deadline:
        gevent.sleep(0.005)
    assert "held" in hold, "the holder thread never took the write lock"
    result = race(wait)
    while "done" not in hold and time.monotonic() < deadline:
        gevent.sleep(0.005)
    return {**result, "hold": hold}


def postgres(settings):
    import sqlalchemy as sa
    from ielts_service.db import build_engine

    engine = build_engine(settings)

    def wait(i):
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(:s)"), {"s": WAIT_S})

    try:
        return race(wait)
    finally:
        engine.dispose()


def redis(settings):
    from ielts_service import create_app
    from ielts_service.limits import limiter

    create_app(settings)
    storage = limiter.storage
    client = storage.get_connection()
    run = uuid.uuid4().hex

    def wait(i):
        assert client.blpop([f"coop:{run}:{i}"], timeout=WAIT_S) is None

    return {**race(wait), "storage": type(storage).__name__}


def azure(settings):
    from ielts_service import create_app

    app = create_app(settings)  # kept: a collected app closes its provider's client
    provider = app.extensions["question_provider"]

    def wait(i):
        provider.generate("a memorable trip", 2)

    try:
        return {**race(wait), "provider": provider.name}
    finally:
        provider.close()


def sqlite_write_lock(settings):
    import sqlalchemy as sa
    from ielts_service.audit import store
    from ielts_service.db import build_engine

    engine = build_engine(settings)

    def wait(i):
        with store.write_transaction(engine) as conn:
            conn.execute(sa.text("SELECT 1"))

    try:
        return while_write_lock_held(engine, wait)
    finally:
        engine.dispose()


def audit_append(settings):
    from ielts_service.audit import store
    from ielts_service.db import build_engine, upgrade
    from tests.fakes.audit_records import sample_record

    engine = build_engine(settings)
    upgrade(engine)
    before = store.verify_chain(engine).checked
    appended = []

    def wait(i):
        appended.extend(store.append(engine, [sample_record(request_id=f"coop-{i}")]))

    try:
        result = while_write_lock_held(engine, wait)
        verdict = store.verify_chain(engine)
    finally:
        engine.dispose()
    return {
        **result,
        "chain_ok": verdict.ok,
        "reason": verdict.reason,
        "new_records": verdict.checked - before,
        "request_ids": sorted(row["request_id"] for row in appended),
    }


def intent_insert(settings):
    from ielts_service.audit import intents
    from ielts_service.db import build_engine, upgrade

    engine = build_engine(settings)
    upgrade(engine)
    call = {"request_id": "coop", "route": "/v1/questions", "part": 2, "topic": "trips",
            "provider": "azure", "model": "gpt-4o-test"}

    def wait(i):
        intents.open_intents(engine, [{**call, "request_id": f"coop-{i}"}])

    try:
        return while_write_lock_held(engine, wait)
    finally:
        engine.dispose()


CASES = {
    f.__name__: f
    for f in (postgres, redis, azure, sqlite_write_lock, audit_append, intent_insert)
}

for line in sys.stdin:
    command = json.loads(line)
    try:
        from ielts_service.config import Settings

        result = CASES[command["case"]](Settings(**command["settings"]))
    except BaseException:
        result = {"error": traceback.format_exc()}
    with open(command["out"] + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(command["out"] + ".tmp", command["out"])
"""


class Child:
    """A Python process (patched first, unless told not to) that runs the cases sent to it."""

    def __init__(self, workdir: Path, patched: bool = True) -> None:
        self.workdir, self.patched = workdir, patched
        self.log = workdir / "child.log"
        self.process: subprocess.Popen[str] | None = None

    def run(self, case: str, settings: dict[str, Any]) -> Any:
        """Run CASE with SETTINGS; its result. A case that fails or hangs fails the test."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        assert self.process is not None
        assert self.process.stdin is not None
        out = self.workdir / f"{case}-{uuid.uuid4().hex[:8]}.json"
        command = {"case": case, "settings": settings, "out": str(out)}
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        process = self.process
        try:
            wait_until(lambda: out.exists() or process.poll() is not None, CASE_TIMEOUT_S, case)
        except AssertionError:
            self.stop()  # it may be stuck for good: the next case gets a new child
            raise AssertionError(f"{case} never finished: {self._log_tail()}") from None
        assert out.exists(), f"the child exited: {self._log_tail()}"
        result = json.loads(out.read_text())
        assert "error" not in result, result["error"]
        return result

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        script = MASTER_IMPORTS + (PATCH if self.patched else "") + CHILD
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", script],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=env,
                text=True,
            )

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is None:
            return
        # Nothing to clean up in it (temporary files, connections the kill closes).
        self.process.kill()
        self.process.wait(5)
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process = None


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Child]:
    """One patched child for the module: the service's imports are paid once."""
    started = Child(tmp_path_factory.mktemp("coop"))
    yield started
    started.stop()


def base_settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """The child's settings: SQLite in tmp_path, offline provider, as the app fixture's.
    AUTO_MIGRATE=False builds the app as a gunicorn worker does (the master migrated)."""
    return {
        "APP_ENV": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path}/coop.db",
        "LOG_FILE": "",
        "LOG_LEVEL": "WARNING",
        "AI_PROVIDER": "offline",
        "RATE_LIMIT_UNAUTHENTICATED": "1000/minute",
        "RATE_LIMIT_DEFAULT": "1000/minute",
        **overrides,
    }


def assert_cooperated(run: dict[str, Any], min_wait_s: float | None = MIN_WAIT_S) -> None:
    """All greenlets waited at once, and the ticker ticked while every one of them waited."""
    spans: list[list[float]] = run["spans"]
    assert len(spans) == GREENLETS
    last_start, first_end = max(s for s, _ in spans), min(e for _, e in spans)
    assert last_start < first_end, (
        f"greenlets ran one after another, not concurrently: the last started "
        f"{last_start - first_end:.3f} s after the first ended"
    )
    if min_wait_s is not None:
        waits = sorted(round(end - start, 3) for start, end in spans)
        assert waits[0] >= min_wait_s, f"a wait returned early: {waits}"
    ticks = [t for t in run["ticks"] if last_start < t < first_end]
    assert len(ticks) >= TICKS_WHILE_WAITING, f"the hub was frozen: {len(ticks)} ticks"


def assert_waited_on_the_held_lock(run: dict[str, Any]) -> None:
    """Every greenlet asked for the write lock while another thread held it, and got it only
    after that thread let go; the ticker kept ticking in between."""
    hold = run["hold"]
    assert hold["journal_mode"] == "wal"
    assert hold["thread"] != hold["main_thread"], "the lock was held from the greenlets' thread"
    starts, ends = [s for s, _ in run["spans"]], [e for _, e in run["spans"]]
    assert hold["held"] < min(starts)
    assert max(starts) < hold["releasing"] < min(ends)
    ticks = [t for t in run["ticks"] if max(starts) < t < hold["releasing"]]
    assert len(ticks) >= TICKS_WHILE_WAITING, f"the hub was frozen: {len(ticks)} ticks"


def test_psycopg_through_the_service_engine(
    child: Child, postgres_url: str, tmp_path: Path
) -> None:
    run = child.run("postgres", base_settings(tmp_path, DATABASE_URL=postgres_url))
    assert_cooperated(run)


def test_redis_client_of_the_rate_limiter(child: Child, redis_url: str, tmp_path: Path) -> None:
    settings = base_settings(tmp_path, RATELIMIT_STORAGE_URI=redis_url, AUTO_MIGRATE=False)
    run = child.run("redis", settings)
    assert run["storage"] == "MemoRedisStorage"
    assert_cooperated(run)


def test_openai_sdk_client_of_the_azure_provider(
    child: Child, fake_azure: FakeAzure, azure_settings: dict[str, Any], tmp_path: Path
) -> None:
    fake_azure.set(latency_ms=WAIT_S * 1000, reset_stats=True)
    settings = base_settings(
        tmp_path,
        **azure_settings | {"AZURE_OPENAI_TIMEOUT_S": 10.0, "AZURE_OPENAI_MAX_RETRIES": 0},
        AUTO_MIGRATE=False,
    )
    run = child.run("azure", settings)
    assert run["provider"] == "azure"
    assert fake_azure.stats()["requests"] == GREENLETS
    assert_cooperated(run)


def test_sqlite_write_lock_is_awaited_in_python(child: Child, tmp_path: Path) -> None:
    run = child.run("sqlite_write_lock", base_settings(tmp_path))
    assert_cooperated(run, min_wait_s=None)
    assert_waited_on_the_held_lock(run)


def test_audit_group_commit_locks(child: Child, tmp_path: Path) -> None:
    run = child.run("audit_append", base_settings(tmp_path))
    assert_cooperated(run, min_wait_s=None)
    assert_waited_on_the_held_lock(run)
    assert run["chain_ok"], run["reason"]
    assert run["new_records"] == GREENLETS
    assert run["request_ids"] == [f"coop-{i}" for i in range(GREENLETS)]


def test_intent_insert_before_a_model_call(child: Child, tmp_path: Path) -> None:
    run = child.run("intent_insert", base_settings(tmp_path))
    assert_cooperated(run, min_wait_s=None)
    assert_waited_on_the_held_lock(run)


def test_without_patching_the_waits_run_one_after_another(tmp_path: Path) -> None:
    """The control: the same SQLite case in an unpatched child fails the overlap check."""
    unpatched = Child(tmp_path, patched=False)
    try:
        run = unpatched.run("sqlite_write_lock", base_settings(tmp_path))
    finally:
        unpatched.stop()
    with pytest.raises(AssertionError, match="one after another"):
        assert_cooperated(run, min_wait_s=None)
