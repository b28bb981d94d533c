"""The dashboard as an on-call engineer reads it: one unit per axis, alert levels drawn where the
alert's series is shown, and no panel or rule reading further back than Prometheus keeps data."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import promql_parser as pp
import pytest
import yaml

from tests.monitoring_helpers import (
    alert_rules,
    dashboard,
    panels,
    recording_rules,
    rules,
    with_variables,
)
from tests.processes import ROOT
from tests.promql_analysis import MIXED, NUMBER, alert_levels, lookback, value_kind

RECORDED = {rule["record"]: rule["expr"] for rule in recording_rules()}
ALERTS = {rule["alert"]: rule for rule in alert_rules()}
# The Grafana units that may label an axis of each kind of value.
UNITS = {
    "ratio": {"percentunit", "suffix:\N{MULTIPLICATION SIGN}"},
    "seconds": {"s"},
    "events/s": {"reqps", "ops"},
    "tokens/s": {"suffix: tokens/s"},
    "tokens": {"short"},
    "events": {"short"},
}
GAUGE_UNITS = {"none"}
CHARTS = [panel for panel in panels() if panel["type"] in ("timeseries", "stat")]
TIMESERIES = [panel for panel in CHARTS if panel["type"] == "timeseries"]
COMPOSE = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
K8S_RETENTION = yaml.safe_load((ROOT / "deploy" / "k8s" / "prometheus-retention.yaml").read_text())


def title(panel: dict[str, Any]) -> str:
    return str(panel["title"])


def panel_kinds(exprs: list[str]) -> set[str]:
    """The kinds of value the queries of one panel return (literals left out)."""
    kinds = {value_kind(with_variables(expr), RECORDED) for expr in exprs}
    return kinds - {NUMBER} or {NUMBER}


def linked_alerts(panel: dict[str, Any]) -> list[str]:
    return [
        link["url"].removeprefix("${runbooks}").removesuffix(".md")
        for link in panel.get("links", [])
    ]


def scale(expr: str) -> float:
    """The factor a panel query applies to the series an alert compares (`x / 0.001` → 1000)."""
    node = pp.parse(with_variables(expr))
    if isinstance(node, pp.BinaryExpr) and isinstance(node.rhs, pp.NumberLiteral):
        if str(node.op) == "/":
            return 1 / float(node.rhs.val)
        if str(node.op) == "*":
            return float(node.rhs.val)
    return 1.0


# --- one unit per axis -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exprs", "kinds"),
    [
        # The three panels that once mixed units on one axis.
        (
            [
                'sum by (type) (rate(ielts_ai_tokens_total{job="$job"}[$__rate_interval])) * 60',
                'ielts:ai_tokens:increase1d{job="$job"}',
            ],
            {"tokens/s", "tokens"},
        ),
        (
            [
                "sum by (outcome) (rate(ielts_audit_writes_total[5m]))",
                "histogram_quantile(0.99, sum by (le) (rate(a_duration_seconds_bucket[5m])))",
            ],
            {"events/s", "seconds"},
        ),
        (
            [
                "sum by (limit) (rate(ielts_ratelimit_rejections_total[5m]))",
                "max(ielts_ratelimit_storage_fallback)",
            ],
            {"events/s", "gauge:ielts_ratelimit_storage_fallback"},
        ),
        # One kind each.
        (["ielts:availability_errors:ratio_rate5m / 0.001", "1 - (a_total / b_total)"], {"ratio"}),
        (["sum(increase(x_count[30d])) / sum(increase(x_bucket[30d]))"], {"ratio"}),
        (["sum(rate(ielts_ai_tokens_total[5m]))", "vector(5)"], {"tokens/s"}),
        (["rate(a_seconds_sum[5m]) / rate(a_seconds_count[5m])"], {"seconds"}),
        (["rate(ielts_ai_tokens_total[5m]) / rate(x_seconds_sum[5m])"], {MIXED}),
    ],
)
def test_panel_kinds(exprs: list[str], kinds: set[str]) -> None:
    assert panel_kinds(exprs) == kinds


@pytest.mark.parametrize("panel", CHARTS, ids=title)
def test_panel_shows_one_unit(panel: dict[str, Any]) -> None:
    kinds = panel_kinds([target["expr"] for target in panel["targets"]])
    assert len(kinds) == 1, kinds
    (kind,) = kinds
    assert kind != MIXED
    unit = panel["fieldConfig"]["defaults"].get("unit")
    assert unit in (GAUGE_UNITS if kind.startswith("gauge:") else UNITS[kind]), (kind, unit)
    overrides = panel["fieldConfig"]["overrides"]
    assert [p for o in overrides for p in o["properties"] if p["id"] == "unit"] == []


# --- alert levels on the panels --------------------------------------------------------------


@pytest.mark.parametrize("panel", TIMESERIES, ids=title)
def test_threshold_lines_are_the_levels_of_the_linked_alerts(panel: dict[str, Any]) -> None:
    exprs = [target["expr"] for target in panel["targets"]]
    (kind,) = panel_kinds(exprs)
    (factor,) = {scale(expr) for expr in exprs}
    expected = {
        round(level * factor, 9)
        for alert in linked_alerts(panel)
        for level_kind, level in alert_levels(ALERTS[alert]["expr"], RECORDED)
        if level_kind == kind
    }
    defaults = panel["fieldConfig"]["defaults"]
    steps = defaults.get("thresholds", {}).get("steps", [])
    assert {round(s["value"], 9) for s in steps if s["value"] is not None} == expected
    if expected:
        assert defaults["custom"]["thresholdsStyle"]["mode"] != "off"


@pytest.mark.parametrize(
    "panel", [p for p in CHARTS if p["type"] == "stat" and linked_alerts(p)], ids=title
)
def test_state_panels_show_the_alerting_value_in_red(panel: dict[str, Any]) -> None:
    (mapping,) = panel["fieldConfig"]["defaults"]["mappings"]
    for alert in linked_alerts(panel):
        for _, level in alert_levels(ALERTS[alert]["expr"], RECORDED):
            assert mapping["options"][f"{level:g}"]["color"] == "red"


def test_every_alert_is_linked_from_a_panel() -> None:
    linked = {alert for panel in panels() for alert in linked_alerts(panel)}
    assert set(ALERTS) <= linked


# --- retention ---------------------------------------------------------------------------------


def _dashboard_range() -> timedelta:
    return pp.parse_duration(dashboard()["time"]["from"].removeprefix("now-"))


def _reads() -> dict[str, timedelta]:
    """How far back each rule, panel query and annotation reads, from now."""
    reads = {rule.get("record") or rule["alert"]: lookback(rule["expr"]) for rule in rules()}
    queries = [(f"{title(p)} [{t['refId']}]", t["expr"]) for p in panels() for t in p["targets"]]
    queries += [(a["name"], a["expr"]) for a in dashboard()["annotations"]["list"]]
    for name, expr in queries:
        reads[name] = lookback(with_variables(expr)) + _dashboard_range()
    return reads


def _compose_retention() -> timedelta:
    (flag,) = [
        arg
        for arg in COMPOSE["services"]["prometheus"]["command"]
        if arg.startswith("--storage.tsdb.retention.time=")
    ]
    return pp.parse_duration(flag.split("=", 1)[1])


RETENTION = {
    "compose": _compose_retention(),
    "kubernetes": pp.parse_duration(K8S_RETENTION["spec"]["retention"]),
}


def test_the_30_day_panels_read_30_days_before_the_dashboard_range() -> None:
    reads = _reads()
    assert reads["Availability, 30 days [A]"] == timedelta(days=30, hours=6)
    assert reads["ielts:availability_errors:ratio_rate3d"] == timedelta(days=3)


@pytest.mark.parametrize("where", RETENTION)
def test_retention_covers_every_rule_and_panel(where: str) -> None:
    too_far = {name: str(read) for name, read in _reads().items() if read > RETENTION[where]}
    assert too_far == {}, f"{where} keeps {RETENTION[where]}"


def test_a_read_past_retention_is_caught() -> None:
    assert lookback("sum(increase(x_total[40d]))") > max(RETENTION.values())
    assert lookback("max_over_time(rate(x_total[5m])[35d:1m] offset 1d)") == timedelta(
        days=36, minutes=5
    )


def test_annotations_mark_deploys_and_firing_alerts() -> None:
    annotations = {a["name"]: a for a in dashboard()["annotations"]["list"]}
    assert re.search(
        r"\bielts_build_info\b.*\bunless\b.*\boffset\b", annotations["Deploys"]["expr"]
    )
    assert 'alertstate="firing"' in annotations["Firing alerts"]["expr"]
