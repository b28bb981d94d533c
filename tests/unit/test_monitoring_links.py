"""Links people follow from a page or the dashboard: absolute, from one setting, and they resolve.

The rule files and the dashboard hold relative links; `make rules` (scripts/generate_rules.py)
resolves them against monitoring/links.yml into the files Prometheus and Kubernetes load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from scripts.generate_rules import OUTPUTS, links, resolve

from tests.monitoring_helpers import (
    RUNBOOKS,
    alert_rules,
    dashboard,
    generated_alert_rules,
    panels,
)
from tests.processes import ROOT

BASES = links()
GENERATED_ALERTS = generated_alert_rules()
GENERATED_IDS = [rule["alert"] for rule in GENERATED_ALERTS]
PANELS = {panel["id"]: panel for panel in panels()}


def runbook_links(panel: dict[str, Any]) -> set[str]:
    """Runbook file names the panel links to (its links read `${runbooks}<file>`)."""
    return {
        link["url"].removeprefix("${runbooks}")
        for link in panel.get("links", [])
        if link["url"].startswith("${runbooks}")
    }


@pytest.mark.parametrize("path", list(OUTPUTS), ids=[str(p.relative_to(ROOT)) for p in OUTPUTS])
def test_generated_file_is_current(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == OUTPUTS[path](), "run `make rules`"


def test_generated_rules_are_the_sources_with_links_resolved() -> None:
    assert [rule["alert"] for rule in alert_rules()] == GENERATED_IDS
    for source, generated in zip(alert_rules(), GENERATED_ALERTS, strict=True):
        assert generated["expr"] == source["expr"]
        runbook = generated["annotations"]["runbook_url"]
        assert runbook == BASES["runbooks"] + source["alert"] + ".md"


@pytest.mark.parametrize("alert", GENERATED_ALERTS, ids=GENERATED_IDS)
def test_runbook_url_resolves_to_a_runbook_file(alert: dict[str, Any]) -> None:
    url: str = alert["annotations"]["runbook_url"]
    assert url.startswith(BASES["runbooks"])
    name = url.removeprefix(BASES["runbooks"])
    assert name == f"{alert['alert']}.md"
    assert (RUNBOOKS / name).is_file()


@pytest.mark.parametrize("alert", GENERATED_ALERTS, ids=GENERATED_IDS)
def test_dashboard_url_opens_a_panel_linking_the_runbook(alert: dict[str, Any]) -> None:
    url = urlsplit(alert["annotations"]["dashboard_url"])
    assert url.geturl().startswith(BASES["grafana"])
    assert url.path.endswith(f"/d/{dashboard()['uid']}/ielts-question-service")
    (panel_id,) = parse_qs(url.query)["viewPanel"]
    assert f"{alert['alert']}.md" in runbook_links(PANELS[int(panel_id)])


def test_dashboard_runbook_base_is_the_setting() -> None:
    (constant,) = [v for v in dashboard()["templating"]["list"] if v["name"] == "runbooks"]
    assert (constant["type"], constant["query"]) == ("constant", BASES["runbooks"])


@pytest.mark.parametrize(
    "panel", [p for p in PANELS.values() if p.get("links")], ids=lambda p: p["title"]
)
def test_panel_links_open_existing_runbooks(panel: dict[str, Any]) -> None:
    assert all(link["url"].startswith("${runbooks}") for link in panel["links"])
    assert {name for name in runbook_links(panel) if not (RUNBOOKS / name).is_file()} == set()


def test_every_runbook_belongs_to_an_alert() -> None:
    pages = {path.name for path in RUNBOOKS.glob("*.md")} - {"README.md"}
    assert pages == {f"{name}.md" for name in GENERATED_IDS}


@pytest.mark.parametrize(
    "relative", ["https://elsewhere.example/x.md", "/d/ielts-service", "//host/x.md"]
)
def test_links_that_leave_the_base_are_refused(relative: str) -> None:
    with pytest.raises(ValueError, match="must be relative"):
        resolve(relative, "https://runbooks.example/monitoring/runbooks/")
