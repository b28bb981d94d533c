"""The service's gunicorn workers: the shipped gevent worker, and the threaded alternative.

GeventWorker (shipped): gunicorn's gevent worker, yielding after each request. It patches
the standard library when it starts, as gunicorn's does; the master stays unpatched. A greenlet
serving a kept-alive connection reads the client's next request and, when it has already
arrived, serves it without ever waiting on the hub: a few busy connections then keep the
worker to themselves while the others wait for seconds (bare Flask at 100 connections:
p50 1 ms, p99 6 s). Yielding once per request serves ready connections in turn.

ThreadWorker (`GUNICORN_WORKER_CLASS=ielts_service.gunicorn_worker.ThreadWorker`): gthread,
with connections closed off its event loop. gthread closes a finished connection on the
worker's event-loop thread, and closes it gracefully: it half-closes, then reads for up to
2 s until the client closes its side. A client that never does (a stalled upload answered
with an error, say) froze accepting and dispatching for every other connection of the worker
for those 2 s. Here the lingering close runs on a request thread instead.
"""

from __future__ import annotations

import warnings
from concurrent.futures import Future
from typing import Any

import gevent  # type: ignore[import-untyped]
from gevent.monkey import MonkeyPatchWarning  # type: ignore[import-untyped]
from gunicorn.workers import ggevent, gthread  # type: ignore[import-untyped]


class ThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    def finish_request(self, conn: Any, fs: Future[Any]) -> None:
        if not fs.cancelled() and fs.exception() is None and fs.result() is False:
            self.nr_conns -= 1
            self.tpool.submit(conn.close, graceful=True)
            return
        super().finish_request(conn, fs)


# The master imports redis (the log file's lock, through portalocker), and with it ssl, before
# a worker patches. Of those modules only redis' asyncio client holds ssl names directly, and
# the service never uses it; gevent's warning for any other module still shows.
HARMLESS_LATE_SSL_PATCH = (
    r"Monkey-patching ssl after ssl has already been imported.*"
    r"\(NOT patched\): \['redis\.asyncio\.connection \([^)]*\)'\]\.\s*$"
)


class GeventWorker(ggevent.GeventWorker):  # type: ignore[misc]
    def patch(self) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=HARMLESS_LATE_SSL_PATCH, category=MonkeyPatchWarning
            )
            super().patch()

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        try:
            super().handle_request(listener_name, req, sock, addr)
        finally:
            gevent.sleep(0)
