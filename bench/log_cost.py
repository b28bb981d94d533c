"""Offline path: what the logging layer costs, and the req/s ratio the stack reaches without it.

`POST /v1/questions` at 100 connections through the full stack as shipped, through the same
stack without its log file (`LOG_FILE` empty: JSON lines to stdout only) and with its INFO
lines off (`LOG_LEVEL=WARNING`: no access line, no audit line), against bare Flask, in
interleaved rounds; on SQLite + memory:// and on PostgreSQL + Redis.

The two variants drop what the service promises (every line on stdout and in the shared
file, an access line per request, an audit line per AI request). They are measured to show
how much of the offline target (bench/overhead.py: 0.30 and 0.25 of bare Flask's req/s) the
logging layer accounts for, not as settings to run with.

    python -m bench.log_cost
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from .harness import (
    QUESTION_BODY,
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
CONNECTIONS = 100
PATH = "/v1/questions"
# Name -> how the summary labels it, and the settings changed from the shipped ones.
VARIANTS: dict[str, dict[str, Any]] = {
    "full": {"label": "as shipped", "settings": {}},
    "no_log_file": {"label": "without its log file", "settings": {"LOG_FILE": ""}},
    "no_info_lines": {"label": "INFO lines off", "settings": {"LOG_LEVEL": "WARNING"}},
}


def run_backend(name: str, **env: str) -> dict[str, Any]:
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                gunicorn(variant, "ielts_service.wsgi:app", **env, **spec["settings"])
            )
            for variant, spec in VARIANTS.items()
        ]
        servers.append(stack.enter_context(gunicorn("bare", "bench.bare_app:app", service=False)))
        log(f"logging's cost on {name}, load average {load_average()}")
        rounds = interleaved_rounds(
            servers,
            PATH,
            connections=(CONNECTIONS,),
            rounds=ROUNDS,
            window_s=seconds(10, 3),
            warmup_s=seconds(3, 1),
            body=QUESTION_BODY,
        )
    medians = {server.name: median_of(rounds[(server.name, CONNECTIONS)]) for server in servers}
    bare_rps = medians["bare"]["rps"]
    ratios = {variant: round(medians[variant]["rps"] / bare_rps, 3) for variant in VARIANTS}
    log(f"{name}: req/s of bare Flask's {ratios}")
    return {
        "backend": name,
        "connections": CONNECTIONS,
        "ratios": ratios,
        "medians": medians,
        "rounds": {server.name: rounds[(server.name, CONNECTIONS)] for server in servers},
    }


def main() -> None:
    backends = [run_backend("sqlite+memory")]
    with production_backends() as env:
        backends.append(run_backend("postgres+redis", **env))
    write_result(
        "log_cost",
        {"path": PATH, "rounds": ROUNDS, "variants": VARIANTS, "backends": backends},
    )


if __name__ == "__main__":
    main()
