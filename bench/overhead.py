"""Offline path: CPU per request and req/s of the full stack against bare Flask, by load.

`POST /v1/questions` through the full stack (auth, limits, validation, JSON logs to stdout
and a file, metrics, audit trail; offline provider, so no network) and through a bare Flask
endpoint returning the same JSON, both under gunicorn with the shipped settings, at the
same time. At 16, 100 and 200 connections, in interleaved rounds (the server order
alternates), the median of the rounds per configuration. Once on the embedded defaults
(SQLite, memory://), once on PostgreSQL (its own schema) + Redis at 100 connections.

    python -m bench.overhead
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from .harness import (
    QUESTION_BODY,
    Server,
    gunicorn,
    interleaved_rounds,
    load_average,
    log,
    median_of,
    production_backends,
    seconds,
    write_result,
)

ROUNDS = 3
CONNECTIONS = (16, 100, 200)
PRODUCTION_CONNECTIONS = (100,)
PATH = "/v1/questions"


def compare(full: Server, bare: Server, connections: tuple[int, ...]) -> list[dict[str, Any]]:
    """Interleaved rounds at each load; per load the median round of each server."""
    rounds = interleaved_rounds(
        (bare, full),
        PATH,
        connections=connections,
        rounds=ROUNDS,
        window_s=seconds(10, 3),
        warmup_s=seconds(3, 1),
        body=QUESTION_BODY,
    )
    loads = []
    for conns in connections:
        full_median = median_of(rounds[("full", conns)])
        bare_median = median_of(rounds[("bare", conns)])
        ratio = round(full_median["rps"] / bare_median["rps"], 3)
        log(f"{conns} connections: full / bare req/s = {ratio}")
        loads.append(
            {
                "connections": conns,
                "ratio": ratio,
                "full": full_median,
                "bare": bare_median,
                "rounds": {"full": rounds[("full", conns)], "bare": rounds[("bare", conns)]},
            }
        )
    return loads


def run_backend(name: str, connections: tuple[int, ...], **env: str) -> dict[str, Any]:
    with ExitStack() as stack:
        full = stack.enter_context(gunicorn("full", "ielts_service.wsgi:app", **env))
        bare = stack.enter_context(gunicorn("bare", "bench.bare_app:app", service=False))
        log(f"offline path on {name}, load average {load_average()}")
        return {"backend": name, "loads": compare(full, bare, connections)}


def run_production() -> dict[str, Any]:
    """PostgreSQL (a schema of its own) + Redis; stops the run if either is unreachable."""
    with production_backends() as env:
        return run_backend("postgres+redis", PRODUCTION_CONNECTIONS, **env)


def main() -> None:
    backends = [run_backend("sqlite+memory", CONNECTIONS), run_production()]
    write_result(
        "overhead",
        {
            "path": PATH,
            "rounds": ROUNDS,
            "targets": {
                "ratio_sqlite+memory_at_100": 0.30,
                "ratio_postgres+redis_at_100": 0.25,
                "cpu_flat": 1.3,
            },
            "backends": backends,
        },
    )


if __name__ == "__main__":
    main()
