"""Helpers for the monitoring tests: the rule and dashboard files, PromQL names, HTTP JSON."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import yaml

from tests.processes import ROOT

MONITORING = ROOT / "monitoring"
RULE_FILES = sorted((MONITORING / "prometheus" / "rules").glob("*.yml"))
GENERATED_RULES = MONITORING / "prometheus" / "generated" / "rules.yml"
RULE_TESTS = sorted((MONITORING / "prometheus" / "tests").glob("*.yml"))
ALERTMANAGER_CONFIG = MONITORING / "alertmanager" / "alertmanager.yml"
PROMETHEUS_CONFIG = MONITORING / "prometheus" / "prometheus.yml"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "ielts-service.json"
RUNBOOKS = MONITORING / "runbooks"
JOB = "ielts-service"
# Values for the dashboard's variables when its queries run outside Grafana.
DASHBOARD_VARIABLES = {"$__rate_interval": "1m", "$job": JOB, "$route": ".*"}

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_NAMES = re.compile(r"(?<![\w:$.])([A-Za-z_:][\w:]*)\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "group_left", "group_right", "inf", "nan"}
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", re.S)


def rules() -> list[dict[str, Any]]:
    """Every rule of every rule file."""
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def generated_alert_rules() -> list[dict[str, Any]]:
    """The alerts as Prometheus loads them: the generated rule file, links made absolute."""
    groups = yaml.safe_load(GENERATED_RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def recording_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "record" in rule]


def dashboard() -> dict[str, Any]:
    """The Grafana dashboard JSON."""
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    """Every panel of the dashboard that shows data (rows left out)."""
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every panel target of the dashboard."""
    return [
        (f"{panel['title']} [{target['refId']}]", target["expr"])
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def dashboard_variable_queries() -> list[str]:
    """The PromQL inside the dashboard's `label_values(…)` variable queries."""
    found = []
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else ""
        match = _LABEL_VALUES.match(text)
        if match:
            found.append(match.group(1))
    return found


def with_variables(expr: str) -> str:
    """The query as Grafana would send it, with fixed values for the dashboard variables."""
    for name, value in DASHBOARD_VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, labels and keywords removed)."""
    text = _STRINGS.sub('""', expr)
    text = _GROUPING.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    return {name for name in _NAMES.findall(text) if name not in _KEYWORDS}


def exposition_names(text: str) -> set[str]:
    """Names of the samples in Prometheus text exposition (suffixes such as _bucket kept)."""
    return {
        re.split(r"[{\s]", line, maxsplit=1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def http_json(
    url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, Any]:
    """GET (or POST `body` as JSON); returns the status and the decoded JSON (or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, None
