"""The outcome of scheduled `audit verify --record` runs, read from the database at scrape time.

The verifier is a short-lived job (a CronJob, a compose service): rather than pushing its
result to a Pushgateway, it records each run in `audit_verifications`, and every service
instance, which Prometheus already scrapes, reports what that table says. The database is the
one place all replicas and runs share, so nothing is lost when a job pod or a replica goes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from flask import Flask
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from .. import metrics
from ..clock import as_utc
from ..tables import audit_chain, audit_verifications

log = logging.getLogger(__name__)


class VerificationCollector(Collector):
    """ielts_audit_verify_last_success_timestamp_seconds, _failures_total, chain head seq."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterable[Metric]:
        try:
            last_ok, failures, head = self._read()
        except sa.exc.SQLAlchemyError as exc:  # readiness and other alerts report the database
            log.warning("audit verification metrics unavailable: %s", type(exc).__name__)
            return []
        return [
            GaugeMetricFamily(
                "ielts_audit_verify_last_success_timestamp_seconds",
                "When the last successful audit chain verification finished (0: never).",
                value=last_ok,
            ),
            CounterMetricFamily(
                "ielts_audit_verify_failures",
                "Audit chain verifications that found a broken link or checkpoint.",
                value=failures,
            ),
            GaugeMetricFamily(
                "ielts_audit_chain_head_seq", "Sequence number of the newest audit record.", head
            ),
        ]

    def _read(self) -> tuple[float, int, int]:
        runs = sa.select(
            sa.func.max(audit_verifications.c.finished_at).filter(audit_verifications.c.ok),
            sa.func.count().filter(sa.not_(audit_verifications.c.ok)),
        )
        with self._engine.connect() as conn:
            last_ok, failures = conn.execute(runs).one()
            head = conn.execute(sa.select(audit_chain.c.head_seq)).scalar_one()
        return (as_utc(last_ok).timestamp() if last_ok else 0.0), int(failures), int(head)


def init_metrics(app: Flask, engine: Engine) -> None:
    """Report the verification table on the app's /metrics (after metrics.init_app)."""
    # At scrape time, also under gunicorn (where each scrape builds a registry of its own).
    metrics.add_scrape_time_collector(app, VerificationCollector(engine))
