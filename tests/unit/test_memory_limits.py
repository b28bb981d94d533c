"""memory:// rate limits: counted as limits counts them, without a thread per hit."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ielts_service.limits import storage_uri
from ielts_service.memory_limits import SweptMemoryStorage


def test_memory_uri_selects_the_swept_storage_and_others_pass_through() -> None:
    assert isinstance(storage_from_string(storage_uri("memory://")), SweptMemoryStorage)
    assert storage_uri("memcached://127.0.0.1:11211") == "memcached://127.0.0.1:11211"


def test_hits_start_no_thread_and_limits_still_hold() -> None:
    limiter = FixedWindowRateLimiter(SweptMemoryStorage())
    item = parse("5/second")
    before = threading.active_count()
    allowed = [limiter.hit(item, "client") for _ in range(8)]
    assert threading.active_count() == before
    assert allowed == [True] * 5 + [False] * 3


def test_expired_counters_are_swept_without_being_read() -> None:
    storage = SweptMemoryStorage()
    storage.incr("gone-soon", expiry=0.05)
    deadline = time.monotonic() + 5
    while "gone-soon" in storage.storage and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "gone-soon" not in storage.storage
