"""`make dashboard-snapshot`: the Grafana dashboard drawn from a real run, without Grafana.

Starts the stack of the end-to-end monitoring tests (gunicorn, the fake Azure upstream, a real
Prometheus with the project's rules), sends a scripted load in phases (healthy, slow upstream,
failing upstream, recovered), queries every panel's and annotation's expressions over the run
and draws them as the dashboard JSON lays them out. Writes docs/dashboard-snapshot.png and
docs/dashboard-snapshot.json (the panels drawn and how many samples each got).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.monitoring_helpers import DASHBOARD_VARIABLES, dashboard
from tests.monitoring_stack import Stack, Traffic, healthy_calls, running_stack, send_for

from scripts.snapshot_render import COLORS, Marker, Phase, Series, render

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "dashboard-snapshot.png"
MANIFEST = ROOT / "docs" / "dashboard-snapshot.json"
STEP_S = 2
# Scrapes are every second, so a 10 s rate window holds ten samples.
VARIABLES = {**DASHBOARD_VARIABLES, "$__rate_interval": "10s"}


@dataclass
class Step:
    """One phase of the load: what the upstream does, for how long, over how many connections."""

    name: str
    upstream: dict[str, Any]
    seconds: float
    connections: int


LOAD = [
    Step("healthy", {"mode": "ok", "latency_ms": 300}, 45, 3),
    Step("slow upstream (10.5 s)", {"mode": "ok", "latency_ms": 10500}, 30, 16),
    Step("failing upstream", {"mode": "error", "latency_ms": 300}, 30, 8),
    Step("recovered", {"mode": "ok", "latency_ms": 300}, 30, 3),
]
# An attempt timeout above the slow phase's 10.5 s.
SERVICE_SETTINGS = {"AZURE_OPENAI_TIMEOUT_S": "15"}


def substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m[1], ""), template).strip()


def run_load(stack: Stack) -> list[Phase]:
    """Send the scripted load; the phases, in seconds since the start."""
    traffic, calls, phases, start = Traffic(), healthy_calls(stack), [], time.time()
    for step in LOAD:
        began = time.time() - start
        stack.set_upstream(**step.upstream)
        if step.upstream["mode"] == "error":
            # A few unusable replies first: rejected output, then upstream errors and retries.
            stack.set_upstream(mode="invalid_output", times=3)
            for _ in range(3):
                traffic.send(stack, "/v1/questions", {"topic": "a trip"}, stack.key)
            stack.set_upstream(**step.upstream)
        send_for(stack, traffic, calls, step.seconds, step.connections)
        phases.append(Phase(step.name, began, time.time() - start))
        print(f"after {step.name}: {dict(sorted(traffic.statuses.items()))}", file=sys.stderr)
    return phases


def query_panel(stack: Stack, panel: dict[str, Any], start: float, end: float) -> list[Series]:
    """Every series of the panel's targets over [START, END]; stats and tables: the last value."""
    found = []
    for target in panel["targets"]:
        params = {"query": substitute(target["expr"])}
        if panel["type"] == "table":
            results = stack.prometheus.api("query", **params, time=str(end))["result"]
            samples = [[(end, r["value"][1])] for r in results]
        else:
            window = {"start": str(start), "end": str(end), "step": str(STEP_S)}
            results = stack.prometheus.api("query_range", **params, **window)["result"]
            samples = [r["values"] for r in results]
        for result, values in zip(results, samples, strict=True):
            found.append(
                Series(
                    legend(target.get("legendFormat", ""), result["metric"]),
                    [float(t) - start for t, _ in values],
                    [float(v) for _, v in values],
                    result["metric"],
                )
            )
    return found


def query_markers(stack: Stack, start: float, end: float) -> list[Marker]:
    """A marker where each annotation query's series begins (a deploy, an alert firing)."""
    markers = []
    window = {"start": str(start), "end": str(end), "step": str(STEP_S)}
    for annotation in dashboard()["annotations"]["list"]:
        query = substitute(annotation["expr"])
        for result in stack.prometheus.api("query_range", query=query, **window)["result"]:
            times = [float(t) for t, _ in result["values"]]
            for previous, now in zip([-1e18, *times], times, strict=False):
                if now - previous > STEP_S * 1.5:
                    text = legend(annotation["titleFormat"], result["metric"])
                    markers.append(Marker(now - start, text, COLORS[annotation["iconColor"]]))
    return sorted(markers, key=lambda marker: marker.time)


def main() -> None:
    board = dashboard()
    with (
        tempfile.TemporaryDirectory(prefix="dashboard-snapshot-") as workdir,
        running_stack(Path(workdir), **SERVICE_SETTINGS) as stack,
    ):
        start = time.time()
        phases = run_load(stack)
        time.sleep(3)  # the last scrape and rule evaluation
        end = time.time()
        data = {
            panel["id"]: query_panel(stack, panel, start, end)
            for panel in board["panels"]
            if panel["type"] != "row"
        }
        markers = query_markers(stack, start, end)
    load = ", ".join(f"{p.name} {_seconds(p)}" for p in phases)
    subtitle = f"make dashboard-snapshot, {time.strftime('%Y-%m-%d')}: scripted load: {load}"
    render(
        board,
        data,
        PICTURE,
        duration=end - start,
        markers=markers,
        phases=phases,
        subtitle=subtitle,
    )
    manifest = {
        "panels": [
            {
                "id": panel["id"],
                "title": panel["title"],
                "series": len(data[panel["id"]]),
                "samples": sum(len(series.values) for series in data[panel["id"]]),
            }
            for panel in board["panels"]
            if panel["type"] != "row"
        ],
        "phases": [
            {"name": p.name, "start_s": round(p.start), "end_s": round(p.end)} for p in phases
        ],
        "annotations": [{"at_s": round(m.time), "text": m.text} for m in markers],
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {PICTURE.relative_to(ROOT)} and {MANIFEST.relative_to(ROOT)}", file=sys.stderr)


def _seconds(phase: Phase) -> str:
    return f"{phase.end - phase.start:.0f} s"


if __name__ == "__main__":
    main()
