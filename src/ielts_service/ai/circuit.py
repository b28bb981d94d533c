"""A per-process circuit breaker around the upstream model."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import IntEnum


class State(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Opens after `failures` consecutive failures; after `cooldown_s` lets one trial call through.

    A success closes it; a failed trial opens it again for another cool-down.
    """

    def __init__(
        self,
        failures: int,
        cooldown_s: float,
        *,
        on_change: Callable[[State], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failures
        self._cooldown_s = cooldown_s
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._state = State.CLOSED
        self._consecutive_failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> State:
        with self._lock:
            if self._state is State.OPEN and self._cooled_down():
                return State.HALF_OPEN
            return self._state

    def retry_after_s(self) -> int:
        """Seconds until a trial call will be allowed."""
        with self._lock:
            return max(1, round(self._opened_at + self._cooldown_s - self._clock()))

    def allow(self) -> bool:
        """Whether a call may go upstream now."""
        with self._lock:
            if self._state is State.CLOSED:
                return True
            if self._state is State.OPEN and self._cooled_down():
                self._set(State.HALF_OPEN)
            if self._state is State.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._consecutive_failures = 0
            self._trial_in_flight = False
            self._set(State.CLOSED)

    def record_failure(self) -> None:
        with self._lock:
            self._consecutive_failures += 1
            self._trial_in_flight = False
            if self._state is State.HALF_OPEN or self._consecutive_failures >= self._threshold:
                self._opened_at = self._clock()
                self._set(State.OPEN)

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self._cooldown_s

    def _set(self, state: State) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change:
                self._on_change(state)
