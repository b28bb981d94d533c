"""Monitoring files: promtool and amtool pass, named metrics exist, every alert has a runbook."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from ielts_service import create_app, keys
from ielts_service.config import Settings
from ielts_service.db import get_engine_of
from tests.monitoring_helpers import (
    ALERTMANAGER_CONFIG,
    GENERATED_RULES,
    PROMETHEUS_CONFIG,
    RULE_FILES,
    RULE_TESTS,
    RUNBOOKS,
    alert_rules,
    dashboard_queries,
    dashboard_variable_queries,
    exposition_names,
    metric_names,
    recording_rules,
)

RUNBOOK_SECTIONS = ("## Meaning", "## First checks", "## Mitigations", "## Escalation")
# Series Prometheus itself adds for every target.
PROMETHEUS_SERIES = {"up"}
ALERT_NAMES = [rule["alert"] for rule in alert_rules()]


def run(command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _key(app: Flask, **options: Any) -> dict[str, str]:
    _, secret = keys.create_key(
        get_engine_of(app),
        name=f"k-{id(options)}-{len(options)}",
        scopes=["questions:generate"],
        **options,
    )
    return {"Authorization": f"Bearer {secret}"}


def _offline_traffic(app: Flask) -> None:
    client, auth = app.test_client(), _key(app)
    client.post("/v1/questions", json={"topic": "a trip"}, headers=auth)
    client.post("/v1/speaking-tests", json={"topic": "a trip"}, headers=auth)
    client.post("/v1/questions", json={"topic": "a trip"}, headers={"Authorization": "Bearer x"})
    limited = _key(app, rate_limit="1/minute")
    for _ in range(2):
        client.post("/v1/questions", json={"topic": "a trip"}, headers=limited)
    client.get("/no-such-path")


def _azure_traffic(app: Flask, fake_azure: Any) -> None:
    client, auth = app.test_client(), _key(app)
    client.post("/v1/questions", json={"topic": "a trip"}, headers=auth)
    fake_azure.set(mode="invalid_output", times=1)
    client.post("/v1/questions", json={"topic": "a trip"}, headers=auth)
    fake_azure.set(mode="error", times=2)  # the first attempt and its one retry
    client.post("/v1/questions", json={"topic": "a trip"}, headers=auth)


@pytest.fixture
def exported_metrics(
    make_settings: Callable[..., Settings],
    app: Flask,
    fake_azure: Any,
    azure_settings: dict[str, Any],
    tmp_path: Any,
) -> dict[str, str]:
    """/metrics of an offline and an Azure app after traffic through success and failure paths."""
    azure_app = create_app(
        make_settings(**azure_settings, DATABASE_URL=f"sqlite:///{tmp_path}/azure.db")
    )
    _offline_traffic(app)
    _azure_traffic(azure_app, fake_azure)
    return {
        name: a.test_client().get("/metrics").get_data(as_text=True)
        for name, a in (("offline", app), ("azure", azure_app))
    }


def test_rule_files_pass_promtool_check() -> None:
    result = run(["promtool", "check", "rules", *map(str, [*RULE_FILES, GENERATED_RULES])])
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = run(["promtool", "test", "rules", *map(str, RULE_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_is_valid() -> None:
    result = run(["promtool", "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_config_is_valid() -> None:
    result = run(["amtool", "check-config", str(ALERTMANAGER_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_metrics_output_passes_promtool_check(exported_metrics: dict[str, str]) -> None:
    results = {
        app: run(["promtool", "check", "metrics"], stdin=text)
        for app, text in exported_metrics.items()
    }
    assert {app: r.stdout + r.stderr for app, r in results.items() if r.returncode} == {}


def _named_metrics(source: str) -> dict[str, set[str]]:
    if source == "alerts":
        return {rule["alert"]: metric_names(rule["expr"]) for rule in alert_rules()}
    if source == "recording rules":
        return {rule["record"]: metric_names(rule["expr"]) for rule in recording_rules()}
    named = {title: metric_names(expr) for title, expr in dashboard_queries()}
    named.update({f"variable {expr}": metric_names(expr) for expr in dashboard_variable_queries()})
    return named


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (job, le) (rate(a_bucket{x=~"b|c", le="5.0"}[5m]))', {"a_bucket"}),
        (
            "x:y:ratio_rate1h > (14.4 * 0.001) and on (job) z_total offset 1h",
            {"x:y:ratio_rate1h", "z_total"},
        ),
        ('max by (job) (up{job="s"}) == 0 or absent(up{job="s"})', {"up"}),
        ("a > on () group_left () b", {"a", "b"}),
        (
            'histogram_quantile(0.95, sum by (le) (rate(h_bucket{j="$job"}[$__rate_interval])))',
            {"h_bucket"},
        ),
        ("vector(5e6)", set()),
    ],
)
def test_metric_name_parser(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("source", ["alerts", "recording rules", "dashboard"])
def test_every_named_metric_is_exported(exported_metrics: dict[str, str], source: str) -> None:
    known = (
        exposition_names("".join(exported_metrics.values()))
        | PROMETHEUS_SERIES
        | {rule["record"] for rule in recording_rules()}
    )
    named = _named_metrics(source)
    unknown = {where: names - known for where, names in named.items() if names - known}
    assert unknown == {}


@pytest.mark.parametrize("alert", alert_rules(), ids=ALERT_NAMES)
def test_alert_has_severity_and_annotations(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in {"critical", "warning"}
    assert {"summary", "description", "runbook_url", "dashboard_url"} <= set(alert["annotations"])
    assert alert["annotations"]["runbook_url"] == f"{alert['alert']}.md"


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_alert_runbook_has_every_section(name: str) -> None:
    runbook = (RUNBOOKS / f"{name}.md").read_text()
    assert runbook.startswith(f"# {name}\n")
    assert [s for s in RUNBOOK_SECTIONS if not re.search(f"^{s}$", runbook, re.M)] == []
