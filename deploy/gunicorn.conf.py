"""gunicorn settings for ielts-question-service (gevent workers).

Every value comes from the environment, so one file serves a laptop, a VM and Kubernetes.
Each service instance needs its own PROMETHEUS_MULTIPROC_DIR and control socket.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

# A request spends seconds waiting on the model: each waits in a greenlet (a few KB), so
# 2 workers x 1000 connections hold hundreds of calls in flight and slow clients beside them
# at a fraction of the memory and CPU of a thread each (bench/worker_models.py measures the
# models side by side). Each worker patches the standard library for gevent when it starts;
# the master stays unpatched, as with any gunicorn gevent deployment (its signal handling,
# control socket thread and migration subprocess are plain threads and processes). The
# service's gevent worker yields after each request, so kept-alive connections whose next
# request is waiting are served in turn (ielts_service/gunicorn_worker.py). The threaded model
# stays one setting away:
# GUNICORN_WORKER_CLASS=ielts_service.gunicorn_worker.ThreadWorker (GUNICORN_THREADS each).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "ielts_service.gunicorn_worker.GeventWorker")
USES_GEVENT = "gevent" in worker_class.lower()

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "256"))
# Connections a worker serves at once (gevent), or keeps alive beside its threads (gthread).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# The workers share one listening socket: a connection waits for whichever worker accepts
# first. With SO_REUSEPORT (true) each worker has its own socket and the kernel assigns each
# connection to one of them by hash, even to a worker that cannot accept: one that is booting
# (seconds, after a crash or a restart) holds its share of new connections until it has loaded
# the app, and the connections queued on a worker that dies are reset. Under gevent the shared
# socket keeps both workers as busy (bench/results/profile.md, "Listening socket").
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "false").lower() == "true"
# Longer than the worst upstream call: (timeout × (retries + 1)) plus back-off.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# On SIGTERM a worker first keeps serving this long with /readyz at 503, so load balancers
# stop routing to it before it stops accepting; in-flight work then has the rest of
# graceful_timeout.
SHUTDOWN_DRAIN_S = float(os.environ.get("SHUTDOWN_DRAIN_S", "0"))
if not 0 <= SHUTDOWN_DRAIN_S < graceful_timeout:
    raise SystemExit(
        f"configuration error: SHUTDOWN_DRAIN_S: must be >= 0 and below "
        f"GUNICORN_GRACEFUL_TIMEOUT ({graceful_timeout}) (got {SHUTDOWN_DRAIN_S})"
    )
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
accesslog = None  # the service writes one JSON access line per request itself
# gunicorn's error log goes through the service's JSON handlers (stdout and LOG_FILE), so a
# log store sees one format.
logger_class = "ielts_service.gunicorn_logging.JsonLogger"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
control_socket = os.environ.get(
    "GUNICORN_CONTROL_SOCKET", str(Path(tempfile.gettempdir()) / f"gunicorn-{os.getpid()}.ctl")
)

# Multiprocess metrics: one directory per instance, created before the app imports
# prometheus_client, wiped when the master starts.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / f"ielts-metrics-{os.getpid()}")
)


def on_starting(server):  # type: ignore[no-untyped-def]
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics_dir, ignore_errors=True)
    # A mounted dir (emptyDir, tmpfs) is emptied but cannot be removed: it still exists here.
    metrics_dir.mkdir(parents=True, exist_ok=True)
    _migrate_once()


def _migrate_once() -> None:
    """Apply migrations once, before the workers start, when settings ask for it.

    `flask db upgrade` runs in a child process, so the long-lived master never imports
    SQLAlchemy and Alembic (tens of MB kept for the life of the service).
    """
    from ielts_service.config import load_settings

    wanted = load_settings().auto_migrate
    os.environ["AUTO_MIGRATE"] = "false"  # the workers, and the command itself, skip it
    if wanted:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "ielts_service", "db", "upgrade"],
            check=True,
            stdout=subprocess.DEVNULL,  # its one-line report; its logs (stderr) are JSON
        )


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Make SIGTERM drain: readiness 503 at once, gunicorn's graceful stop after the delay."""
    graceful_stop = worker.handle_exit

    def drain_then_stop(signum: int, _frame: FrameType | None) -> None:
        if worker.wsgi.extensions.get("draining"):
            return  # a repeated SIGTERM does not restart the delay
        worker.wsgi.extensions["draining"] = True
        _call_later(SHUTDOWN_DRAIN_S, graceful_stop, signum, None)

    signal.signal(signal.SIGTERM, drain_then_stop)
    _sweep_abandoned_calls(worker.wsgi)


def _call_later(delay_s: float, function, *args) -> None:  # type: ignore[no-untyped-def]
    """Call `function` after the delay, from a signal handler, which must not block."""
    if USES_GEVENT:
        import gevent

        gevent.spawn_later(delay_s, function, *args)
        return
    timer = threading.Timer(delay_s, function, args=args)
    timer.daemon = True
    timer.start()


def _sweep_abandoned_calls(app):  # type: ignore[no-untyped-def]
    """Close the model calls of workers that died mid-call: now, then periodically."""
    from ielts_service.audit.intents import start_sweeper
    from ielts_service.db import get_engine_of

    settings = app.config.get("SETTINGS")
    if settings is None:  # another WSGI app served with these settings (a benchmark baseline)
        return
    start_sweeper(get_engine_of(app), settings.AUDIT_INTENT_SWEEP_S, settings.AUDIT_INTENT_STALE_S)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    from ielts_service.sentry import flush

    flush()
