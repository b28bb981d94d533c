"""Group commit: appends queued while another is writing go out together in one transaction."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from ielts_service.audit import store
from ielts_service.db import get_engine_of
from ielts_service.in_flight import CountedRequests, requests_in_flight
from tests.fakes.audit_records import sample_record

WRITERS = 8


def count_commits(engine: sa.Engine) -> Callable[[], int]:
    commits = [0]

    @sa.event.listens_for(engine, "commit")
    def _count(_conn: sa.Connection) -> None:
        commits[0] += 1

    return lambda: commits[0]


def test_queued_appends_share_one_commit_and_each_caller_gets_its_own(app: Flask) -> None:
    engine = get_engine_of(app)
    commits = count_commits(engine)
    results: dict[str, list[dict[str, object]]] = {}

    def writer(name: str) -> None:
        results[name] = store.append(engine, [sample_record(request_id=name)] * 2)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(WRITERS)]
    with store._APPEND_LOCK:  # a write in progress: everyone queues behind it
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(store._queued) < WRITERS and time.monotonic() < deadline:
            time.sleep(0.01)
        before = commits()
    for thread in threads:
        thread.join(10)
    assert commits() - before == 1
    assert {name: [row["request_id"] for row in rows] for name, rows in results.items()} == {
        f"w{i}": [f"w{i}"] * 2 for i in range(WRITERS)
    }
    assert store.verify_chain(engine).ok
    assert store.verify_chain(engine).checked == 2 * WRITERS


def test_a_failed_group_fails_every_caller_in_it(app: Flask) -> None:
    engine = get_engine_of(app)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE audit_events"))
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            store.append(engine, [sample_record()])
        except store.AppendFailed as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(3)]
    with store._APPEND_LOCK:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(store._queued) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    for thread in threads:
        thread.join(10)
    assert len(errors) == 3


@contextmanager
def requests_waiting(count: int) -> Iterator[None]:
    """`count` requests in flight in this process, each held inside its WSGI call."""
    release = threading.Event()

    def held(_environ: object, _start_response: object) -> list[bytes]:
        release.wait(10)
        return []

    app = CountedRequests(held)
    threads = [threading.Thread(target=app, args=({}, None)) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while requests_in_flight() < count and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield
    finally:
        release.set()
        for thread in threads:
            thread.join(10)


def _append_as_request(engine: sa.Engine, request_id: str) -> None:
    def view(_environ: object, _start_response: object) -> list[bytes]:
        store.append(engine, [sample_record(request_id=request_id)])
        return []

    CountedRequests(view)({}, None)  # type: ignore[arg-type]


def test_under_load_the_writer_waits_for_the_records_arriving_meanwhile(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "COMMIT_DELAY_S", 0.5)
    engine = get_engine_of(app)
    commits = count_commits(engine)
    with requests_waiting(store.COMMIT_SIBLINGS):
        _append_as_request(engine, "recent")  # the previous write: just now
        before = commits()
        first = threading.Thread(target=_append_as_request, args=(engine, "first"))
        first.start()  # waits COMMIT_DELAY_S before writing...
        time.sleep(0.1)
        _append_as_request(engine, "second")  # ...and takes this one along
        first.join(10)
    assert commits() - before == 1
    assert store.verify_chain(engine).checked == 3


def test_a_lone_client_never_waits(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "COMMIT_DELAY_S", 5.0)
    engine = get_engine_of(app)
    started = time.monotonic()
    for request_id in ("one", "two", "three"):
        _append_as_request(engine, request_id)  # each less than a delay after the last
    assert time.monotonic() - started < 2.5  # not one 5 s wait
    assert store.verify_chain(engine).checked == 3
