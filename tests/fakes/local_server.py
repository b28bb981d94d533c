"""What every fake server here is: HTTP on 127.0.0.1, served from a daemon thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

# How often the serving thread looks for shutdown(), which waits for it (the standard 0.5 s
# was most of a short test's teardown).
SHUTDOWN_POLL_S = 0.02


class LocalServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1:PORT (0: a free port)."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> Self:
        """Serve from a daemon thread; return at once."""
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, daemon=True
        ).start()
        return self
