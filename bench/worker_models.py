"""Worker models side by side on the Azure path: the shipped one and the alternatives.

200 connections to a 2 s upstream (Little's-law limit 100 req/s), each model under gunicorn
with deploy/gunicorn.conf.py and only its own settings changed, in interleaved rounds:
- shipped: gevent, one greenlet per connection, 1,000 connections per worker, one listening
  socket shared by the workers;
- threads: the service's gthread worker (closing connections off its event loop), 256
  threads per worker (the previous default);
- gthread 64: gunicorn's own gthread as first shipped.

    python -m bench.worker_models
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from .capacity import azure_env, fake_upstream, window, with_fraction
from .harness import gunicorn, load_average, log, seconds, write_result

ROUNDS = 3
CONNECTIONS, LATENCY_S = 200, 2.0
MODELS: dict[str, dict[str, str]] = {
    "shipped (gevent 2 x 1000)": {},
    "threads (gthread 2 x 256)": {
        "GUNICORN_WORKER_CLASS": "ielts_service.gunicorn_worker.ThreadWorker"
    },
    "gthread 2 x 64": {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_THREADS": "64"},
}


def main() -> None:
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in MODELS}
    with fake_upstream(LATENCY_S) as upstream, ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                gunicorn(f"model{i}", "ielts_service.wsgi:app", **azure_env(upstream.url), **env)
            )
            for i, (name, env) in enumerate(MODELS.items())
        }
        log(f"worker models, load average {load_average()}")
        for round_no in range(ROUNDS):
            names = list(MODELS)[round_no % len(MODELS) :] + list(MODELS)[: round_no % len(MODELS)]
            for name in names:
                run = window(servers[name], upstream, CONNECTIONS, LATENCY_S, seconds(20, 6))
                log(f"{name}: {run['fraction_of_limit']:.1%} of the limit")
                rounds[name].append(run)
    write_result(
        "worker_models",
        {
            "connections": CONNECTIONS,
            "upstream_latency_s": LATENCY_S,
            "rounds": ROUNDS,
            "models": {
                name: {**with_fraction(runs, LATENCY_S), "runs": runs}
                for name, runs in rounds.items()
            },
        },
    )


if __name__ == "__main__":
    main()
