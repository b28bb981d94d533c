"""Connections that begin a request and never finish it, kept open as an attacker would.

Three kinds: trickling (the request line and headers, one byte every `interval_s`), stalled
(complete headers announcing a body, then a few bytes of it and nothing more) and idle
(connected, nothing sent). A connection the server closes is opened again at the next tick.
127.0.0.1 only; bounded by the counts given and by the `with` block.
"""

from __future__ import annotations

import itertools
import select
import socket
import threading
from dataclasses import dataclass, field

_TRICKLE = b"POST /v1/questions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 4000
_STALL = (
    b"POST /v1/questions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b'Content-Length: 1000\r\n\r\n{"topic": '
)


@dataclass
class _Conn:
    kind: str
    sock: socket.socket
    sent: int = 0


@dataclass
class SlowClients:
    """`with SlowClients(port, trickling=100, stalled=100, idle=100): ...`"""

    port: int
    trickling: int = 0
    stalled: int = 0
    idle: int = 0
    interval_s: float = 2.0
    reopened: int = 0
    _conns: list[_Conn] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> SlowClients:
        kinds = ("trickling",) * self.trickling + ("stalled",) * self.stalled
        self._conns = [self._open(kind) for kind in (*kinds, *("idle",) * self.idle)]
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._conns:
            conn.sock.close()

    @property
    def open_count(self) -> int:
        return len(self._conns)

    def _open(self, kind: str) -> _Conn:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.setblocking(False)
        conn = _Conn(kind, sock)
        if kind == "stalled":
            sock.send(_STALL)
        elif kind == "trickling":
            self._trickle(conn)
        return conn

    def _trickle(self, conn: _Conn) -> None:
        conn.sock.send(_TRICKLE[conn.sent % len(_TRICKLE) : conn.sent % len(_TRICKLE) + 1])
        conn.sent += 1

    def _tick(self) -> None:
        while not self._stop.wait(self.interval_s):
            for index, conn in zip(itertools.count(), self._conns, strict=False):
                if self._closed_by_server(conn):
                    conn.sock.close()
                    self._conns[index] = self._open(conn.kind)
                    self.reopened += 1
                elif conn.kind == "trickling":
                    try:
                        self._trickle(conn)
                    except OSError:
                        conn.sock.close()
                        self._conns[index] = self._open(conn.kind)
                        self.reopened += 1

    @staticmethod
    def _closed_by_server(conn: _Conn) -> bool:
        readable, _, _ = select.select([conn.sock], [], [], 0)
        if not readable:
            return False
        try:
            return conn.sock.recv(65536) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
