"""Game day in one command (`make gameday`): the service under load while its world breaks.

One gunicorn instance (2 workers) on 127.0.0.1 with its own redis-server on a free port,
PostgreSQL reached through a TCP relay the drill can cut, and the fake Azure upstream, all
started here and stopped at the end. Drills, each a few seconds of closed-loop load:

  kill -9      two workers killed with SIGKILL under load
  redis        the rate-limit store killed, then restarted on its port
  postgres     the relay to PostgreSQL cut, then restored
  upstream     the fake Azure throttling (429), failing (500), then hanging
  slow clients connections that trickle headers or stall, beside the normal load

For each: requests, statuses, 2xx without an audit record, upstream calls without a record
(after the abandoned-call sweep), 5xx, answers outside what the drill allows, time to recover.
The table is printed and written to bench/results/gameday.md.
"""

from __future__ import annotations

import collections
import json
import os
import platform
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from tests.fakes.azure import FakeAzure, FakeAzureServer
from tests.load import Answer, Load
from tests.processes import (
    Gunicorn,
    RedisServer,
    azure_env,
    flask_cli,
    free_port,
    request_limits,
    service_env,
    start_gunicorn,
    stop_group,
    wait_until,
)
from tests.relay import TcpProxy

from bench.harness import POSTGRES_URL, RESULTS, ROOT
from ielts_service.tables import audit_events, audit_intents

CLIENTS = 8
UPSTREAM_LATENCY_MS = 150


@dataclass
class World:
    """Everything a drill can break, and what it needs to check the audit trail."""

    service: Gunicorn
    key: str
    fake: FakeAzure
    relay: TcpProxy
    redis: RedisServer
    db: sa.Engine  # direct, not through the relay


@dataclass
class Row:
    drill: str
    answers: list[Answer]
    allowed: set[int]
    ok_without_record: int
    calls_without_record: int
    recovery_s: float | None
    note: str

    def cells(self) -> list[str]:
        statuses = collections.Counter(a.status for a in self.answers)
        unexpected = sum(n for status, n in statuses.items() if status not in self.allowed)
        return [
            self.drill,
            str(len(self.answers)),
            " ".join(f"{s}: {n}" for s, n in sorted(statuses.items())),
            str(self.ok_without_record),
            str(self.calls_without_record),
            str(sum(n for status, n in statuses.items() if status >= 500)),
            str(unexpected),
            "-" if self.recovery_s is None else f"{self.recovery_s:.2f} s",
            self.note,
        ]


HEADER = [
    "drill",
    "requests",
    "statuses",
    "2xx without record",
    "upstream calls without record",
    "5xx",
    "outside allowed",
    "time to recover",
    "what was allowed / measured",
]


def accounted(
    world: World, answers: list[Answer], calls_before: int, seq_before: int
) -> tuple[int, int]:
    """(2xx without a success record, upstream calls without a record) once the sweep is done."""
    wait_until(lambda: _count(world.db, audit_intents) == 0, 90, "the abandoned-call sweep")
    with world.db.connect() as conn:
        rows = conn.execute(
            sa.select(audit_events.c.request_id, audit_events.c.outcome).where(
                audit_events.c.seq > seq_before
            )
        ).all()
    recorded = {rid for rid, outcome in rows if outcome == "success"}
    ok = {a.request_id for a in answers if 200 <= a.status < 300}
    calls = world.fake.stats()["requests"] - calls_before
    return len(ok - recorded), max(0, calls - len(rows))


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _head(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(audit_events.c.seq), 0))
            ).scalar_one()
        )


def first_ok_after(answers: list[Answer], moment: float) -> float | None:
    later = [a.at for a in answers if a.at >= moment and 200 <= a.status < 300]
    return min(later) - moment if later else None


def run_drill(
    world: World, name: str, allowed: set[int], fault: Callable[[World], float | None], note: str
) -> Row:
    """Load on, `fault` (returns when the fault was cleared, or a measured recovery), load off."""
    calls_before, seq_before = world.fake.stats()["requests"], _head(world.db)
    load = Load(world.service.url, world.key).start(CLIENTS)
    try:
        cleared = fault(world)
        time.sleep(2)
    finally:
        answers = load.stop()
    ok_missing, calls_missing = accounted(world, answers, calls_before, seq_before)
    recovery = first_ok_after(answers, cleared) if cleared is not None else None
    return Row(name, answers, allowed, ok_missing, calls_missing, recovery, note)


def kill_workers(world: World) -> float:
    cleared = 0.0
    for _ in range(2):
        time.sleep(2)
        found = subprocess.run(
            ["pgrep", "-P", str(world.service.process.pid)], capture_output=True, text=True
        )
        os.kill(int(found.stdout.split()[0]), signal.SIGKILL)
        cleared = time.monotonic()
    return cleared


def _outage(stop: Callable[[], object], start: Callable[[], object], down_s: float) -> float:
    """Two seconds into the load, `stop`; `down_s` later, `start`: when it was cleared."""
    time.sleep(2)
    stop()
    time.sleep(down_s)
    start()
    return time.monotonic()


def cut_redis(world: World) -> float:
    return _outage(world.redis.kill, world.redis.start, down_s=3)


def cut_postgres(world: World) -> float:
    return _outage(world.relay.stop, world.relay.start, down_s=4)


def flap_upstream(world: World) -> float:
    for mode in ("throttle", "error", "hang"):
        time.sleep(1.5)
        world.fake.set(mode=mode, times=None)
    time.sleep(2.5)  # hanging calls run into AZURE_OPENAI_TIMEOUT_S
    world.fake.set(mode="ok", times=None)
    return time.monotonic()


def slow_clients(world: World) -> None:
    host, port = world.service.url.removeprefix("http://").split(":")
    with ExitStack() as stack:
        sockets = []
        for n in range(120):
            sock = stack.enter_context(socket.create_connection((host, int(port)), timeout=5))
            if n % 2:  # half trickle a request line, half say nothing at all
                sock.sendall(b"POST /v1/questions HTTP/1.1\r\nHost: x\r\n")
            sockets.append(sock)
        for _ in range(6):
            time.sleep(1)
            for sock in sockets[1::2]:
                with suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")


@contextmanager
def world_started(work: Path) -> Iterator[World]:
    """Start every process of the drills; whatever started is stopped again, whatever happens."""
    schema = f"gameday_{uuid.uuid4().hex[:10]}"
    url = sa.engine.make_url(POSTGRES_URL)
    options = f"?options=-csearch_path%3D{schema}"
    with ExitStack() as stack:
        admin = sa.create_engine(POSTGRES_URL)
        stack.callback(admin.dispose)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        stack.callback(_drop_schema, admin, schema)
        relay = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        relay.start()
        stack.callback(relay.stop)
        redis = RedisServer(free_port())
        redis.start()
        stack.callback(redis.kill)
        fake = FakeAzure(FakeAzureServer(latency_ms=UPSTREAM_LATENCY_MS).start())
        stack.callback(fake.server.shutdown)
        relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        env = service_env(
            work,
            DATABASE_URL=relayed + options,
            DATABASE_CONNECT_TIMEOUT_S="1",
            RATELIMIT_STORAGE_URI=redis.url,
            AZURE_OPENAI_TIMEOUT_S="1",
            AZURE_OPENAI_MAX_RETRIES="0",  # one upstream request per call: calls, records compare
            CIRCUIT_BREAKER_FAILURES="5",
            CIRCUIT_BREAKER_COOLDOWN_S="1",
            AUDIT_INTENT_SWEEP_S="1",
            **azure_env(fake.url, deployment="gpt-4o-gameday"),
            **request_limits(1000000),
        )
        service = start_gunicorn(work, env, timeout=120)
        stack.callback(stop_group, service.process)
        direct = sa.create_engine(POSTGRES_URL + options)
        stack.callback(direct.dispose)
        created = flask_cli(work, env, "keys", "create", "gameday", "--json")
        yield World(service, json.loads(created.stdout)["key"], fake, relay, redis, direct)


def _drop_schema(admin: sa.Engine, schema: str) -> None:
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def drills(world: World) -> list[Row]:
    return [
        run_drill(
            world,
            "kill -9 (2 workers)",
            {0, 200},
            kill_workers,
            "0: connections cut by the kills; recovery: first 2xx after the 2nd kill",
        ),
        run_drill(
            world,
            "redis outage (3 s)",
            {200},
            cut_redis,
            "only 2xx; recovery: first 2xx after the restart",
        ),
        run_drill(
            world,
            "postgres outage (4 s)",
            {200, 503},
            cut_postgres,
            "503 with Retry-After; recovery: first 2xx after the relay is back",
        ),
        run_drill(
            world,
            "upstream 429/500/hang",
            {200, 502, 503, 504},
            flap_upstream,
            "mapped upstream errors; recovery: first 2xx after the upstream is ok",
        ),
        run_drill(
            world,
            "120 slow/stalled clients",
            {200},
            lambda w: slow_clients(w),
            "only 2xx for the normal clients beside them",
        ),
    ]


def render(rows: list[Row], missing_retry_after: int) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "# Game day",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on commit `{commit}` ({platform.node()}, "
        f"load average before the run {os.getloadavg()[0]:.1f}): `make gameday`, "
        f"{CLIENTS} closed-loop clients, fake Azure at {UPSTREAM_LATENCY_MS} ms, "
        "gunicorn 2 workers, PostgreSQL through a relay, its own redis-server.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *("| " + " | ".join(row.cells()) + " |" for row in rows),
        "",
        f"503 answers without Retry-After: {missing_retry_after}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gameday-") as work, world_started(Path(work)) as world:
        rows = drills(world)
    missing = sum(1 for row in rows for a in row.answers if a.status == 503 and not a.retry_after)
    report = render(rows, missing)
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gameday.md").write_text(report)


if __name__ == "__main__":
    main()
