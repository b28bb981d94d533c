"""`flask keys usage` on a large audit trail in PostgreSQL: the answer time an operator sees.

Loads RECORDS audit records (30 days, KEYS keys, one in five requests a speaking test of three
records, 3 % failures, stored content as the service stores it) into a fresh PostgreSQL
schema, then times the whole CLI command (process start included) over several rounds:
the last 7 days (the default), all 30 days, and one key; and the usage query alone. The same
are timed without what migration 0007 adds (the usage index and the statistics on the
(key, day) groups) in the same run: the baseline. `keys list` shows what starting the CLI
costs. Prints the result and writes bench/results/keys_usage.json.

    python -m bench.keys_usage [--records 1000000] [--rounds 5]

BENCH_QUICK=1 makes the defaults 100,000 records and 3 rounds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.harness import BIN, QUICK, ROOT, log, median, postgres_schema, write_result
from ielts_service import usage
from ielts_service.config import Settings
from ielts_service.db import build_engine, upgrade

TARGET_S = 2.0
KEYS = 200
DAYS = 30
CONTENT = (
    '{"question": "Describe a memorable trip you took.", "prompts": ["where you went", '
    '"who you went with", "what you did"], "explain": "and explain why it was memorable."}'
)
COLUMNS = (
    "seq, id, time, schema_version, kind, request_id, key_id, client_ip, route, part, topic, "
    "provider, model, api_version, outcome, status, latency_ms, upstream_latency_ms, "
    "prompt_tokens, completion_tokens, retries, finish_reason, content_filter, output_valid, "
    "prompt_version, messages_sha256, content, content_sha256, prev_hash, hash"
)


def records(count: int, key_ids: list[str], end: datetime) -> Any:
    """`count` audit rows in seq order, spread evenly over DAYS days before `end`."""
    step = timedelta(days=DAYS) / count
    content_sha = hashlib.sha256(CONTENT.encode()).hexdigest()
    seq = 0
    while seq < count:
        request_id, key_id = uuid.uuid4().hex, key_ids[seq % len(key_ids)]
        speaking_test = seq % 5 == 0
        failed = seq % 33 == 0
        for part in (1, 2, 3) if speaking_test else (2,):
            seq += 1
            yield (
                seq, f"{seq:026d}", end - DAYS * timedelta(days=1) + seq * step, 2, "model_call",
                request_id,
                key_id, "10.0.0.1", "/v1/speaking-tests" if speaking_test else "/v1/questions",
                part, "a memorable trip", "azure", "gpt-4o", "2024-10-21",
                "upstream_error" if failed else "success", 502 if failed else 200, 812.5, 800.2,
                120, 0 if failed else 48, 0, "stop", "passed", not failed, "2026-11-28.1",
                "ab" * 32, None if failed else CONTENT, content_sha, "cd" * 32, "ef" * 32,
            )  # fmt: skip


def load(database_url: str, count: int) -> list[str]:
    """Migrate, create the keys and COPY `count` records; returns the key ids."""
    engine = build_engine(
        Settings(APP_ENV="test", AI_PROVIDER="offline", DATABASE_URL=database_url)
    )
    upgrade(engine)
    key_ids = [f"{i:012x}" for i in range(KEYS)]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO api_keys (id, name, secret_hash, scopes, created_at) "
                "VALUES (:id, :name, :hash, 'questions:generate', :now)"
            ),
            [{"id": k, "name": f"client-{k}", "hash": "0" * 64, "now": now} for k in key_ids],
        )
    engine.dispose()
    url = sa.make_url(database_url)
    options = url.query.get("options", "")
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, options=options
    ) as conn:
        with conn.cursor().copy(f"COPY audit_events ({COLUMNS}) FROM STDIN") as copy:
            for row in records(count, key_ids, now):
                copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE audit_events")
    return key_ids


def timed(database_url: str, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one `flask --app ielts_service keys ARGS`, start to exit."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "APP_ENV": "production",
        "METRICS_PUBLIC": "true",
        "AI_PROVIDER": "offline",
        "AUTO_MIGRATE": "false",
        "DATABASE_URL": database_url,
        "LOG_FILE": "",
    }
    cpu_before, started = _children_cpu(), time.perf_counter()
    subprocess.run(
        [str(BIN / "flask"), "--app", "ielts_service", "keys", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def query_seconds(database_url: str, rounds: int, key_id: str) -> dict[str, float]:
    """Median seconds of the usage query alone (in this process, connection pooled)."""
    engine = build_engine(
        Settings(APP_ENV="test", AI_PROVIDER="offline", DATABASE_URL=database_url)
    )
    since = datetime.now(UTC) - timedelta(days=DAYS + 1)
    queries: dict[str, dict[str, Any]] = {
        "last 7 days": {"since": datetime.now(UTC) - usage.DEFAULT_WINDOW},
        "30 days": {"since": since},
        "30 days by key": {"since": since, "group_by": "key"},
        "one key, 30 days": {"since": since, "key_id": key_id},
    }
    timings: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(rounds):
        for name, arguments in queries.items():
            started = time.perf_counter()
            usage.usage(engine, **arguments)
            timings[name].append(time.perf_counter() - started)
    engine.dispose()
    return {name: round(median(values), 3) for name, values in timings.items()}


def measure(database_url: str, rounds: int, key_id: str) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds of each command over `rounds`."""
    commands = {
        "keys list (CLI start)": ["list", "--json"],
        "usage, last 7 days": ["usage", "--json"],
        "usage, 30 days": ["usage", "--json", "--since", f"{DAYS + 1}d"],
        "usage, 30 days by key": [
            "usage",
            "--json",
            "--since",
            f"{DAYS + 1}d",
            "--group-by",
            "key",
        ],
        "usage, one key, 30 days": ["usage", "--json", "--since", f"{DAYS + 1}d", "--key", key_id],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, args in commands.items():
            wall, cpu = timed(database_url, *args)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {
        name: {"wall": round(median(walls[name]), 3), "cpu": round(median(cpus[name]), 3)}
        for name in commands
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000 if QUICK else 1_000_000)
    parser.add_argument("--rounds", type=int, default=3 if QUICK else 5)
    options = parser.parse_args()
    load_avg = os.getloadavg()
    with postgres_schema() as url:
        log(f"loading {options.records:,} audit records into PostgreSQL")
        started = time.perf_counter()
        key_ids = load(url, options.records)
        log(f"loaded in {time.perf_counter() - started:.0f} s; timing the CLI")
        with_index = measure(url, options.rounds, key_ids[7])
        query_with = query_seconds(url, options.rounds, key_ids[7])
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP INDEX ix_audit_events_usage"))
            conn.execute(sa.text("DROP STATISTICS audit_events_usage_groups"))
        engine.dispose()
        without_index = measure(url, options.rounds, key_ids[7])
        query_without = query_seconds(url, options.rounds, key_ids[7])
    worst = max(v["wall"] for k, v in with_index.items() if k.startswith("usage"))
    result = {
        "records": options.records,
        "keys": KEYS,
        "days": DAYS,
        "rounds": options.rounds,
        "load_average_before": [round(x, 2) for x in load_avg],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cli_median_seconds_with_migration_0007": with_index,
        "cli_median_seconds_without_migration_0007": without_index,
        "query_median_seconds_with_migration_0007": query_with,
        "query_median_seconds_without_migration_0007": query_without,
        "query_ratio_without_to_with": {
            name: round(query_without[name] / query_with[name], 2) for name in query_with
        },
        "target_seconds": TARGET_S,
        "worst_usage_cli_median_wall_seconds": worst,
        "meets_target": worst <= TARGET_S,
    }
    write_result("keys_usage", result)
    for name, times in with_index.items():
        print(
            f"{name:<28} {times['wall']:6.3f} s wall, {times['cpu']:.3f} s CPU   "
            f"(without 0007: {without_index[name]['wall']:.3f} s wall)"
        )
    for name, seconds in query_with.items():
        print(f"query {name:<22} {seconds:6.3f} s   (without 0007: {query_without[name]:.3f} s)")
    print(
        f"target: every usage command <= {TARGET_S} s: {'met' if worst <= TARGET_S else 'MISSED'}"
    )
    sys.exit(0 if worst <= TARGET_S else 1)


if __name__ == "__main__":
    main()
