"""The circuit breaker's state machine, on a fake clock."""

from __future__ import annotations

from ielts_service.ai.circuit import CircuitBreaker, State


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(failures: int = 3, cooldown: float = 10.0) -> tuple[CircuitBreaker, Clock, list[State]]:
    clock, changes = Clock(), []
    breaker = CircuitBreaker(failures, cooldown, on_change=changes.append, clock=clock)
    return breaker, clock, changes


def test_opens_after_n_consecutive_failures() -> None:
    breaker, _, changes = make(failures=3)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is State.OPEN
    assert not breaker.allow()
    assert changes == [State.OPEN]


def test_a_success_resets_the_count() -> None:
    breaker, _, _ = make(failures=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is State.CLOSED


def test_half_open_allows_one_trial_after_cooldown() -> None:
    breaker, clock, _ = make(failures=1, cooldown=10)
    breaker.record_failure()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.state is State.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow()  # only one trial in flight


def test_failed_trial_reopens_and_successful_trial_closes() -> None:
    breaker, clock, changes = make(failures=1, cooldown=10)
    breaker.record_failure()
    clock.now = 10
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is State.OPEN
    assert breaker.retry_after_s() == 10
    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is State.CLOSED
    assert changes == [State.OPEN, State.HALF_OPEN, State.OPEN, State.HALF_OPEN, State.CLOSED]
