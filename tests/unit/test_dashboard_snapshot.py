"""The dashboard snapshot (`make dashboard-snapshot`) shows every panel of the Grafana JSON.

The picture is drawn from the dashboard JSON itself (one source), and the committed picture's
manifest must list every panel of today's dashboard with data from the run.
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.dashboard_snapshot import MANIFEST, PICTURE
from scripts.snapshot_render import Series, format_value, render

from tests.monitoring_helpers import dashboard, panels
from tests.processes import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_renderer_draws_every_panel_of_the_dashboard_json(tmp_path: Path) -> None:
    data = {
        panel["id"]: [Series("a", [0.0, 10.0], [0.5, 1.0], {"version": "1"})] for panel in panels()
    }
    picture = tmp_path / "snapshot.png"
    drawn = render(dashboard(), data, picture, duration=10)
    assert drawn == [panel["title"] for panel in panels()]
    assert picture.read_bytes().startswith(PNG_SIGNATURE)


def test_committed_snapshot_has_every_panel_with_data() -> None:
    manifest = json.loads(MANIFEST.read_text())
    drawn = [(panel["id"], panel["title"]) for panel in manifest["panels"]]
    assert drawn == [(panel["id"], panel["title"]) for panel in panels()], (
        "run `make dashboard-snapshot`"
    )
    assert [p["title"] for p in manifest["panels"] if p["samples"] == 0] == []


def test_readme_shows_the_snapshot() -> None:
    assert PICTURE.read_bytes().startswith(PNG_SIGNATURE)
    assert f"]({PICTURE.relative_to(ROOT)})" in (ROOT / "README.md").read_text()


def test_values_are_printed_in_the_panel_unit() -> None:
    assert [
        format_value(0.0144, "percentunit"),
        format_value(0.25, "s"),
        format_value(14.4, "suffix: tokens/s"),
        format_value(5_000_000, "short"),
        format_value(3.5, "reqps"),
        format_value(-50_020, "none"),
    ] == ["1.44%", "250 ms", "14.4 tokens/s", "5 Mil", "3.5 req/s", "-50,020"]
