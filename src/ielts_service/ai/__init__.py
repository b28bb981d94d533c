"""Question providers behind one interface: Azure OpenAI, or the offline topic bank."""

from __future__ import annotations

import weakref

from flask import Flask, current_app

from ..config import Settings
from .circuit import CircuitBreaker, State
from .types import QuestionProvider

__all__ = ["QuestionProvider", "build_provider", "get_provider", "init_app"]


def build_provider(settings: Settings) -> QuestionProvider:
    """The provider the settings choose."""
    if settings.provider == "offline":
        from .offline import OfflineProvider

        return OfflineProvider()
    from .. import metrics
    from .azure import AzureProvider

    breaker = CircuitBreaker(
        settings.CIRCUIT_BREAKER_FAILURES,
        settings.CIRCUIT_BREAKER_COOLDOWN_S,
        on_change=metrics.record_circuit_state,
    )
    metrics.record_circuit_state(State.CLOSED)
    return AzureProvider(settings, breaker)


def init_app(app: Flask, settings: Settings) -> None:
    provider = build_provider(settings)
    app.extensions["question_provider"] = provider
    # The client lives as long as the app; close its pooled connections with it.
    weakref.finalize(app, provider.close)


def get_provider() -> QuestionProvider:
    provider: QuestionProvider = current_app.extensions["question_provider"]
    return provider
