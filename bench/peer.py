"""Peer: the naive Flask app (bench/naive_app.py, Flask dev server) against the full stack.

Both call the same fake upstream at 1,000 ms under the in-flight load of 100 connections,
one after the other in the same run: capacity against Little's law, latency, errors, CPU per
request (the Azure-path CPU ratio: full stack / naive) and peak RSS of each process tree.

    python -m bench.peer
"""

from __future__ import annotations

from .capacity import PATH, UPSTREAM_LATENCY_S, azure_env, in_flight
from .harness import gunicorn, log, python_server, write_result

CONNECTIONS = 100


def main() -> None:
    with python_server(
        "fake-azure", "tests.fakes.azure", "--latency-ms", str(int(UPSTREAM_LATENCY_S * 1000))
    ) as upstream:
        with python_server("naive", "bench.naive_app", AZURE_OPENAI_ENDPOINT=upstream.url) as naive:
            naive_run = in_flight(naive, CONNECTIONS)
        with gunicorn("full", "ielts_service.wsgi:app", **azure_env(upstream.url)) as full:
            full_run = in_flight(full, CONNECTIONS)
    cpu_ratio = round(full_run["cpu_ms_per_request"] / naive_run["cpu_ms_per_request"], 3)
    log(f"Azure-path CPU per request, full stack / naive app: {cpu_ratio}")
    write_result(
        "peer",
        {
            "path": PATH,
            "upstream_latency_s": UPSTREAM_LATENCY_S,
            "connections": CONNECTIONS,
            "targets": {"cpu_ratio": 1.1},
            "cpu_ratio": cpu_ratio,
            "naive": naive_run,
            "full": full_run,
        },
    )


if __name__ == "__main__":
    main()
