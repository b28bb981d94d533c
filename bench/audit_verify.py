"""`audit verify` throughput on PostgreSQL: a full walk of N synthetic records, and the
incremental walk of the last 10,000, in constant memory.

Fills a schema of its own with a valid chain (COPY, batch by batch), then times
`store.verify_chain` over several rounds while sampling the process's resident memory; prints
the result and writes bench/results/audit_verify.json.

    python -m bench.audit_verify [--records 1000000] [--rounds 3] [--postgres-url URL]

BENCH_QUICK=1 makes the default 100,000 records in one round.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from tests.fakes.audit_records import sample_record
from ulid import ULID

from bench.audit_write import audit_arguments, postgres_engine
from ielts_service.audit import store
from ielts_service.audit.chain import GENESIS, record_hash
from ielts_service.clock import now
from ielts_service.db import upgrade
from ielts_service.tables import AUDIT_FIELDS, AUDIT_SCHEMA_VERSION, audit_chain

RESULTS = Path(__file__).with_name("results") / "audit_verify.json"
TARGET_RECORDS_PER_S = 100_000
TARGET_INCREMENTAL_S = 1.0
INCREMENTAL = 10_000
BATCH = 20_000
COLUMNS = [f.name for f in AUDIT_FIELDS]


def synthetic(count: int) -> Iterator[list[dict[str, Any]]]:
    """`count` chained records of the current version, in batches."""
    base = {**dict.fromkeys(COLUMNS), **sample_record(), "kind": "model_call"}
    base["schema_version"] = AUDIT_SCHEMA_VERSION
    start, prev = now() - timedelta(days=30), GENESIS
    for low in range(1, count + 1, BATCH):
        batch = []
        for seq in range(low, min(low + BATCH, count + 1)):
            row = {**base, "seq": seq, "id": str(ULID()), "time": start + timedelta(seconds=seq)}
            row["request_id"] = f"bench-{seq}"
            row["prev_hash"] = prev
            row["hash"] = prev = record_hash(row)
            batch.append(row)
        yield batch


def fill(engine: Engine, count: int) -> None:
    """COPY a valid chain of `count` records into an empty trail and set its head."""
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:  # type: ignore[attr-defined]
            columns = ", ".join(f'"{name}"' for name in COLUMNS)
            with cursor.copy(f"COPY audit_events ({columns}) FROM STDIN") as copy:
                last = None
                for batch in synthetic(count):
                    for row in batch:
                        copy.write_row(
                            [json.dumps(v) if isinstance(v, dict) else v for v in row.values()]
                        )
                    last = batch[-1]
        raw.commit()
    finally:
        raw.close()
    assert last is not None
    with engine.begin() as conn:
        conn.execute(audit_chain.update().values(head_seq=count, head_hash=last["hash"]))
        conn.execute(sa.text("ANALYZE audit_events"))


class PeakRss:
    """Samples this process's resident memory in a thread; `peak_mb` is the highest seen."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_mb())
            time.sleep(0.02)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(walk: Callable[[], store.Verdict]) -> dict[str, Any]:
    before = rss_mb()
    with PeakRss() as peak:
        started, cpu_started = time.perf_counter(), time.process_time()
        verdict = walk()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    assert verdict.ok, verdict
    return {
        "records": verdict.checked,
        "seconds": round(seconds, 3),
        "records_per_s": round(verdict.checked / seconds),
        # The verifier's own CPU (not PostgreSQL's): what a quiet core would allow.
        "cpu_us_per_record": round(cpu / max(verdict.checked, 1) * 1e6, 2),
        "rss_before_mb": round(before, 1),
        "rss_growth_mb": round(max(peak.peak_mb - before, 0), 1),
    }


def main() -> None:
    args = audit_arguments(__doc__, "records", full=1_000_000, quick=100_000)
    results: dict[str, Any] = {
        "records": args.records,
        "targets": {"records_per_s": TARGET_RECORDS_PER_S, "incremental_s": TARGET_INCREMENTAL_S},
        "load_average_1m_before": os.getloadavg()[0],
    }
    with postgres_engine(args.postgres_url) as engine:
        upgrade(engine)
        started = time.perf_counter()
        fill(engine, args.records)
        results["fill_seconds"] = round(time.perf_counter() - started, 1)
        store.verify_chain(engine)  # warm the cache: every round reads from memory alike
        full = [timed(lambda: store.verify_chain(engine)) for _ in range(args.rounds)]
        first = args.records - INCREMENTAL + 1
        incremental = [
            timed(lambda: store.verify_chain(engine, from_seq=first)) for _ in range(args.rounds)
        ]
    results["full"] = {
        "rounds": full,
        "median_records_per_s": statistics.median(r["records_per_s"] for r in full),
        "median_seconds": statistics.median(r["seconds"] for r in full),
        "max_rss_growth_mb": max(r["rss_growth_mb"] for r in full),
        "median_cpu_us_per_record": statistics.median(r["cpu_us_per_record"] for r in full),
    }
    results["incremental_last_10000"] = {
        "rounds": incremental,
        "median_seconds": statistics.median(r["seconds"] for r in incremental),
    }
    results["load_average_1m_after"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"full verify of {args.records} records: {results['full']['median_records_per_s']:,} "
        f"records/s (median of {args.rounds}, {results['full']['median_seconds']} s), "
        f"verifier CPU {results['full']['median_cpu_us_per_record']} us/record, "
        f"RSS growth <= {results['full']['max_rss_growth_mb']} MB; "
        f"last {INCREMENTAL}: {results['incremental_last_10000']['median_seconds']} s"
    )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
