"""Flame graphs of the full stack at 100 connections: offline path and Azure path.

py-spy samples the gunicorn master and its workers (`--subprocesses`) for 20 s while wrk
keeps 100 connections busy; one SVG per path in bench/results/. `--tree DIR` profiles
another checkout (e.g. `git worktree add DIR <older commit>`) with this harness, for a
before/after pair.

    python -m bench.profile --label after [--tree DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import threading
from pathlib import Path

from .capacity import azure_env, fake_upstream
from .harness import BIN, QUESTION_BODY, RESULTS, ROOT, Server, gunicorn, log, measure, seconds

CONNECTIONS = 100
SAMPLE_S = seconds(20, 5)


def flame(server: Server, svg: Path) -> None:
    """wrk at 100 connections around a py-spy recording of the server's process tree."""
    load = threading.Thread(
        target=measure,
        args=(server, "/v1/questions"),
        kwargs={
            "connections": CONNECTIONS,
            "duration_s": SAMPLE_S + 8,
            "warmup_s": 3,
            "body": QUESTION_BODY,
        },
    )
    load.start()
    try:
        threading.Event().wait(7)  # the warm-up, and a few seconds of steady load
        subprocess.run(
            [
                str(BIN / "py-spy"),
                "record",
                "--pid",
                str(server.proc.pid),
                "--subprocesses",
                "--duration",
                str(int(SAMPLE_S)),
                "--format",
                "flamegraph",
                "--output",
                str(svg),
                "--nonblocking",
            ],
            check=True,
            capture_output=True,
        )
    finally:
        load.join()
    log(f"wrote {svg.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--tree", type=Path, default=ROOT)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    with gunicorn("full", "ielts_service.wsgi:app", tree=args.tree) as full:
        flame(full, RESULTS / f"flame-offline-{args.label}.svg")
    with (
        fake_upstream() as upstream,
        gunicorn(
            "full", "ielts_service.wsgi:app", tree=args.tree, **azure_env(upstream.url)
        ) as full,
    ):
        flame(full, RESULTS / f"flame-azure-{args.label}.svg")


if __name__ == "__main__":
    main()
