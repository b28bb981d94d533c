"""Prometheus metrics: the service's own (module constants) and the HTTP ones of the exporter.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR switches to multiprocess mode: every worker writes
its samples to that directory and one scrape of any worker sums them.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from .config import Settings
from .errors import ApiError

AI_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 12, 20, 30, 45, 60)
HTTP_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

AI_REQUESTS = Counter(
    "ielts_ai_requests_total",
    "Question-provider calls by outcome (success or the error code).",
    ["provider", "model", "part", "outcome"],
)
AI_LATENCY = Histogram(
    "ielts_ai_request_duration_seconds",
    "Latency of provider calls, retries included.",
    ["provider", "model", "part"],
    buckets=AI_LATENCY_BUCKETS,
)
AI_OUTPUT_REJECTED = Counter(
    "ielts_ai_output_rejected_total",
    "Model replies not served: invalid format, cut short (length) or content-filtered.",
    ["provider", "reason"],
)
AI_OUTPUT_OFFTOPIC = Counter(
    "ielts_ai_output_offtopic_total",
    "Replies served whose part mentions neither the topic nor its theme.",
    ["provider", "part"],
)
AI_TOPIC_MATCH = Counter(
    "ielts_ai_topic_match_total",
    "Offline-provider calls by how the topic matched: exact, kind, theme or fallback.",
    ["match"],
)
AI_TOKENS = Counter(
    "ielts_ai_tokens_total", "Tokens used by provider calls.", ["provider", "model", "type"]
)
AI_RETRIES = Counter(
    "ielts_ai_retries_total", "Upstream retries made by the SDK.", ["provider", "model"]
)
CIRCUIT_STATE = Gauge(
    "ielts_ai_circuit_state",
    "Circuit breaker state: 0 closed, 1 half-open, 2 open (worst worker).",
    ["provider"],
    multiprocess_mode="livemax",
)
RATE_LIMIT_REJECTIONS = Counter(
    "ielts_ratelimit_rejections_total",
    "Requests refused by a limit.",
    ["limit"],
)
RATE_LIMIT_FALLBACK = Gauge(
    "ielts_ratelimit_storage_fallback",
    "1 while a worker limits from its in-memory fallback because the shared store failed.",
    multiprocess_mode="livemax",
)
AUTH_FAILURES = Counter("ielts_auth_failures_total", "Refused credentials by reason.", ["reason"])
AUDIT_WRITES = Counter("ielts_audit_writes_total", "Audit record commits by outcome.", ["outcome"])
AUDIT_ABANDONED = Counter(
    "ielts_audit_abandoned_calls_total",
    "Model calls whose worker died before their audit record; closed by the sweep as abandoned.",
)
AUDIT_WRITE_LATENCY = Histogram(
    "ielts_audit_write_duration_seconds",
    "Time to append one audit record (chain lock included).",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
BUILD_INFO = Gauge(
    "ielts_build_info",
    "Always 1; the labels say what is running.",
    ["version", "environment", "provider"],
    multiprocess_mode="max",
)


def record_circuit_state(state: int) -> None:
    CIRCUIT_STATE.labels(provider="azure").set(int(state))


class _MultiprocessExporter(GunicornInternalPrometheusMetrics):  # type: ignore[misc]
    """The gunicorn exporter, plus collectors computed at scrape time from shared state.

    The library builds a fresh registry per scrape from the workers' files; collectors that
    read the database or the rate-limit store join that registry here, once per scrape.
    """

    scrape_time_collectors: list[Collector]

    def generate_metrics(
        self, accept_header: str | None = None, names: list[str] | None = None
    ) -> tuple[str, str]:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        for collector in self.scrape_time_collectors:
            registry.register(collector)
        encode, content_type = choose_encoder(accept_header or "")
        chosen = registry.restricted_registry(names) if names else registry
        return encode(chosen).decode("utf-8"), content_type


def add_scrape_time_collector(app: Flask, collector: Collector) -> None:
    """Expose `collector` on the app's /metrics, collected afresh at every scrape."""
    exporter = app.extensions["prometheus_exporter"]
    if isinstance(exporter, _MultiprocessExporter):
        exporter.scrape_time_collectors.append(collector)
    else:
        exporter.registry.register(collector)


class _ServiceMetrics(Collector):
    """Exposes the module-level metrics through an app's own registry (single-process mode)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def _token_guard(settings: Settings) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator for /metrics: a bearer token is required when METRICS_TOKEN is set."""
    token = settings.METRICS_TOKEN.get_secret_value() if settings.METRICS_TOKEN else None

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
            valid = scheme.lower() == "bearer" and hmac.compare_digest(
                offered.strip().encode(), (token or "").encode()
            )
            if token and not valid:
                raise ApiError(
                    401,
                    "unauthorized",
                    "a metrics token is required",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return view(*args, **kwargs)

        return guarded

    return decorate


def init_app(app: Flask, settings: Settings, version: str) -> None:
    options: dict[str, Any] = {
        "group_by": "url_rule",
        "buckets": HTTP_LATENCY_BUCKETS,
        "metrics_decorator": _token_guard(settings),
    }
    exporter: PrometheusMetrics
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        exporter = _MultiprocessExporter.for_app_factory(**options)
        exporter.scrape_time_collectors = []
    else:
        registry = CollectorRegistry(auto_describe=True)
        registry.register(_ServiceMetrics())
        exporter = PrometheusMetrics.for_app_factory(registry=registry, **options)
    exporter.init_app(app)
    app.extensions["prometheus_exporter"] = exporter
    # Export the failure series at 0 from the start: otherwise the first failure creates the
    # series at 1, and increase()/rate() (the AuditWriteFailure and off-topic alerts) never
    # see it happen.
    AUDIT_WRITES.labels(outcome="failure")
    for part in ("1", "2", "3"):
        AI_OUTPUT_OFFTOPIC.labels(provider=settings.provider, part=part)
    if settings.provider == "offline":
        AI_TOPIC_MATCH.labels(match="fallback")
    BUILD_INFO.labels(
        version=version, environment=settings.APP_ENV, provider=settings.provider
    ).set(1)
