"""In-flight capacity: the full stack on the Azure path with a 1,000 ms upstream.

wrk keeps 100, then 200 connections busy on POST /v1/questions; each window follows a
warm-up. Reported against Little's law (connections / latency): achieved req/s, p50/p99,
errors, CPU ms per request and peak RSS of the whole gunicorn process tree.

    python -m bench.capacity
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .harness import (
    QUESTION_BODY,
    Server,
    gunicorn,
    log,
    measure,
    python_server,
    seconds,
    write_result,
)

UPSTREAM_LATENCY_S = 1.0
CONNECTIONS = (100, 200)
# gthread runs one request per thread and keeps a connection on the worker that accepted
# it; with the default 1,000 connections per worker one worker took most of the load (and
# its GIL saturated). Threads and connections per worker sized for 200 in flight over two
# workers force an even enough split: 164 -> 177 req/s at 200 connections in a trial.
THREADS = "128"
PATH = "/v1/questions"


@contextmanager
def azure_stack(name: str = "full") -> Iterator[tuple[Server, Server]]:
    """The fake upstream at 1,000 ms and the full stack pointed at it."""
    latency_ms = str(int(UPSTREAM_LATENCY_S * 1000))
    with python_server("fake-azure", "tests.fakes.azure", "--latency-ms", latency_ms) as upstream:
        env = azure_env(upstream.url)
        with gunicorn(name, "ielts_service.wsgi:app", **env) as service:
            yield upstream, service


def azure_env(upstream_url: str) -> dict[str, str]:
    return {
        "AI_PROVIDER": "azure",
        "AZURE_OPENAI_ENDPOINT": upstream_url,
        "AZURE_OPENAI_API_KEY": "fake-azure-key-0123456789abcdef",
        "AZURE_OPENAI_DEPLOYMENT": "gpt-4o-bench",
        "AZURE_OPENAI_TIMEOUT_S": "10",
        "GUNICORN_THREADS": THREADS,
        "GUNICORN_WORKER_CONNECTIONS": THREADS,
    }


def in_flight(service: Server, connections: int) -> dict[str, Any]:
    """One measured window at `connections`, against the Little's-law limit."""
    result = measure(
        service,
        PATH,
        connections=connections,
        duration_s=seconds(60, 10),
        warmup_s=seconds(5, 3),
        body=QUESTION_BODY,
    )
    limit = connections / UPSTREAM_LATENCY_S
    result["littles_law_limit_rps"] = limit
    result["fraction_of_limit"] = round(result["rps"] / limit, 3)
    log(f"{connections} connections: {result['fraction_of_limit']:.1%} of the limit")
    return result


def main() -> None:
    with azure_stack() as (_, service):
        runs = [in_flight(service, connections) for connections in CONNECTIONS]
    write_result(
        "capacity",
        {
            "path": PATH,
            "upstream_latency_s": UPSTREAM_LATENCY_S,
            "gunicorn": {"workers": 2, "threads": int(THREADS), "worker_connections": int(THREADS)},
            "targets": {
                "fraction_at_100": 0.95,
                "fraction_at_200": 0.85,
                "p99_ms_at_100": 1300,
                "errors": 0,
                "peak_rss_mb": 300,
            },
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
