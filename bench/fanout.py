"""Fan-out: a speaking test (three upstream calls) against one question, at 1,000 ms upstream.

The target, on the shipped settings (gevent workers): a speaking test's p50 against a single
question's at low load.

Also the concurrency choice for the three parts: the service's bounded pool
(POST /v1/speaking-tests) against asyncio + AsyncAzureOpenAI + gather (the same handler in
bench/async_fanout.py), in the same server: latency at low load, then req/s and CPU per test
with many tests in flight. That comparison runs under the threaded worker
(ielts_service.gunicorn_worker.ThreadWorker): an asyncio event loop does not run inside a
greenlet of a patched process (gevent's selectors and sockets under asyncio's loop), so
under the shipped workers the asyncio variant would only measure its failures.

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
    threaded = {"GUNICORN_WORKER_CLASS": "ielts_service.gunicorn_worker.ThreadWorker"}
    designs = ("speaking_test_threads", "speaking_test_asyncio")
    with python_server("fake-azure", "tests.fakes.azure", "--latency-ms", "1000") as upstream:
        env = azure_env(upstream.url)
        with gunicorn("fanout", "bench.async_fanout:app", **env) as shipped:
            low = measure_routes(
                shipped,
                ("question", "speaking_test_threads"),
                LOW_LOAD_CONNECTIONS,
                seconds(15, 5),
                warmup_s=2,
            )
        with gunicorn("fanout-threads", "bench.async_fanout:app", **env, **threaded) as service:
            designs_low = measure_routes(
                service, ("question", *designs), LOW_LOAD_CONNECTIONS, seconds(15, 5), warmup_s=2
            )
            loaded = measure_routes(
                service, designs, LOADED_CONNECTIONS, seconds(30, 8), warmup_s=3
            )
    ratio = round(low["speaking_test_threads"]["p50_ms"] / low["question"]["p50_ms"], 3)
    async_ratio = round(
        designs_low["speaking_test_asyncio"]["p50_ms"] / designs_low["question"]["p50_ms"], 3
    )
    log(f"fan-out ratio (speaking test p50 / question p50): {ratio}; asyncio {async_ratio}")
    write_result(
        "fanout",
        {
            "upstream_latency_s": 1.0,
            "targets": {"ratio": 1.3},
            "ratio": ratio,
            "asyncio_ratio": async_ratio,
            "low_load": low,
            "designs_worker": threaded["GUNICORN_WORKER_CLASS"],
            "designs_low_load": designs_low,
            "loaded": loaded,
        },
    )


if __name__ == "__main__":
    main()
