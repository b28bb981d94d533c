"""Slow clients: normal requests while 300 connections trickle, stall or sit idle.

The full stack (offline provider, shipped settings) is measured with wrk at 16 connections
alone, then with 100 connections trickling headers (1 byte every 2 s), 100 that stalled
their body and 100 idle ones held open beside it (reopened whenever the server closes them),
in interleaved rounds. Target: p99 <= 1 s and no errors for the normal clients.

    python -m bench.slow_clients
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

from tests.slow_clients import SlowClients

from .harness import (
    QUESTION_BODY,
    gunicorn,
    load_average,
    log,
    measure,
    median_of,
    seconds,
    write_result,
)

ROUNDS = 3
NORMAL_CONNECTIONS = 16
EACH_KIND = 100
PATH = "/v1/questions"


def main() -> None:
    rounds: dict[str, list[dict[str, Any]]] = {"alone": [], "with_slow_clients": []}
    reopened = 0
    with gunicorn("full", "ielts_service.wsgi:app") as full:
        log(f"slow clients, load average {load_average()}")
        port = urlsplit(full.url).port or 80
        for _ in range(ROUNDS):
            for case in rounds:
                slow = (
                    SlowClients(port, trickling=EACH_KIND, stalled=EACH_KIND, idle=EACH_KIND)
                    if case == "with_slow_clients"
                    else nullcontext()
                )
                with slow as clients:
                    run = measure(
                        full,
                        PATH,
                        connections=NORMAL_CONNECTIONS,
                        duration_s=seconds(20, 6),
                        warmup_s=seconds(4, 2),
                        body=QUESTION_BODY,
                    )
                    if clients is not None:
                        run["slow_connections_open"] = clients.open_count
                        reopened += clients.reopened
                rounds[case].append(run)
    write_result(
        "slow_clients",
        {
            "path": PATH,
            "rounds": ROUNDS,
            "slow_connections": {"trickling": EACH_KIND, "stalled": EACH_KIND, "idle": EACH_KIND},
            "reopened_by_clients": reopened,
            "targets": {"p99_ms": 1000, "errors": 0},
            "alone": median_of(rounds["alone"]),
            "with_slow_clients": median_of(rounds["with_slow_clients"]),
            "runs": rounds,
        },
    )


if __name__ == "__main__":
    main()
