"""Quality of the offline provider's mock tests over the topic list in tests/data.

For each topic, one mock test (Part 1 and Part 3 with three questions each, a Part 2 card):
the share whose three parts each mention the topic or its theme (the service's relevance
check), the share passing the IELTS format check, duplicate questions within a test, the share
matched only by fallback, and the CPU time per question (topic cache cold, then warm).

    python -m bench.quality [--baseline REF] [--rounds 5]

`--baseline REF` measures the provider of a git revision the same way, side by side; it also
writes bench/results/quality.json.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.harness import ROOT, median, write_result
from ielts_service.ai import offline, topics
from ielts_service.ai.ielts_format import FormatError, parse_cue_card, parse_questions
from ielts_service.ai.relevance import on_topic

TOPICS_FILE = ROOT / "tests" / "data" / "ielts_topics.txt"
PARTS = ((1, 3), (2, 1), (3, 3))


def topic_list() -> list[str]:
    lines = TOPICS_FILE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def measure(module: ModuleType, topic_list: list[str], rounds: int) -> dict[str, Any]:
    """The quality numbers of `module.OfflineProvider` over the topics."""
    provider = module.OfflineProvider()
    on, formatted, duplicates, fallback = 0, 0, 0, 0
    for topic in topic_list:
        parts = [provider.generate(topic, part, count) for part, count in PARTS]
        on += all(on_topic(topic, generation) for generation in parts)
        formatted += all(_passes_format(g.call.output_text, g.call.part) for g in parts)
        questions = [q for generation in parts for q in generation.questions]
        duplicates += len(questions) - len(set(questions))
        fallback += _match(module, parts[1], topic) == "fallback"
    total = len(topic_list)
    return {
        "topics": total,
        "on_topic_share": round(on / total, 4),
        "format_share": round(formatted / total, 4),
        "duplicate_questions": duplicates,
        "fallback_share": round(fallback / total, 4),
        **_cpu(provider, topic_list, rounds),
    }


def _passes_format(text: str | None, part: int) -> bool:
    try:
        if part == 2:
            parse_cue_card(text or "")
        else:
            parse_questions(text or "", 3)
    except FormatError:
        return False
    return True


def _match(module: ModuleType, generation: Any, topic: str) -> str:
    """How the topic matched; a provider without `match` either knew the topic or fell back."""
    match = getattr(generation, "match", None)
    if match is not None:
        return str(match)
    return "exact" if topic.lower() in module.TOPICS else "fallback"


def _cpu(provider: Any, topic_list: list[str], rounds: int) -> dict[str, float]:
    """Median CPU microseconds per question over the rounds: the topic cache cleared, then warm."""
    cold, warm = [], []
    calls = len(topic_list) * len(PARTS)
    for _ in range(rounds):
        topics.understand.cache_clear()
        for samples in (cold, warm):
            started = time.process_time()
            for topic in topic_list:
                for part, count in PARTS:
                    provider.generate(topic, part, count)
            samples.append((time.process_time() - started) / calls * 1e6)
    return {
        "cpu_us_per_question_cold": round(median(cold), 1),
        "cpu_us_per_question_warm": round(median(warm), 1),
    }


def baseline_module(ref: str) -> ModuleType:
    """The offline provider module of git revision `ref`, imported under another name."""
    archive = subprocess.run(
        ["git", "archive", ref, "src/ielts_service"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    target = Path(tempfile.mkdtemp(prefix="ielts-baseline-"))
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    (target / "src" / "ielts_service").rename(target / "ielts_baseline")
    sys.path.insert(0, str(target))
    return importlib.import_module("ielts_baseline.ai.offline")


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        ("topics whose three parts each mention the topic or its theme", "on_topic_share", "%"),
        ("topics whose three parts pass the format check", "format_share", "%"),
        ("duplicate questions within a mock test (all topics)", "duplicate_questions", ""),
        ("topics matched only by fallback", "fallback_share", "%"),
        ("CPU per question, topic cache cold (µs)", "cpu_us_per_question_cold", ""),
        ("CPU per question, topic cache warm (µs)", "cpu_us_per_question_warm", ""),
    ]
    names = list(results)
    lines = [
        f"| offline provider, {results[names[0]]['topics']} topics | " + " | ".join(names) + " |"
    ]
    lines.append("|---" * (len(names) + 1) + "|")
    for label, key, unit in rows:
        cells = [f"{results[n][key] * 100:.1f} %" if unit else f"{results[n][key]}" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to compare with, e.g. a release tag")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    names = topic_list()
    results: dict[str, dict[str, Any]] = {}
    if args.baseline:
        results[f"before ({args.baseline})"] = measure(
            baseline_module(args.baseline), names, args.rounds
        )
    results["now"] = measure(offline, names, args.rounds)
    print(table(results))
    write_result("quality", {"results": results})


if __name__ == "__main__":
    main()
