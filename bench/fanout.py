"""Fan-out: a speaking test (three upstream calls) against one question, at 1,000 ms upstream.

Also the concurrency choice for the three parts: the service's bounded thread pool
(POST /v1/speaking-tests) against asyncio + AsyncAzureOpenAI + gather (the same handler in
bench/async_fanout.py), in the same server, interleaved: latency at low load, then req/s and
CPU per test with many tests in flight.

    python -m bench.fanout
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .capacity import azure_env
from .harness import (
    QUESTION_BODY,
    SPEAKING_TEST_BODY,
    Server,
    gunicorn,
    log,
    measure,
    python_server,
    seconds,
    write_result,
)

ROUTES = {
    "question": ("/v1/questions", QUESTION_BODY),
    "speaking_test_threads": ("/v1/speaking-tests", SPEAKING_TEST_BODY),
    "speaking_test_asyncio": ("/bench/speaking-tests-async", SPEAKING_TEST_BODY),
}
LOW_LOAD_CONNECTIONS = 2
LOADED_CONNECTIONS = 60


def measure_routes(
    service: Server, names: Iterable[str], connections: int, duration_s: float, warmup_s: float
) -> dict[str, Any]:
    """The routes `names`, one after the other, each at the same load."""
    return {
        name: measure(
            service,
            ROUTES[name][0],
            connections=connections,
            duration_s=duration_s,
            warmup_s=warmup_s,
            body=ROUTES[name][1],
        )
        for name in names
    }


def main() -> None:
    with (
        python_server("fake-azure", "tests.fakes.azure", "--latency-ms", "1000") as upstream,
        gunicorn("fanout", "bench.async_fanout:app", **azure_env(upstream.url)) as service,
    ):
        low = measure_routes(service, ROUTES, LOW_LOAD_CONNECTIONS, seconds(15, 5), warmup_s=2)
        loaded = measure_routes(
            service,
            ("speaking_test_threads", "speaking_test_asyncio"),
            LOADED_CONNECTIONS,
            seconds(30, 8),
            warmup_s=3,
        )
    ratio = round(low["speaking_test_threads"]["p50_ms"] / low["question"]["p50_ms"], 3)
    async_ratio = round(low["speaking_test_asyncio"]["p50_ms"] / low["question"]["p50_ms"], 3)
    log(f"fan-out ratio (speaking test p50 / question p50): threads {ratio}, asyncio {async_ratio}")
    write_result(
        "fanout",
        {
            "upstream_latency_s": 1.0,
            "targets": {"ratio": 1.3},
            "ratio": ratio,
            "asyncio_ratio": async_ratio,
            "low_load": low,
            "loaded": loaded,
        },
    )


if __name__ == "__main__":
    main()
