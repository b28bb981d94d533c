"""The service's workers: the gevent worker yields after each request; the threaded worker closes
finished connections on a request thread, never on its event loop (where gthread's lingering
close would stall every other connection of the worker)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import gevent
import pytest
from gunicorn.workers import ggevent

from ielts_service.gunicorn_worker import GeventWorker, ThreadWorker


class _Connection:
    def __init__(self) -> None:
        self.closed_on: list[tuple[threading.Thread, bool]] = []

    def close(self, graceful: bool = False) -> None:
        self.closed_on.append((threading.current_thread(), graceful))


def _worker() -> ThreadWorker:
    """The worker's event-loop state only: no sockets, no arbiter."""
    worker = ThreadWorker.__new__(ThreadWorker)
    worker.nr_conns = 1
    worker.tpool = ThreadPoolExecutor(1)
    return worker


def _finished(result: object) -> Future[object]:
    future: Future[object] = Future()
    future.set_result(result)
    return future


def test_a_connection_that_ends_is_closed_gracefully_on_a_request_thread() -> None:
    worker, connection = _worker(), _Connection()

    worker.finish_request(connection, _finished(False))
    worker.tpool.shutdown(wait=True)

    [(thread, graceful)] = connection.closed_on
    assert thread is not threading.current_thread()
    assert graceful
    assert worker.nr_conns == 0


def test_the_gevent_worker_lets_waiting_greenlets_run_after_each_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gunicorn's own handle_request serves one request; its next one may already be waiting,
    # and without a yield the same greenlet would serve it before any other ran.
    order: list[str] = []

    def serve(self: Any, *request: Any) -> None:
        order.append("request served")

    monkeypatch.setattr(ggevent.GeventWorker, "handle_request", serve)
    other = gevent.spawn(order.append, "another greenlet ran")

    GeventWorker.__new__(GeventWorker).handle_request("listener", "req", "sock", "addr")
    order.append("handle_request returned")
    other.join()

    assert order == ["request served", "another greenlet ran", "handle_request returned"]
