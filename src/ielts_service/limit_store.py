"""The Redis rate-limit store, asked about each counter once per request.

Within one request the limiter asks about the same counters more than once: a test or a
hit, then the window for the X-RateLimit-* and X-TokenBudget-* headers. Here a hit returns
the counter's value and time to live in one round trip, a read fetches both in one, and the
request remembers them: later reads of that counter in the request answer what this request
last counted or read. A request may also name a counter it is about to read (`read_ahead`:
the key's token budget, tested right after its request limit is hit); the next hit fetches
it in the same round trip. Every hit and every first read goes to Redis, so limits stay
shared across workers and replicas.

The memory is a context variable (per greenlet under gevent, per thread under threads),
opened and dropped by request hooks; outside a request every call goes to Redis. memory://
keeps limits' own counting: in process, remembering saved nothing measurable there.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from limits.storage import RedisStorage

PREFIX = "memo+"

Counter = tuple[int, float]  # value, expiry (epoch seconds)
_memo: ContextVar[dict[str, Counter] | None] = ContextVar("ratelimit_memo", default=None)
_ahead: ContextVar[tuple[str, ...]] = ContextVar("ratelimit_read_ahead", default=())

# limits' incr_expire.lua, answering the counter's time to live with its value, then the
# value and time to live of each further key (the counters read ahead).
_INCR_TTL = b"""
local current = redis.call("incrby", KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
local answer = {current, redis.call("ttl", KEYS[1])}
for i = 2, #KEYS do
    answer[#answer + 1] = tonumber(redis.call("get", KEYS[i])) or 0
    answer[#answer + 1] = redis.call("ttl", KEYS[i])
end
return answer
"""
_GET_TTL = b"""
return {tonumber(redis.call("get", KEYS[1])) or 0, redis.call("ttl", KEYS[1])}
"""


def open_request_memo() -> None:
    """Before a request: its counters are remembered from here on."""
    _memo.set({})


def close_request_memo(_exc: BaseException | None) -> None:
    """After a request: the next one asks Redis afresh."""
    _memo.set(None)
    _ahead.set(())


def read_ahead(*keys: str) -> None:
    """The request is about to read these counters (limits' storage keys): the next hit
    fetches them in its own round trip."""
    _ahead.set(keys)


def _counter(value: int, ttl: int) -> Counter:
    return int(value), time.time() + max(int(ttl), 0)  # as RedisStorage.get_expiry counts


class MemoRedisStorage(RedisStorage):
    """`memo+redis://`, `memo+rediss://`: limits' Redis storage, remembered per request."""

    STORAGE_SCHEME = [f"{PREFIX}redis", f"{PREFIX}rediss"]  # noqa: RUF012 (limits' registry)

    def __init__(self, uri: str, **options: Any) -> None:
        super().__init__(uri.removeprefix(PREFIX), **options)
        self._incr_ttl = self.get_connection().register_script(_INCR_TTL)
        self._get_ttl = self.get_connection().register_script(_GET_TTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        memo = _memo.get()
        ahead = () if memo is None else tuple(k for k in _ahead.get() if k != key)
        keys = [self.prefixed_key(k) for k in (key, *ahead)]
        answer = self._incr_ttl(keys, [expiry, amount])
        counter = _counter(*answer[:2])
        if memo is not None:
            _ahead.set(())
            memo[key] = counter
            for n, read in enumerate(ahead, 1):
                memo[read] = _counter(*answer[2 * n : 2 * n + 2])
        return counter[0]

    def get(self, key: str) -> int:
        return self._read(key)[0]

    def get_expiry(self, key: str) -> float:
        return self._read(key)[1]

    def clear(self, key: str) -> None:
        if (memo := _memo.get()) is not None:
            memo.pop(key, None)
        super().clear(key)

    def reset(self) -> int | None:
        if (memo := _memo.get()) is not None:
            memo.clear()
        return super().reset()

    def _read(self, key: str) -> Counter:
        memo = _memo.get()
        if memo is not None and (known := memo.get(key)) is not None:
            return known
        counter = _counter(*self._get_ttl([self.prefixed_key(key)]))
        if memo is not None:
            memo[key] = counter
        return counter
