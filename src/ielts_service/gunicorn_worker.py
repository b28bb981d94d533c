"""The threaded gunicorn worker, the alternative to the shipped gevent workers
(`GUNICORN_WORKER_CLASS=ielts_service.gunicorn_worker.ThreadWorker`): gthread, with
connections closed off its event loop.

gthread closes a finished connection on the worker's event-loop thread, and closes it
gracefully: it half-closes, then reads for up to 2 s until the client closes its side. A
client that never does (a stalled upload answered with an error, say) froze accepting and
dispatching for every other connection of the worker for those 2 s. Here the lingering close
runs on a request thread instead.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from gunicorn.workers import gthread  # type: ignore[import-untyped]


class ThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    def finish_request(self, conn: Any, fs: Future[Any]) -> None:
        if not fs.cancelled() and fs.exception() is None and fs.result() is False:
            self.nr_conns -= 1
            self.tpool.submit(conn.close, graceful=True)
            return
        super().finish_request(conn, fs)
