"""Token-budget use per key, computed at scrape time from the key table and the limiter's store.

Every worker that answers a scrape reads the same shared state, so the numbers are the same
whichever worker answers (under gunicorn nothing is summed per worker). Cardinality is bounded:
only keys with a budget, the METRICS_MAX_KEYS most used by their own name, the rest summed
under key_id="other".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from . import keys, limits, metrics
from .clock import now
from .db import get_engine
from .state import get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Spend:
    key_id: str
    used: int
    limit: int

    @property
    def ratio(self) -> float:
        return self.used / self.limit if self.limit else 0.0


def top_and_other(spends: list[Spend], top: int) -> list[Spend]:
    """The `top` spends by ratio (then tokens), and the rest summed as key_id 'other'."""
    ranked = sorted(spends, key=lambda s: (s.ratio, s.used, s.key_id), reverse=True)
    kept, rest = ranked[:top], ranked[top:]
    if rest:
        kept.append(Spend("other", sum(s.used for s in rest), sum(s.limit for s in rest)))
    return kept


class BudgetUse(Collector):
    """ielts_key_token_budget_{used_ratio,used_tokens,limit_tokens} by key_id."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        families = self._families()
        try:
            with self._app.app_context():
                spends = self._spends()
        except Exception:  # a store or database failure must not fail the whole scrape
            log.warning("token budget metrics left out: keys or rate-limit store unreadable")
            return families
        top = get_settings(self._app).METRICS_MAX_KEYS
        ratio, used, limit = families
        for spend in top_and_other(spends, top):
            ratio.add_metric([spend.key_id], spend.ratio)
            used.add_metric([spend.key_id], spend.used)
            limit.add_metric([spend.key_id], spend.limit)
        return families

    def _spends(self) -> list[Spend]:
        moment = now()
        spends = []
        for key in keys.list_keys(get_engine()):
            if key.revoked_at or (key.expires_at and key.expires_at <= moment):
                continue
            state = limits.budget_state(key)
            if state is not None:
                spends.append(Spend(key.id, state.used, state.limit))
        return spends

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "ielts_key_token_budget_used_ratio",
                "Share of the daily token budget used in the current window (keys with a budget).",
                labels=["key_id"],
            ),
            GaugeMetricFamily(
                "ielts_key_token_budget_used_tokens",
                "Tokens used in the current budget window (keys with a budget).",
                labels=["key_id"],
            ),
            GaugeMetricFamily(
                "ielts_key_token_budget_limit_tokens",
                "Daily token budget (keys with a budget).",
                labels=["key_id"],
            ),
        ]


def init_app(app: Flask) -> None:
    metrics.add_scrape_time_collector(app, BudgetUse(app))
