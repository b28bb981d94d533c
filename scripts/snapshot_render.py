"""Draw the Grafana dashboard JSON with data already queried: one PNG laid out like Grafana.

The layout, titles, units, thresholds and value mappings all come from the dashboard JSON;
this module only knows how Grafana draws a row, a time series, a stat and a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

COLUMNS = 24
INCH_PER_COLUMN = 0.85
INCH_PER_ROW = 0.34  # Grafana: a grid row is 30 px, a column ~1/24 of ~1900 px
COLORS = {
    "green": "#56a64b",
    "yellow": "#e0b400",
    "orange": "#ff780a",
    "red": "#e02f44",
    "dark-red": "#8f1428",
    "blue": "#3274d9",
}
PALETTE = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0"]
BACKGROUND = "#181b1f"
PANEL = "#22252b"
TEXT = "#d8d9da"
MUTED = "#8e8e8e"


@dataclass
class Series:
    """One line of a panel: its legend and (seconds since start, value) samples."""

    legend: str
    times: list[float]
    values: list[float]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Marker:
    """An annotation: a vertical line at TIME (seconds since start)."""

    time: float
    text: str
    color: str


@dataclass
class Phase:
    name: str
    start: float
    end: float


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def format_value(value: float, unit: str | None) -> str:
    """VALUE as Grafana would print it in UNIT (the units this dashboard uses)."""
    if unit == "percentunit":
        return f"{_number(value * 100)}%"
    if unit == "s":
        return f"{value * 1000:.3g} ms" if 0 < abs(value) < 1 else f"{_number(value)} s"
    if unit == "reqps":
        return f"{_number(value)} req/s"
    if unit == "ops":
        return f"{_number(value)} ops/s"
    if unit and unit.startswith("suffix:"):
        return f"{_number(value)}{unit.removeprefix('suffix:')}"
    if unit == "short":
        for factor, suffix in ((1e9, " Bil"), (1e6, " Mil"), (1e3, " K")):
            if abs(value) >= factor:
                return f"{value / factor:.3g}{suffix}"
    return _number(value)


def _steps(panel: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = (
        panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
    )
    return steps


def _color(panel: dict[str, Any], value: float) -> tuple[str, str | None]:
    """The colour (and mapped text) Grafana gives VALUE: value mappings first, then thresholds."""
    for mapping in panel["fieldConfig"]["defaults"].get("mappings", []):
        option = mapping["options"].get(f"{value:g}")
        if option:
            return COLORS.get(option["color"], option["color"]), option["text"]
    color = "green"
    for step in _steps(panel):
        if step["value"] is None or value >= step["value"]:
            color = step["color"]
    return COLORS.get(color, color), None


def _panel_axes(fig: Figure, grid: dict[str, int], height: int) -> Axes:
    left, width = grid["x"] / COLUMNS, grid["w"] / COLUMNS
    bottom = 1 - (grid["y"] + grid["h"]) / height
    box = fig.add_axes((left + 0.004, bottom + 0.002, width - 0.008, grid["h"] / height - 0.004))
    box.set_facecolor(PANEL)
    box.set_xticks([])
    box.set_yticks([])
    for spine in box.spines.values():
        spine.set_visible(False)
    return box


def _inner(fig: Figure, grid: dict[str, int], height: int, pad_rows: float = 1.1) -> Axes:
    """The plotting area inside a panel, below its title."""
    left, width = grid["x"] / COLUMNS, grid["w"] / COLUMNS
    bottom = 1 - (grid["y"] + grid["h"]) / height
    top_pad, bottom_pad = pad_rows / height, 0.9 / height
    ax = fig.add_axes(
        (
            left + 0.035,
            bottom + bottom_pad,
            width - 0.045,
            grid["h"] / height - top_pad - bottom_pad,
        )
    )
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=MUTED, labelsize=7)
    for spine in ax.spines.values():
        spine.set_color("#34373d")
    return ax


def _title(box: Axes, panel: dict[str, Any]) -> None:
    box.set_title(panel["title"], loc="left", color=TEXT, fontsize=9, pad=-11, x=0.01)


def _mmss(seconds: float, _: object = None) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def _draw_timeseries(
    fig: Figure,
    panel: dict[str, Any],
    series: Sequence[Series],
    height: int,
    context: tuple[float, Sequence[Marker], Sequence[Phase]],
) -> None:
    duration, markers, phases = context
    unit = panel["fieldConfig"]["defaults"].get("unit")
    ax = _inner(fig, panel["gridPos"], height)
    for phase in phases[1::2]:
        ax.axvspan(phase.start, phase.end, color="#ffffff", alpha=0.035, lw=0)
    top = 0.0
    for index, line in enumerate(series):
        ax.plot(
            line.times, line.values, lw=1.2, color=PALETTE[index % len(PALETTE)], label=line.legend
        )
        top = max([top, *line.values])
    off_scale = []
    for step in _steps(panel):
        if step["value"] is None:
            continue
        color = COLORS.get(step["color"], step["color"])
        if step["value"] <= max(top * 1.5, 1e-12):
            ax.axhline(step["value"], color=color, lw=1, ls="--")
            top = max(top, step["value"])
        else:
            off_scale.append(format_value(step["value"], unit))
    for marker in markers:
        ax.axvline(marker.time, color=marker.color, lw=0.8, ls=":")
    ax.set_xlim(0, duration)
    ax.set_ylim(0, top * 1.1 or 1)
    ax.xaxis.set_major_formatter(FuncFormatter(_mmss))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, unit)))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.grid(color="#34373d", lw=0.5)
    if series:
        legend = ax.legend(loc="upper left", fontsize=6, ncol=2, frameon=False, labelcolor=TEXT)
        legend.set_in_layout(False)
    if off_scale:
        ax.text(
            0.99,
            0.97,
            "alert level above: " + ", ".join(off_scale),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=6,
            color=COLORS["red"],
        )


def _draw_stat(fig: Figure, panel: dict[str, Any], series: Sequence[Series], height: int) -> None:
    box = _inner(fig, panel["gridPos"], height, pad_rows=1.4)
    box.axis("off")
    unit = panel["fieldConfig"]["defaults"].get("unit")
    for index, line in enumerate(series):
        value = line.values[-1]
        color, text = _color(panel, value)
        x = (index + 0.5) / len(series)
        box.text(
            x,
            0.5,
            text or format_value(value, unit),
            color=color,
            ha="center",
            va="center",
            fontsize=20 if len(series) == 1 else 14,
            weight="bold",
        )
        if len(series) > 1 or line.legend:
            box.text(x, 0.08, line.legend, color=MUTED, ha="center", fontsize=7)


def _draw_table(fig: Figure, panel: dict[str, Any], series: Sequence[Series], height: int) -> None:
    box = _inner(fig, panel["gridPos"], height, pad_rows=1.4)
    box.axis("off")
    columns = sorted({name for line in series for name in line.labels})
    rows = [[line.labels.get(name, "") for name in columns] for line in series]
    table = box.table(
        cellText=rows or [[""]], colLabels=columns or [""], loc="upper center", cellLoc="left"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for cell in table.get_celld().values():
        cell.set_facecolor(PANEL)
        cell.set_edgecolor("#34373d")
        cell.get_text().set_color(TEXT)


def render(
    dashboard: dict[str, Any],
    data: dict[int, list[Series]],
    path: Path,
    *,
    duration: float,
    markers: Sequence[Marker] = (),
    phases: Sequence[Phase] = (),
    subtitle: str = "",
) -> list[str]:
    """Draw every panel of DASHBOARD with DATA (by panel id) into PATH; the titles drawn."""
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"]) + 3
    fig = plt.figure(figsize=(COLUMNS * INCH_PER_COLUMN, height * INCH_PER_ROW), dpi=72)
    fig.patch.set_facecolor(BACKGROUND)
    fig.text(0.005, 1 - 0.9 / height, dashboard["title"], color=TEXT, fontsize=15, weight="bold")
    fig.text(0.005, 1 - 1.8 / height, subtitle, color=MUTED, fontsize=8)
    legend = "   ".join(f"{_mmss(m.time)} {m.text}" for m in markers)
    fig.text(0.005, 1 - 2.6 / height, f"annotations: {legend}", color=MUTED, fontsize=8)
    context = (duration, markers, phases)
    drawn = []
    for panel in dashboard["panels"]:
        grid = {**panel["gridPos"], "y": panel["gridPos"]["y"] + 3}
        placed = {**panel, "gridPos": grid}
        if panel["type"] == "row":
            fig.text(
                0.005,
                1 - (grid["y"] + 0.7) / height,
                panel["title"],
                color=TEXT,
                fontsize=11,
                weight="bold",
            )
            continue
        box = _panel_axes(fig, grid, height)
        _title(box, panel)
        series = data.get(panel["id"], [])
        if panel["type"] == "timeseries":
            _draw_timeseries(fig, placed, series, height, context)
        elif panel["type"] == "stat":
            _draw_stat(fig, placed, series, height)
        else:
            _draw_table(fig, placed, series, height)
        drawn.append(box.get_title(loc="left"))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, facecolor=BACKGROUND)
    plt.close(fig)
    return drawn
