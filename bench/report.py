"""Turn bench/results/*.json into bench/results/summary.md (tables) and chart.png.

python -m bench.report
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .harness import RESULTS, log

RUN_COLUMNS = (
    "| configuration | conns | req/s | of limit | p50 ms | p99 ms | errors | CPU ms/req "
    "| peak RSS MB | peak PSS MB |"
)
NAMES = ("overhead", "log_cost", "capacity", "slow_clients", "worker_models", "fanout")
Row = tuple[str, str, str, bool]


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def run_row(label: str, run: dict[str, Any]) -> str:
    fraction = run.get("fraction_of_limit")
    return (
        f"| {label} | {run['connections']} | {run['rps']:,.1f} | "
        f"{'' if fraction is None else f'{fraction:.3f}'} | {run['p50_ms']:.1f} | "
        f"{run['p99_ms']:.1f} | {run['errors']} | {run['cpu_ms_per_request']:.2f} | "
        f"{run['peak_rss_mb']:.0f} | {run.get('peak_pss_mb', 0):.0f} |"
    )


def runs(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every configuration measured (medians of rounds), labelled, in table order."""
    labelled: list[tuple[str, dict[str, Any]]] = []
    if overhead := results.get("overhead"):
        for backend in overhead["backends"]:
            for item in backend["loads"]:
                for name, label in (("bare", "bare Flask"), ("full", "full stack")):
                    labelled.append((f"{label}, offline, {backend['backend']}", item[name]))
    if capacity := results.get("capacity"):
        for item in capacity["cost"]:
            labelled.append(("naive Flask + SDK, Azure 1 s", item["naive"]))
            labelled.append(("full stack, Azure 1 s", item["full"]))
        for item in capacity["in_flight"]:
            latency = item["upstream_latency_s"]
            labelled.append((f"full stack, in flight, Azure {latency:g} s", item))
    if slow := results.get("slow_clients"):
        labelled.append(("full stack, offline, normal clients alone", slow["alone"]))
        labelled.append(
            ("full stack, offline, beside 300 slow connections", slow["with_slow_clients"])
        )
    if models := results.get("worker_models"):
        for name, item in models["models"].items():
            labelled.append((f"worker model {name}, Azure 2 s", item))
    if fanout := results.get("fanout"):
        for name, run in fanout["low_load"].items():
            labelled.append((f"{name.replace('_', ' ')}, Azure 1 s, low load", run))
        threaded = "threaded worker, "
        for name, run in fanout.get("designs_low_load", {}).items():
            labelled.append((f"{threaded}{name.replace('_', ' ')}, Azure 1 s, low load", run))
        for name, run in fanout["loaded"].items():
            labelled.append((f"{threaded}{name.replace('_', ' ')}, Azure 1 s, loaded", run))
    return labelled


def _flat(label: str, loads: list[dict[str, Any]], key: str, goal: float) -> list[Row]:
    """CPU per request at each load against that at the lowest one."""
    base = loads[0][key]["cpu_ms_per_request"]
    rows = []
    for item in loads[1:]:
        ratio = item[key]["cpu_ms_per_request"] / base
        rows.append(
            (
                f"{label}: CPU/request at {item['connections']} / at {loads[0]['connections']}",
                f"<= {goal}",
                f"{ratio:.2f} ({item[key]['cpu_ms_per_request']:.2f} / {base:.2f} ms)",
                ratio <= goal,
            )
        )
    return rows


def in_flight_targets(capacity: dict[str, Any]) -> list[Row]:
    goals = capacity["targets"]
    rows: list[Row] = []
    for item in capacity["in_flight"]:
        conns, latency = item["connections"], item["upstream_latency_s"]
        where = f"{conns} x {latency:g} s"
        goal = goals["fraction"][str(conns)]
        p99_goal = goals["p99_over_latency"] * latency * 1000
        rows += [
            (
                f"in flight at {where}: fraction of the limit (steady state)",
                f">= {goal}",
                f"{item['fraction_of_limit']:.3f} "
                f"(whole window {item['whole_window_fraction']:.3f})",
                item["fraction_of_limit"] >= goal,
            ),
            (f"in flight at {where}: errors", "0", str(item["errors"]), item["errors"] == 0),
            (
                f"in flight at {where}: p99",
                f"<= {p99_goal:.0f} ms",
                f"{item['p99_ms']:.0f} ms",
                item["p99_ms"] <= p99_goal,
            ),
            (
                f"in flight at {where}: peak RSS of the tree",
                f"<= {goals['peak_rss_mb']} MB",
                f"{item['peak_rss_mb']:.0f} MB (PSS {item.get('peak_pss_mb', 0):.0f})",
                item["peak_rss_mb"] <= goals["peak_rss_mb"],
            ),
        ]
    return rows


def targets(results: dict[str, Any]) -> list[Row]:
    """(target, goal, measured, met) for each performance target that was measured."""
    rows: list[Row] = []
    if capacity := results.get("capacity"):
        rows += in_flight_targets(capacity)
        at_100 = next(item for item in capacity["cost"] if item["connections"] == 100)
        goal = capacity["targets"]["cpu_ratio_at_100"]
        rows.append(
            (
                "Azure path at 100 x 1 s: CPU/request, full / naive",
                f"<= {goal}",
                f"{at_100['cpu_ratio']:.2f} ({at_100['full']['cpu_ms_per_request']:.2f} / "
                f"{at_100['naive']['cpu_ms_per_request']:.2f} ms)",
                at_100["cpu_ratio"] <= goal,
            )
        )
        rows += _flat("Azure path", capacity["cost"], "full", capacity["targets"]["cpu_flat"])
    if overhead := results.get("overhead"):
        for backend in overhead["backends"]:
            loads = backend["loads"]
            at_100 = next(item for item in loads if item["connections"] == 100)
            goal = overhead["targets"][f"ratio_{backend['backend']}_at_100"]
            rows.append(
                (
                    f"offline, {backend['backend']}, 100 connections: req/s full / bare",
                    f">= {goal}",
                    f"{at_100['ratio']:.3f}",
                    at_100["ratio"] >= goal,
                )
            )
            if len(loads) > 1:
                rows += _flat(
                    f"offline, {backend['backend']}", loads, "full", overhead["targets"]["cpu_flat"]
                )
    if slow := results.get("slow_clients"):
        beside = slow["with_slow_clients"]
        rows += [
            (
                "beside 300 slow connections: p99 of normal requests",
                f"<= {slow['targets']['p99_ms']} ms",
                f"{beside['p99_ms']:.0f} ms (alone: {slow['alone']['p99_ms']:.0f} ms)",
                beside["p99_ms"] <= slow["targets"]["p99_ms"],
            ),
            (
                "beside 300 slow connections: errors",
                "0",
                str(beside["errors"]),
                beside["errors"] == 0,
            ),
        ]
    if fanout := results.get("fanout"):
        rows.append(
            (
                "fan-out ratio (speaking test / question, p50)",
                "<= 1.3",
                f"{fanout['ratio']:.3f}",
                fanout["ratio"] <= 1.3,
            )
        )
    return rows


def log_cost_lines(log_cost: dict[str, Any]) -> list[str]:
    """The offline path with parts of its logging left out: how much of the gap it is."""
    variants = log_cost["variants"]
    lines = [
        "What the logging layer costs (`bench.log_cost`, offline, 100 connections): req/s as a",
        "fraction of bare Flask's, and CPU ms per request. Leaving lines out breaks the logging",
        "contract; these show how much of the offline target logging accounts for.",
        "",
        "| backend | " + " | ".join(v["label"] for v in variants.values()) + " | bare Flask |",
        "|---|" + "---:|" * (len(variants) + 1),
    ]
    for backend in log_cost["backends"]:
        medians, ratios = backend["medians"], backend["ratios"]
        cells = [
            f"{ratios[name]:.3f} ({medians[name]['cpu_ms_per_request']:.2f} ms)"
            for name in variants
        ]
        bare_run = medians["bare"]
        bare = f"{bare_run['rps']:,.0f} req/s ({bare_run['cpu_ms_per_request']:.2f} ms)"
        lines.append(f"| {backend['backend']} | " + " | ".join(cells) + f" | {bare} |")
    return [*lines, ""]


def summary_markdown(results: dict[str, Any]) -> str:
    first = next(iter(results.values()))
    m = first["machine"]
    quick = any(r["quick"] for r in results.values())
    loads = ", ".join(
        f"{name} {r['machine'].get('load_average_at_end', '?')}" for name, r in results.items()
    )
    speeds = ", ".join(
        f"{name} {r['machine'].get('python_loop_ms_at_end', '?')}" for name, r in results.items()
    )
    lines = [
        "# Benchmark summary",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB RAM, "
        f"Python {m['python']}, {m['wrk']}. Finished "
        f"{max(r['finished_at'] for r in results.values())}."
        + (" **Quick mode (BENCH_QUICK=1): short windows, not for comparison.**" if quick else ""),
        f"Load average (1, 5, 15 min) when each benchmark ended: {loads}.",
        f"Machine speed when each benchmark ended (ms for a fixed Python loop; higher is "
        f"slower): {speeds}.",
        "Shipped gunicorn settings; only the worker count (2) set. Figures are medians of "
        "interleaved rounds; errors and peak memory are the worst round's.",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
        *(
            f"| {name} | {goal} | {measured} | {'yes' if met else '**no**'} |"
            for name, goal, measured, met in targets(results)
        ),
        "",
        RUN_COLUMNS,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(run_row(label, run) for label, run in runs(results)),
        "",
    ]
    if log_cost := results.get("log_cost"):
        lines += log_cost_lines(log_cost)
    return "\n".join(lines)


def draw_chart(results: dict[str, Any], path: Path) -> None:
    """In-flight capacity and CPU per request against connections, beside the references."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (capacity_axis, cpu_axis) = plt.subplots(1, 2, figsize=(14, 5.5))
    capacity, overhead = results.get("capacity"), results.get("overhead")
    if capacity:
        series = {
            "full stack, in flight (100x1 s, 200x2 s, 400x4 s)": capacity["in_flight"],
            "full stack, Azure 1 s": [item["full"] for item in capacity["cost"]],
            "naive Flask + SDK, Azure 1 s": [item["naive"] for item in capacity["cost"]],
        }
        for label, items in series.items():
            conns = [item["connections"] for item in items]
            capacity_axis.plot(conns, [i["fraction_of_limit"] for i in items], "o-", label=label)
        for label, items in list(series.items())[1:]:
            conns = [item["connections"] for item in items]
            cpu_axis.plot(conns, [i["cpu_ms_per_request"] for i in items], "o-", label=label)
    if overhead:
        for backend in overhead["backends"]:
            loads = backend["loads"]
            for key, label in (("full", "full stack"), ("bare", "bare Flask")):
                cpu_axis.plot(
                    [item["connections"] for item in loads],
                    [item[key]["cpu_ms_per_request"] for item in loads],
                    "s--",
                    label=f"{label}, offline, {backend['backend']}",
                )
    capacity_axis.axhline(1.0, color="grey", linewidth=0.8)
    capacity_axis.set_ylim(0, 1.1)
    capacity_axis.set_xlabel("connections")
    capacity_axis.set_ylabel("req/s / Little's-law limit")
    capacity_axis.set_title("In-flight capacity")
    capacity_axis.legend(fontsize=8, loc="lower left")
    cpu_axis.set_xlabel("connections")
    cpu_axis.set_ylabel("CPU ms per request (whole process tree)")
    cpu_axis.set_title("CPU per request")
    cpu_axis.set_ylim(bottom=0)
    cpu_axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    results = {name: data for name in NAMES if (data := load(name)) is not None}
    if not results:
        raise SystemExit("no results in bench/results: run the benchmarks first")
    (RESULTS / "summary.md").write_text(summary_markdown(results))
    draw_chart(results, RESULTS / "chart.png")
    log("wrote bench/results/summary.md and bench/results/chart.png")


if __name__ == "__main__":
    main()
