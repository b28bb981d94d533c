"""A monitoring stack of real processes: gunicorn (2 workers) in front of the fake Azure upstream,
and Prometheus with the project's config and generated rules, scraping every second.

Used by the end-to-end monitoring tests and by `make dashboard-snapshot`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.azure import FakeAzureServer
from tests.monitoring_helpers import PROMETHEUS_CONFIG, http_json
from tests.processes import (
    Prometheus,
    flask_cli,
    service_env,
    start_gunicorn,
    start_prometheus,
    stop_group,
)

Call = tuple[str, dict[str, Any], str]  # path, JSON body, API key
# Service settings of the stack; callers may override them (e.g. a longer upstream timeout).
SERVICE_SETTINGS = {
    "AI_PROVIDER": "azure",
    "AZURE_OPENAI_API_KEY": "fake-azure-key-0123456789abcdef",
    "AZURE_OPENAI_DEPLOYMENT": "gpt-4o-test",
    "AZURE_OPENAI_TIMEOUT_S": "2",
    "AZURE_OPENAI_MAX_RETRIES": "1",
    "RATE_LIMIT_DEFAULT": "10000/minute",
    "RATE_LIMIT_UNAUTHENTICATED": "10000/minute",
}


@dataclass
class Stack:
    service_url: str
    upstream_url: str
    prometheus: Prometheus
    key: str
    limited_key: str
    metrics_dir: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.prometheus.api("query", query=expr)["result"]
        return result

    def set_upstream(self, **control: Any) -> None:
        status, _ = http_json(f"{self.upstream_url}/_control", control)
        assert status == 200


@dataclass
class Traffic:
    """What was sent to the API routes, and what came back."""

    statuses: Counter[int] = field(default_factory=Counter)
    ai_successes: int = 0
    tokens: int = 0

    def send(self, stack: Stack, path: str, body: dict[str, Any], key: str) -> int:
        status, reply = http_json(
            f"{stack.service_url}{path}", body, {"Authorization": f"Bearer {key}"}, timeout=30
        )
        self.statuses[status] += 1
        if status == 200:
            data = reply["data"]
            self.ai_successes += 3 if path == "/v1/speaking-tests" else 1
            self.tokens += data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"]
        return status


def prometheus_config(target: str) -> dict[str, Any]:
    """The project's prometheus.yml, scraping TARGET every second, without Alertmanager."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
    config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / rule) for rule in config["rule_files"]]
    config.pop("alerting")
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target], "labels": {"deployment": "local"}}]
    return config


def _create_key(workdir: Path, env: dict[str, str], name: str, *options: str) -> str:
    result = flask_cli(
        workdir, env, "keys", "create", name, "--scopes", "questions:generate", "--json", *options
    )
    key: str = json.loads(result.stdout)["key"]
    return key


@contextmanager
def running_stack(workdir: Path, **settings: str) -> Iterator[Stack]:
    """Start the upstream, the service and Prometheus in WORKDIR; stop them all on exit."""
    with ExitStack() as cleanup:
        upstream = FakeAzureServer().start()
        cleanup.callback(upstream.server_close)
        cleanup.callback(upstream.shutdown)
        env = service_env(
            workdir,
            **{**SERVICE_SETTINGS, **settings},
            AZURE_OPENAI_ENDPOINT=upstream.url,
            DATABASE_URL=f"sqlite:///{workdir}/service.db",
        )
        key = _create_key(workdir, env, "monitoring")
        limited_key = _create_key(workdir, env, "limited", "--rate-limit", "2/minute")
        service = start_gunicorn(workdir, env)
        cleanup.callback(stop_group, service.process)
        (workdir / "prometheus").mkdir()
        config = prometheus_config(service.url.removeprefix("http://"))
        prometheus = start_prometheus(workdir / "prometheus", config)
        cleanup.callback(stop_group, prometheus.process)
        yield Stack(
            service.url,
            upstream.url,
            prometheus,
            key,
            limited_key,
            Path(env["PROMETHEUS_MULTIPROC_DIR"]),
        )


def healthy_calls(stack: Stack) -> list[Call]:
    """Questions of every part, speaking tests, the old path, bad keys and a rate-limited key."""
    calls: list[Call] = [
        ("/v1/questions", {"topic": "a memorable trip", "part": 1 + i % 3}, stack.key)
        for i in range(18)
    ]
    calls += [
        ("/v1/speaking-tests", {"topic": "a book", "part1_count": 2, "part3_count": 2}, stack.key)
    ] * 3
    calls += [("/generate-question", {"topic": "a friend"}, stack.key)] * 3
    calls += [("/v1/questions", {"topic": "a trip"}, "not-a-valid-key")] * 5
    calls += [("/v1/questions", {"topic": "a trip"}, stack.limited_key)] * 8
    return calls


def send_concurrently(stack: Stack, traffic: Traffic, calls: list[Call], workers: int = 8) -> None:
    """Send CALLS over WORKERS connections, so both gunicorn workers serve and scrapes sum them."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda call: traffic.send(stack, *call), calls))


def send_for(
    stack: Stack, traffic: Traffic, calls: list[Call], seconds: float, workers: int = 8
) -> None:
    """Cycle through CALLS on WORKERS connections until SECONDS have passed."""
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        index = offset
        while time.monotonic() < deadline:
            traffic.send(stack, *calls[index % len(calls)])
            index += workers

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(worker, range(workers)))
