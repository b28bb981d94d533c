"""Audit write cost per request: one chained append (lock, insert, head update, commit).

Times `audit.store.append` for one record, as a question request makes it, on SQLite (a file
in a temporary directory) and on PostgreSQL (its own schema, dropped afterwards), over several
rounds; prints the result and writes bench/results/audit_write.json.

    python -m bench.audit_write [--appends 2000] [--rounds 3] [--postgres-url URL]

BENCH_QUICK=1 makes the defaults 300 appends in one round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.fakes.audit_records import sample_record

from bench.harness import QUICK
from ielts_service.audit import store
from ielts_service.config import Settings
from ielts_service.db import build_engine, upgrade

RESULTS = Path(__file__).with_name("results") / "audit_write.json"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_MEDIAN_MS = 2.0


def time_appends(engine: Engine, appends: int) -> list[float]:
    """Milliseconds of each of `appends` single-record appends."""
    timings = []
    for _ in range(appends):
        record = sample_record()
        started = time.perf_counter()
        store.append(engine, [record])
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def summarise(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as workdir:
        engine = build_engine(Settings(DATABASE_URL=f"sqlite:///{workdir}/audit.db"))
        yield engine
        engine.dispose()


@contextmanager
def postgres_engine(url: str) -> Iterator[Engine]:
    """An engine on a schema of its own, dropped afterwards."""
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = build_engine(Settings(DATABASE_URL=f"{url}?options=-csearch_path%3D{schema}"))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(engine: Engine, appends: int, rounds: int) -> dict[str, Any]:
    """Warm up, then time `rounds` rounds; the chain must still verify afterwards."""
    upgrade(engine)
    time_appends(engine, 50)
    per_round = [summarise(time_appends(engine, appends)) for _ in range(rounds)]
    verdict = store.verify_chain(engine)
    assert verdict.ok, verdict
    medians = [r["median_ms"] for r in per_round]
    return {
        "rounds": per_round,
        "median_ms": statistics.median(medians),
        "p99_ms": statistics.median(r["p99_ms"] for r in per_round),
        "records_verified": verdict.checked,
    }


def audit_arguments(doc: str, count: str, full: int, quick: int) -> argparse.Namespace:
    """The audit benchmarks' options: how many (`--<count>`), --rounds and --postgres-url."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{count}", type=int, default=quick if QUICK else full)
    parser.add_argument("--rounds", type=int, default=1 if QUICK else 3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    return parser.parse_args()


def main() -> None:
    args = audit_arguments(__doc__, "appends", full=2000, quick=300)
    results: dict[str, Any] = {
        "appends_per_round": args.appends,
        "rounds": args.rounds,
        "target_postgres_median_ms": TARGET_MEDIAN_MS,
        # The host's load says whether these numbers can be compared with another run.
        "load_average_1m_before": os.getloadavg()[0],
    }
    with sqlite_engine() as engine:
        results["sqlite"] = run(engine, args.appends, args.rounds)
    with postgres_engine(args.postgres_url) as engine:
        results["postgresql"] = run(engine, args.appends, args.rounds)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("sqlite", "postgresql"):
        print(
            f"{name:>10}: median {results[name]['median_ms']:.3f} ms, "
            f"p99 {results[name]['p99_ms']:.3f} ms per audit write"
        )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
