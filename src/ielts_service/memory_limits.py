"""In-process rate-limit counters (`memory://`) without a thread started per request.

limits' MemoryStorage frees expired counters from a 10 ms `threading.Timer` that it starts
again on almost every hit once the previous one ended: a thread start, and a wait for the
GIL, on about two requests in three. Here one daemon thread per process sweeps once a
second; the storage sees it alive and starts no timer. Expired counters are still dropped
on read, as before, so limits behave the same.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from limits.storage import MemoryStorage

SCHEME = "memory-swept"
SWEEP_EVERY_S = 1.0


class SweptMemoryStorage(MemoryStorage):
    """`memory-swept://`: limits' memory storage with one sweeping thread."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (read by limits' storage registry)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()
        self.timer = threading.Thread(  # type: ignore[assignment]
            target=self._sweep, name="ratelimit-sweep", daemon=True
        )
        self.timer.start()

    def _sweep(self) -> None:
        while True:
            time.sleep(SWEEP_EVERY_S)
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
