"""The upstream transport spreads calls over several pools, each keeping its connections."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import httpx2
import pytest

from ielts_service.ai.http_pools import PooledTransport
from tests.fakes.local_server import LocalServer


class _PeerRecorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: ClassVar[list[tuple[str, int]]] = []

    def do_GET(self) -> None:
        self.peers.append(self.client_address)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[LocalServer]:
    _PeerRecorder.peers = []
    server = LocalServer(_PeerRecorder).start()
    yield server
    server.shutdown()
    server.server_close()


def test_calls_take_turns_over_the_pools_and_each_reuses_its_connection(
    server: LocalServer,
) -> None:
    with httpx2.Client(transport=PooledTransport(max_connections=8, pools=4)) as client:
        for _ in range(12):
            assert client.get(f"http://127.0.0.1:{server.port}/").status_code == 200

    peers = _PeerRecorder.peers
    assert len(set(peers)) == 4  # one kept-alive connection per pool
    assert peers[:4] == peers[4:8] == peers[8:]  # in turn


def test_never_more_pools_than_connections(server: LocalServer) -> None:
    with httpx2.Client(transport=PooledTransport(max_connections=2, pools=16)) as client:
        for _ in range(6):
            client.get(f"http://127.0.0.1:{server.port}/")

    assert len(set(_PeerRecorder.peers)) == 2
