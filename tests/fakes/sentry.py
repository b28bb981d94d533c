"""A Sentry ingest endpoint on 127.0.0.1 that keeps every envelope the SDK sends it."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_server import LocalServer

PUBLIC_KEY = "0123456789abcdef0123456789abcdef"
SECRET_KEY = "fedcba9876543210fedcba9876543210"


class _EnvelopeHandler(BaseHTTPRequestHandler):
    server: SentryCapture

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "identity")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding != "identity":
            raise ValueError(f"unexpected Content-Encoding {encoding!r}")
        if self.path.rstrip("/").endswith("/envelope"):
            self.server.keep(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class SentryCapture(LocalServer):
    """Receives envelopes at /api/<project>/envelope/ and parses their items."""

    def __init__(self) -> None:
        super().__init__(_EnvelopeHandler)
        self._lock = threading.Lock()
        self._envelopes: list[bytes] = []

    @property
    def dsn(self) -> str:
        """A DSN with a public key and a (legacy) secret, both of which must stay out of logs."""
        return f"http://{PUBLIC_KEY}:{SECRET_KEY}@127.0.0.1:{self.port}/1"

    def keep(self, body: bytes) -> None:
        with self._lock:
            self._envelopes.append(body)

    def raw(self) -> list[bytes]:
        """Every envelope received so far, decompressed."""
        with self._lock:
            return list(self._envelopes)

    def items(self, kind: str) -> list[dict[str, Any]]:
        """The payloads of every item of `kind` ("event", "transaction", ...)."""
        return [
            payload
            for body in self.raw()
            for item_type, payload in _parse(body)
            if item_type == kind
        ]

    def item_bytes(self) -> list[bytes]:
        """Every item payload, without the envelope headers (which carry the DSN's public key)."""
        return [_payload_bytes(body) for body in self.raw()]


def _parse(body: bytes) -> list[tuple[str, Any]]:
    """(type, payload) of every item: each item is a JSON header line, then `length` bytes or
    one line of payload."""
    items = []
    _, _, rest = body.partition(b"\n")
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] :].removeprefix(b"\n")
        else:
            payload, _, rest = rest.partition(b"\n")
        items.append((header["type"], json.loads(payload) if payload else None))
    return items


def _payload_bytes(body: bytes) -> bytes:
    return body.partition(b"\n")[2]


@contextmanager
def running_capture() -> Iterator[SentryCapture]:
    """A capture server for the length of the block."""
    server = SentryCapture().start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
