"""Turn bench/results/*.json into bench/results/summary.md (tables) and chart.png.

python -m bench.report
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .harness import RESULTS, log

RUN_COLUMNS = (
    "| configuration | conns | req/s | p50 ms | p99 ms | errors | CPU ms/req "
    "| peak RSS MB | peak PSS MB |"
)


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def run_row(label: str, run: dict[str, Any]) -> str:
    return (
        f"| {label} | {run['connections']} | {run['rps']:,.1f} | {run['p50_ms']:.1f} | "
        f"{run['p99_ms']:.1f} | {run['errors']} | {run['cpu_ms_per_request']:.2f} | "
        f"{run['peak_rss_mb']:.0f} | {run.get('peak_pss_mb', 0):.0f} |"
    )


def runs(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every configuration measured, labelled, in table and chart order."""
    labelled: list[tuple[str, dict[str, Any]]] = []
    if overhead := results.get("overhead"):
        for backend in overhead["backends"]:
            for name, label in (("bare", "bare Flask"), ("full", "full stack")):
                rounds = backend["rounds"][name]
                middle = sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2]
                labelled.append((f"{label}, offline, {backend['backend']} (median round)", middle))
            labelled.append(
                (
                    f"full stack, offline, {backend['backend']}, low load",
                    backend["low_load"]["full"],
                )
            )
    if peer := results.get("peer"):
        labelled.append(("naive Flask + SDK (dev server), Azure 1 s", peer["naive"]))
        labelled.append(("full stack, Azure 1 s (peer run)", peer["full"]))
    if capacity := results.get("capacity"):
        for run in capacity["runs"]:
            labelled.append((f"full stack, Azure 1 s, {run['connections']} connections", run))
    if fanout := results.get("fanout"):
        for name, run in fanout["low_load"].items():
            labelled.append((f"{name.replace('_', ' ')}, Azure 1 s, low load", run))
        for name, run in fanout["loaded"].items():
            labelled.append((f"{name.replace('_', ' ')}, Azure 1 s, loaded", run))
    return labelled


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(target, goal, measured, met) for each performance target that was measured."""
    rows: list[tuple[str, str, str, bool]] = []
    if overhead := results.get("overhead"):
        for backend in overhead["backends"]:
            goal = overhead["targets"][f"ratio_{backend['backend']}"]
            rows.append(
                (
                    f"overhead ratio, {backend['backend']}",
                    f">= {goal}",
                    f"{backend['ratio']:.3f}",
                    backend["ratio"] >= goal,
                )
            )
            p50 = backend["low_load"]["full"]["p50_ms"]
            rows.append(
                (
                    f"full-stack p50 at low load, {backend['backend']}",
                    "< 5 ms",
                    f"{p50:.2f} ms",
                    p50 < 5,
                )
            )
    if peer := results.get("peer"):
        rows.append(
            (
                "Azure-path CPU/request, full / naive",
                "<= 1.1",
                f"{peer['cpu_ratio']:.2f} ({peer['full']['cpu_ms_per_request']:.2f} / "
                f"{peer['naive']['cpu_ms_per_request']:.2f} ms)",
                peer["cpu_ratio"] <= 1.1,
            )
        )
        rows.append(
            (
                "naive app, fraction of Little's-law limit at 100",
                "(reference)",
                f"{peer['naive']['fraction_of_limit']:.3f}",
                True,
            )
        )
    if capacity := results.get("capacity"):
        for run in capacity["runs"]:
            conns, goal = run["connections"], 0.95 if run["connections"] == 100 else 0.85
            rows.append(
                (
                    f"in-flight, fraction of limit at {conns}",
                    f">= {goal}",
                    f"{run['fraction_of_limit']:.3f}",
                    run["fraction_of_limit"] >= goal,
                )
            )
            rows.append(
                (f"in-flight errors at {conns}", "0", str(run["errors"]), run["errors"] == 0)
            )
            rows.append(
                (
                    f"peak RSS of the process tree at {conns}",
                    "<= 300 MB",
                    f"{run['peak_rss_mb']:.0f} MB (PSS {run.get('peak_pss_mb', 0):.0f} MB)",
                    run["peak_rss_mb"] <= 300,
                )
            )
            if conns == 100:
                rows.append(
                    ("p99 at 100", "<= 1300 ms", f"{run['p99_ms']:.0f} ms", run["p99_ms"] <= 1300)
                )
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


def summary_markdown(results: dict[str, Any]) -> str:
    first = next(iter(results.values()))
    m = first["machine"]
    quick = any(r["quick"] for r in results.values())
    lines = [
        "# Benchmark summary",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB RAM, "
        f"Python {m['python']}, {m['wrk']}. Finished "
        f"{max(r['finished_at'] for r in results.values())}."
        + (" **Quick mode (BENCH_QUICK=1): short windows, not for comparison.**" if quick else ""),
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
        *(
            f"| {name} | {goal} | {measured} | {'yes' if met else '**no**'} |"
            for name, goal, measured, met in targets(results)
        ),
        "",
        RUN_COLUMNS,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(run_row(label, run) for label, run in runs(results)),
        "",
    ]
    if notes := [r["notes"] for r in results.values() if r.get("notes")]:
        lines += ["## Notes", "", *notes, ""]
    return "\n".join(lines)


def draw_chart(results: dict[str, Any], path: Path) -> None:
    """req/s and p50/p99 per configuration: offline overhead on top, Azure path below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labelled = runs(results)
    groups = [
        (
            "offline provider: full stack vs bare Flask",
            [(label, run) for label, run in labelled if "offline" in label],
        ),
        (
            "Azure path, fake upstream at 1 s",
            [(label, run) for label, run in labelled if "Azure" in label],
        ),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(15, 10), gridspec_kw={"width_ratios": [1, 1]})
    for row, (title, items) in enumerate(groups):
        names = [label for label, _ in items]
        positions = range(len(items))
        rps_axis, latency_axis = axes[row]
        rps_axis.barh(positions, [run["rps"] for _, run in items], color="tab:blue")
        rps_axis.set_yticks(list(positions), names, fontsize=8)
        rps_axis.invert_yaxis()
        rps_axis.set_xlabel("req/s")
        rps_axis.set_title(f"{title}: throughput")
        height = 0.4
        latency_axis.barh(
            [p - height / 2 for p in positions],
            [r["p50_ms"] for _, r in items],
            height,
            label="p50",
            color="tab:green",
        )
        latency_axis.barh(
            [p + height / 2 for p in positions],
            [r["p99_ms"] for _, r in items],
            height,
            label="p99",
            color="tab:red",
        )
        latency_axis.set_yticks(list(positions), [""] * len(items))
        latency_axis.invert_yaxis()
        latency_axis.set_xscale("log")
        latency_axis.set_xlabel("latency, ms (log)")
        latency_axis.set_title(f"{title}: latency")
        latency_axis.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    results = {
        name: data
        for name in ("overhead", "capacity", "fanout", "peer")
        if (data := load(name)) is not None
    }
    if not results:
        raise SystemExit("no results in bench/results: run the benchmarks first")
    (RESULTS / "summary.md").write_text(summary_markdown(results))
    draw_chart(results, RESULTS / "chart.png")
    log("wrote bench/results/summary.md and bench/results/chart.png")


if __name__ == "__main__":
    main()
