"""Two replicas on one host, as on Kubernetes: one PostgreSQL, one Redis, one Prometheus.

Each replica is an independent gunicorn (own port, control socket, metrics dir, log file).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes import (
    ROOT,
    Gunicorn,
    Prometheus,
    flask_cli,
    http_status,
    post_question,
    service_env,
    start_gunicorn,
    start_prometheus,
    stop_group,
    wait_until,
)
from tests.services import require_service

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

KEY_LIMIT = 5
REQUESTS = 12


@dataclass
class Replicas:
    """Two running instances, and how to run the CLI against the database they share."""

    instances: list[Gunicorn]
    workdir: Path
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        return flask_cli(self.workdir, self.env, *args).stdout


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, pg_module_schema_url: str, redis_url: str
) -> Iterator[Replicas]:
    """Migrate once, start two gunicorn instances on one schema and one Redis."""
    workdir = tmp_path_factory.mktemp("scale-out")
    shared = {
        "DATABASE_URL": pg_module_schema_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "AUTO_MIGRATE": "false",
    }
    (workdir / "admin").mkdir()
    admin_env = service_env(workdir / "admin", **shared)
    flask_cli(workdir / "admin", admin_env, "db", "upgrade")
    instances: list[Gunicorn] = []
    try:
        for name in ("replica-a", "replica-b"):
            (workdir / name).mkdir()
            instances.append(start_gunicorn(workdir / name, service_env(workdir / name, **shared)))
        yield Replicas(instances, workdir / "admin", admin_env)
    finally:
        for instance in instances:
            stop_group(instance.process)


@pytest.fixture
def key(replicas: Replicas) -> str:
    """A new key limited to 5/minute: each test starts with the whole allowance."""
    name = f"scale-out-{uuid.uuid4().hex[:8]}"
    created = replicas.cli("keys", "create", name, "--rate-limit", f"{KEY_LIMIT}/minute", "--json")
    secret: str = json.loads(created)["key"]
    return secret


def send_traffic(replicas: Replicas, key: str) -> list[tuple[int, int]]:
    """REQUESTS questions, alternating between the replicas: (replica index, status) each."""
    return [(i % 2, post_question(replicas.instances[i % 2].url, key)) for i in range(REQUESTS)]


def test_a_key_limit_holds_across_replicas(replicas: Replicas, key: str) -> None:
    results = send_traffic(replicas, key)
    assert sorted(status for _, status in results) == [200] * KEY_LIMIT + [429] * (
        REQUESTS - KEY_LIMIT
    )
    # Alternating requests: each replica served some of the allowance itself.
    assert {replica for replica, status in results if status == 200} == {0, 1}


def test_the_audit_chain_both_replicas_wrote_verifies(replicas: Replicas, key: str) -> None:
    before = json.loads(replicas.cli("audit", "verify", "--json"))["checked"]
    answered = sum(1 for _, status in send_traffic(replicas, key) if 200 <= status < 300)
    verdict = json.loads(replicas.cli("audit", "verify", "--json"))
    assert verdict["ok"] is True
    # One record for every answer, whichever replica gave it.
    assert verdict["checked"] - before == answered == KEY_LIMIT


# --- one Prometheus, two targets, the project's recording rules --------------------------------


@pytest.fixture
def prometheus(tmp_path: Path, replicas: Replicas) -> Iterator[Prometheus]:
    """Prometheus scraping both replicas every second, with monitoring/prometheus/rules."""
    require_service("Prometheus", None if shutil.which("prometheus") else "not installed")
    targets = [instance.url.removeprefix("http://") for instance in replicas.instances]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ROOT / "monitoring" / "prometheus" / "rules" / "*.yml")],
        # The job name the rules select on (see monitoring/prometheus/prometheus.yml).
        "scrape_configs": [{"job_name": "ielts-service", "static_configs": [{"targets": targets}]}],
    }
    (tmp_path / "prometheus").mkdir()
    server = start_prometheus(tmp_path / "prometheus", config)
    try:
        yield server
    finally:
        stop_group(server.process)


def scalar(prometheus: Prometheus, query: str, at: float | None = None) -> float:
    """The value of a single-series instant query, at time AT (default: now)."""
    params = {"query": query} if at is None else {"query": query, "time": repr(at)}
    result = prometheus.api("query", **params)["result"]
    assert len(result) == 1, (query, result)
    return float(result[0]["value"][1])


def targets_up(prometheus: Prometheus) -> int:
    targets: list[dict[str, Any]] = prometheus.api("targets")["activeTargets"]
    return sum(1 for target in targets if target["health"] == "up")


def send_traffic_over_several_scrapes(replicas: Replicas, key: str) -> None:
    """The same questions, plus probes of both replicas, spread over a few scrape intervals.

    A counter's first sample only creates its series; rate() sees increments after it.
    """
    for i in range(REQUESTS):
        post_question(replicas.instances[i % 2].url, key)
        for instance in replicas.instances:
            http_status(f"{instance.url}/healthz")
        time.sleep(0.3)


def test_prometheus_sums_both_replicas_in_the_recording_rule(
    replicas: Replicas, key: str, prometheus: Prometheus
) -> None:
    wait_until(lambda: targets_up(prometheus) == 2, 30, "both replicas to be scraped")
    posts = 'sum(flask_http_request_total{method="POST"}) or vector(0)'
    before = scalar(prometheus, posts)  # the module's earlier tests posted too
    send_traffic_over_several_scrapes(replicas, key)
    wait_until(
        lambda: scalar(prometheus, posts) == before + REQUESTS, 30, "the traffic to be scraped"
    )
    # A scrape that started before an evaluation but landed after it is missing from that
    # evaluation and present in a later query for the same time, which moves rate()'s
    # extrapolation by up to ~15 % on a loaded machine. Traffic is split evenly, so a rule
    # that saw one replica would record half the sum: 25 % tells the two apart.
    comparisons = [rule_and_targets(prometheus, after=time.time()) for _ in range(3)]
    expected = {instance.url.removeprefix("http://") for instance in replicas.instances}
    for rates, _ in comparisons:
        assert set(rates) == expected
        assert all(rate > 0 for rate in rates.values())
    assert all(
        recorded == pytest.approx(sum(rates.values()), rel=0.25) for rates, recorded in comparisons
    ), comparisons


def rule_and_targets(prometheus: Prometheus, after: float) -> tuple[dict[str, float], float]:
    """At the recording rule's first evaluation after AFTER: each target's request rate, and
    what the rule recorded."""
    recorded_at = "max(timestamp(ielts:http_requests:rate1m)) or vector(0)"
    wait_until(
        lambda: scalar(prometheus, recorded_at) > after + 1,
        30,
        "the recording rule to be evaluated on the scraped traffic",
    )
    at = scalar(prometheus, recorded_at)
    per_target = prometheus.api(
        "query", query="sum by (instance) (rate(flask_http_request_total[1m]))", time=repr(at)
    )["result"]
    rates = {sample["metric"]["instance"]: float(sample["value"][1]) for sample in per_target}
    return rates, scalar(prometheus, "sum(ielts:http_requests:rate1m)", at)
