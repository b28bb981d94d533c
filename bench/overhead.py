"""Overhead: POST /v1/questions through the full stack vs a bare Flask endpoint.

Both run under gunicorn with the same deploy/gunicorn.conf.py settings, at the same time,
measured in interleaved rounds (the order alternates); the median of the rounds is reported.
The full stack uses the offline provider: auth, limits, validation, JSON logs to a file,
metrics and the audit trail, but no network. Run once on the embedded defaults (SQLite,
memory://) and once on PostgreSQL (its own schema) + Redis.

    python -m bench.overhead
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from .harness import (
    QUESTION_BODY,
    REDIS_URL,
    Server,
    gunicorn,
    log,
    measure,
    median,
    postgres_schema,
    seconds,
    write_result,
)

ROUNDS = 3
CONNECTIONS = 16
PATH = "/v1/questions"


def compare(full: Server, bare: Server) -> dict[str, Any]:
    """Interleaved rounds under load, then a low-load latency check of each."""
    window, warmup = seconds(10, 3), seconds(3, 1)
    runs: dict[str, list[dict[str, Any]]] = {"full": [], "bare": []}
    for server in (full, bare):  # warm both (imports, pools, first writes)
        measure(server, PATH, connections=CONNECTIONS, duration_s=warmup, body=QUESTION_BODY)
    for round_no in range(ROUNDS):
        order = (bare, full) if round_no % 2 == 0 else (full, bare)
        for server in order:
            runs[server.name].append(
                measure(
                    server, PATH, connections=CONNECTIONS, duration_s=window, body=QUESTION_BODY
                )
            )
    low_load = {
        server.name: measure(
            server, PATH, connections=1, duration_s=seconds(5, 2), body=QUESTION_BODY
        )
        for server in (full, bare)
    }
    summary = {name: _median_of(rounds) for name, rounds in runs.items()}
    ratio = round(summary["full"]["rps"] / summary["bare"]["rps"], 3)
    log(f"overhead ratio (full / bare req/s): {ratio}")
    return {"ratio": ratio, "median": summary, "rounds": runs, "low_load": low_load}


def _median_of(rounds: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request", "errors", "peak_rss_mb")
    return {key: median([r[key] for r in rounds]) for key in keys}


def run_backend(name: str, **env: str) -> dict[str, Any]:
    with ExitStack() as stack:
        full = stack.enter_context(gunicorn("full", "ielts_service.wsgi:app", **env))
        bare = stack.enter_context(gunicorn("bare", "bench.bare_app:app", service=False))
        log(f"overhead on {name}")
        return {"backend": name, **compare(full, bare)}


def run_production() -> dict[str, Any]:
    """PostgreSQL (a schema of its own) + Redis; stops the run if either is unreachable."""
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    with postgres_schema() as database_url:
        return run_backend(
            "postgres+redis", DATABASE_URL=database_url, RATELIMIT_STORAGE_URI=REDIS_URL
        )


def main() -> None:
    backends = [run_backend("sqlite+memory"), run_production()]
    write_result(
        "overhead",
        {
            "path": PATH,
            "connections": CONNECTIONS,
            "rounds": ROUNDS,
            "targets": {
                "ratio_sqlite+memory": 0.60,
                "ratio_postgres+redis": 0.50,
                "low_load_p50_ms": 5.0,
            },
            "backends": backends,
        },
    )


if __name__ == "__main__":
    main()
