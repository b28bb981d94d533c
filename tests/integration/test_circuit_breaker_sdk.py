"""The breaker around the real openai SDK: no exception leaves a half-open trial in flight."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ielts_service.ai.azure import AzureProvider
from ielts_service.ai.circuit import CircuitBreaker, State
from ielts_service.ai.types import UpstreamFailure
from ielts_service.config import Settings
from tests.fakes.azure import FakeAzure


class FlakyTokenProvider:
    """An Entra ID token provider that raises a non-SDK error while `failing` is set."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self) -> str:
        if self.failing:
            raise RuntimeError("token endpoint unreachable")
        return "fake-entra-token"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_exception_in_the_half_open_trial_reopens_the_breaker(
    make_settings: Callable[..., Settings],
    azure_settings: dict[str, Any],
    fake_azure: FakeAzure,
) -> None:
    settings = make_settings(
        **{
            **azure_settings,
            "AZURE_OPENAI_API_KEY": None,
            "AZURE_OPENAI_USE_ENTRA_ID": True,
            "AZURE_OPENAI_MAX_RETRIES": 0,
        }
    )
    clock, tokens = Clock(), FlakyTokenProvider()
    breaker = CircuitBreaker(1, 10, clock=clock)
    provider = AzureProvider(settings, breaker, token_provider=tokens)
    fake_azure.set(mode="error", times=1)
    with pytest.raises(UpstreamFailure):
        provider.generate("a memorable trip", 2)
    assert breaker.state is State.OPEN

    clock.now = 10  # the trial call fails outside the SDK's own errors
    tokens.failing = True
    with pytest.raises(RuntimeError):
        provider.generate("a memorable trip", 2)
    assert breaker.state is State.OPEN

    clock.now = 20  # the next trial reaches Azure and closes the breaker
    tokens.failing = False
    calls_before = fake_azure.stats()["requests"]
    provider.generate("a memorable trip", 2)
    assert fake_azure.stats()["requests"] == calls_before + 1
    assert breaker.state is State.CLOSED
    provider.close()
