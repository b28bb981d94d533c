"""How many requests this process is serving at this moment.

Counted around the whole WSGI call, so every request is counted once, whatever its hooks
and errors do. The audit trail's group commit reads it (audit/store.py): waiting for other
requests' records pays only when there are other requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_count = 0
_lock = threading.Lock()


def requests_in_flight() -> int:
    """Requests between the start of their WSGI call and its end, in this process."""
    return _count


class CountedRequests:
    """WSGI middleware keeping `requests_in_flight()`."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[Any]:
        global _count
        with _lock:
            _count += 1
        try:
            return self._app(environ, start_response)
        finally:
            with _lock:
                _count -= 1
