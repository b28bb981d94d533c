"""End to end: gunicorn (2 workers) + fake Azure + a real Prometheus with the project's rules.

One scenario runs once per module: healthy traffic, then upstream failures. The tests then
check what Prometheus saw: the target, the counters, every dashboard query and the alert
expressions.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from scripts.generate_rules import links

from tests.monitoring_helpers import JOB, RUNBOOKS, alert_rules, dashboard_queries, with_variables
from tests.monitoring_stack import (
    Stack,
    Traffic,
    healthy_calls,
    running_stack,
    send_concurrently,
)
from tests.processes import wait_until
from tests.services import require_service

pytestmark = pytest.mark.e2e

API_ROUTES = 'url_rule=~"/v1/.+|/generate-question"'
# Alerts whose expressions must be false on healthy traffic and true while the upstream fails.
# Their windows (5m … 3d) reach back before the service started, so over a run of seconds
# every window holds the same data: the rules' own expressions and thresholds are queried as
# they are, and `for:` durations (not part of the expression) need not elapse.
WATCHED_ALERTS = [
    "AIUpstreamFailing",
    "AvailabilityBudgetBurnFast",
    "AvailabilityBudgetBurnSlow",
    "AICircuitOpen",
]
ALERT_EXPRESSIONS = {rule["alert"]: rule["expr"] for rule in alert_rules()}


@dataclass
class Scenario:
    traffic: Traffic
    healthy: dict[str, list[dict[str, Any]]]
    failing: dict[str, list[dict[str, Any]]]
    # Tokens after the healthy phase: answered by the service vs counted by Prometheus. (Later,
    # rejected replies use tokens too, which no answer reports.)
    healthy_tokens: tuple[int, float]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_service("Prometheus", None if shutil.which("prometheus") else "not installed")
    with running_stack(tmp_path_factory.mktemp("monitoring-e2e")) as stack:
        yield stack


def _alert_results(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    return {name: stack.query(ALERT_EXPRESSIONS[name]) for name in WATCHED_ALERTS}


def _api_requests_seen(stack: Stack) -> int:
    result = stack.query(f"sum(flask_http_request_duration_seconds_count{{{API_ROUTES}}})")
    return int(float(result[0]["value"][1])) if result else 0


def _sli_evaluated(stack: Stack) -> bool:
    """Whether the rules already computed the SLIs the watched alerts read."""
    return all(
        stack.query(f'{name}{{job="{JOB}"}}')
        for name in (
            "ielts:availability_errors:ratio_rate1d",
            "ielts:ai_requests:upstream_failure_ratio_rate5m",
        )
    )


def _fail_until_alerts_hold(stack: Stack, traffic: Traffic) -> dict[str, list[dict[str, Any]]]:
    """Send failing requests until every watched expression holds (or 60 s pass)."""
    stack.set_upstream(mode="invalid_output", times=1)
    traffic.send(stack, "/v1/questions", {"topic": "a trip"}, stack.key)
    stack.set_upstream(mode="error")
    results: dict[str, list[dict[str, Any]]] = {}

    def failing_enough() -> bool:
        nonlocal results
        traffic.send(stack, "/v1/questions", {"topic": "a trip"}, stack.key)
        results = _alert_results(stack)
        return all(results.values())

    # On a timeout the tests below name the expressions that never held.
    with suppress(AssertionError):
        wait_until(failing_enough, 60, "the watched alert expressions to hold")
    return results


@pytest.fixture(scope="module")
def scenario(stack: Stack) -> Scenario:
    traffic = Traffic()
    send_concurrently(stack, traffic, healthy_calls(stack))
    sent = sum(traffic.statuses.values())
    wait_until(
        lambda: _api_requests_seen(stack) == sent and _sli_evaluated(stack),
        30,
        "Prometheus to scrape the healthy traffic and evaluate the rules",
    )
    healthy = _alert_results(stack)
    tokens = (traffic.tokens, float(stack.query("sum(ielts_ai_tokens_total)")[0]["value"][1]))
    failing = _fail_until_alerts_hold(stack, traffic)
    sent = sum(traffic.statuses.values())
    wait_until(lambda: _api_requests_seen(stack) == sent, 30, "the last scrape")
    return Scenario(traffic, healthy, failing, tokens)


def test_target_is_up(stack: Stack, scenario: Scenario) -> None:
    result = stack.query(f'up{{job="{JOB}"}}')
    assert [sample["value"][1] for sample in result] == ["1"]


def test_both_workers_served_requests(stack: Stack, scenario: Scenario) -> None:
    served = []
    for worker_file in stack.metrics_dir.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(worker_file)])
        served.append(
            sum(
                sample.value
                for metric in metrics
                if metric.name == "flask_http_request"
                for sample in metric.samples
                if sample.name.endswith("_total")
            )
        )
    assert len([count for count in served if count > 0]) == 2, served


def test_metrics_of_two_workers_pass_promtool_check(stack: Stack) -> None:
    with urllib.request.urlopen(f"{stack.service_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_requests_by_status_equal_requests_sent(stack: Stack, scenario: Scenario) -> None:
    result = stack.query(
        f"sum by (status) (flask_http_request_duration_seconds_count{{{API_ROUTES}}})"
    )
    seen = {int(s["metric"]["status"]): int(float(s["value"][1])) for s in result}
    assert seen == dict(scenario.traffic.statuses)


def test_successful_ai_calls_equal_questions_served(stack: Stack, scenario: Scenario) -> None:
    result = stack.query('sum(ielts_ai_requests_total{outcome="success"})')
    assert int(float(result[0]["value"][1])) == scenario.traffic.ai_successes


def test_token_counter_equals_usage_reported(scenario: Scenario) -> None:
    answered, counted = scenario.healthy_tokens
    assert counted == answered > 0


def test_traffic_had_every_kind_of_answer(scenario: Scenario) -> None:
    assert {200, 401, 429, 502} <= set(scenario.traffic.statuses)


@pytest.mark.parametrize(
    ("panel", "expr"), dashboard_queries(), ids=[panel for panel, _ in dashboard_queries()]
)
def test_dashboard_query_returns_data(
    stack: Stack, scenario: Scenario, panel: str, expr: str
) -> None:
    assert stack.query(with_variables(expr)) != [], panel


@pytest.mark.parametrize("alert", WATCHED_ALERTS)
def test_alert_expression_is_false_on_healthy_traffic(scenario: Scenario, alert: str) -> None:
    assert scenario.healthy[alert] == []


@pytest.mark.parametrize("alert", WATCHED_ALERTS)
def test_alert_expression_is_true_during_upstream_failures(scenario: Scenario, alert: str) -> None:
    assert [sample["metric"].get("job") for sample in scenario.failing[alert]] == [JOB]


def test_prometheus_serves_runbook_links_that_open(stack: Stack) -> None:
    loaded = [
        rule
        for group in stack.prometheus.api("rules", type="alert")["groups"]
        for rule in group["rules"]
    ]
    base = links()["runbooks"]
    urls = {rule["name"]: rule["annotations"]["runbook_url"] for rule in loaded}
    assert set(urls) == set(ALERT_EXPRESSIONS)
    assert {name for name, url in urls.items() if not url.startswith(base)} == set()
    assert [u for u in urls.values() if not (RUNBOOKS / u.removeprefix(base)).is_file()] == []
