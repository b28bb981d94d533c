"""Azure path: in-flight capacity and CPU per request of the shipped stack, by load.

One fake upstream (its delay changed between windows) and, against it, the full stack under
gunicorn with the shipped settings and the naive app (bench/naive_app.py: Flask's threaded
dev server, one module-level AzureOpenAI, nothing else).

- cost: both at 16, 100 and 200 connections with a 1 s upstream, interleaved rounds: CPU per
  request (the Azure-path ratio full / naive at 100) and whether it stays flat with load;
- in-flight: the full stack at 100 x 1 s, 200 x 2 s and 400 x 4 s (100 req/s each: the
  Little's-law limit is connections / latency), 60 s windows, interleaved rounds.

    python -m bench.capacity
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from tests.processes import azure_env as fake_azure_env

from .harness import (
    QUESTION_BODY,
    Server,
    gunicorn,
    load_average,
    log,
    measure,
    median,
    median_of,
    python_server,
    seconds,
    set_upstream_latency,
    upstream_requests,
    write_result,
    wrk,
)

ROUNDS = 3
COST_CONNECTIONS = (16, 100, 200)
COST_LATENCY_S = 1.0
IN_FLIGHT = ((100, 1.0), (200, 2.0), (400, 4.0))  # (connections, upstream latency s)
PATH = "/v1/questions"


@contextmanager
def fake_upstream(latency_s: float = COST_LATENCY_S) -> Iterator[Server]:
    """The fake Azure OpenAI server in its own process."""
    latency_ms = str(int(latency_s * 1000))
    with python_server("fake-azure", "tests.fakes.azure", "--latency-ms", latency_ms) as upstream:
        yield upstream


def azure_env(upstream_url: str) -> dict[str, str]:
    """The fake upstream's settings, with a timeout long enough for the longest latency."""
    return {
        **fake_azure_env(upstream_url, deployment="gpt-4o-bench"),
        "AZURE_OPENAI_TIMEOUT_S": "10",
    }


def window(
    server: Server, upstream: Server, connections: int, latency_s: float, duration_s: float
) -> dict[str, Any]:
    """One measured window after a warm-up of two upstream latencies, against Little's law.

    The clients' first requests are spread over one upstream latency, as independent
    clients arrive: 100 req/s, not a burst of every connection once per latency.

    The fraction of the limit is the steady state's: calls reaching the upstream per second
    from two latencies after the start to one before the end, over connections / latency.
    wrk's own req/s over the whole window (`whole_window_fraction`) also counts the ramp of
    the staggered start and the calls still in flight when it stops, about one latency of
    the window (4 s of 60 at 400 x 4 s) that no server could fill.
    """
    options: dict[str, Any] = {
        "connections": connections,
        "body": QUESTION_BODY,
        "stagger_ms": latency_s * 1000,
    }
    wrk(server.url + PATH, key=server.key, duration_s=max(2.0, 2 * latency_s), **options)
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        run = pool.submit(measure, server, PATH, duration_s=duration_s, **options)
        steady_rps = upstream_rate(
            upstream, started + 2 * latency_s, started + duration_s - latency_s
        )
        result = run.result()
    return {**result, **against_limit(connections, latency_s, round(steady_rps, 2), result["rps"])}


def upstream_rate(upstream: Server, start: float, end: float) -> float:
    """Calls per second reaching the upstream between two `time.monotonic()` instants."""
    time.sleep(max(0.0, start - time.monotonic()))
    first, first_at = upstream_requests(upstream), time.monotonic()
    time.sleep(max(0.0, end - time.monotonic()))
    return (upstream_requests(upstream) - first) / (time.monotonic() - first_at)


def against_limit(
    connections: int, latency_s: float, steady_rps: float, rps: float
) -> dict[str, Any]:
    """The Little's-law limit, and the steady-state and whole-window fractions of it."""
    limit = connections / latency_s
    return {
        "upstream_latency_s": latency_s,
        "littles_law_limit_rps": limit,
        "steady_rps": steady_rps,
        "fraction_of_limit": round(steady_rps / limit, 3),
        "whole_window_fraction": round(rps / limit, 3),
    }


def with_fraction(runs: list[dict[str, Any]], latency_s: float) -> dict[str, Any]:
    """The rounds' medians, with the steady-state and whole-window fractions of the limit."""
    summary = median_of(runs)
    steady_rps = median([run["steady_rps"] for run in runs])
    return {
        **summary,
        **against_limit(summary["connections"], latency_s, steady_rps, summary["rps"]),
    }


def cost(upstream: Server, full: Server, naive: Server) -> list[dict[str, Any]]:
    set_upstream_latency(upstream, COST_LATENCY_S * 1000)
    rounds: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for round_no in range(ROUNDS):
        order = (naive, full) if round_no % 2 == 0 else (full, naive)
        for conns in COST_CONNECTIONS:
            for server in order:
                run = window(server, upstream, conns, COST_LATENCY_S, seconds(12, 4))
                rounds.setdefault((server.name, conns), []).append(run)
    loads = []
    for conns in COST_CONNECTIONS:
        medians = {
            name: with_fraction(rounds[(name, conns)], COST_LATENCY_S) for name in ("full", "naive")
        }
        ratio = round(
            medians["full"]["cpu_ms_per_request"] / medians["naive"]["cpu_ms_per_request"], 3
        )
        log(f"Azure path at {conns} connections: CPU per request full / naive = {ratio}")
        loads.append({"connections": conns, "cpu_ratio": ratio, **medians})
    return loads


def in_flight(upstream: Server, full: Server) -> list[dict[str, Any]]:
    rounds: dict[int, list[dict[str, Any]]] = {}
    for _ in range(ROUNDS):
        for conns, latency_s in IN_FLIGHT:
            set_upstream_latency(upstream, latency_s * 1000)
            run = window(full, upstream, conns, latency_s, seconds(60, 8))
            log(f"in flight {conns} x {latency_s} s: {run['fraction_of_limit']:.1%} of the limit")
            rounds.setdefault(conns, []).append(run)
    return [
        {**with_fraction(rounds[conns], latency_s), "runs": rounds[conns]}
        for conns, latency_s in IN_FLIGHT
    ]


def main() -> None:
    with (
        fake_upstream() as upstream,
        python_server("naive", "bench.naive_app", AZURE_OPENAI_ENDPOINT=upstream.url) as naive,
        gunicorn("full", "ielts_service.wsgi:app", **azure_env(upstream.url)) as full,
    ):
        log(f"Azure path, load average {load_average()}")
        cost_loads = cost(upstream, full, naive)
        in_flight_loads = in_flight(upstream, full)
    write_result(
        "capacity",
        {
            "path": PATH,
            "rounds": ROUNDS,
            "targets": {
                "fraction": {"100": 0.95, "200": 0.90, "400": 0.85},
                "p99_over_latency": 1.3,
                "errors": 0,
                "peak_rss_mb": 300,
                "cpu_ratio_at_100": 1.3,
                "cpu_flat": 1.3,
            },
            "cost": cost_loads,
            "in_flight": in_flight_loads,
        },
    )


if __name__ == "__main__":
    main()
