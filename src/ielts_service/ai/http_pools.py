"""The upstream HTTP transport: several small connection pools instead of one large one.

httpcore walks its whole pool on every request it assigns and every response it releases,
under one lock. With hundreds of calls in flight per worker that walk costs more than the
rest of the call. Shared out round-robin over a few pools, each walk covers a fraction.
"""

from __future__ import annotations

import itertools

import httpx2

POOLS = 16


class PooledTransport(httpx2.BaseTransport):
    """Requests go round-robin to `pools` HTTP transports that share one TLS context and
    split `max_connections` between them."""

    def __init__(self, max_connections: int, pools: int = POOLS) -> None:
        pools = min(pools, max_connections)
        per_pool = -(-max_connections // pools)  # ceiling: together at least the maximum
        limits = httpx2.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        tls = httpx2.create_ssl_context()
        self._transports = [httpx2.HTTPTransport(verify=tls, limits=limits) for _ in range(pools)]
        self._next = itertools.cycle(self._transports).__next__

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return self._next().handle_request(request)

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
