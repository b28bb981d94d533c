"""Generate deploy/k8s/base/prometheusrule.yaml from monitoring/prometheus/rules/*.yml.

The rule files Prometheus loads are the one source of the alerts; the Kubernetes
PrometheusRule is derived from them by `make k8s-rules`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "monitoring" / "prometheus" / "rules"
OUTPUT = ROOT / "deploy" / "k8s" / "base" / "prometheusrule.yaml"
HEADER = (
    "# Generated from monitoring/prometheus/rules/*.yml by scripts/generate_prometheus_rule.py.\n"
    "# Do not edit: change the rule files, then run `make k8s-rules`.\n"
)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL, descriptions) as literal blocks, as in the sources."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def rule_groups(rules_dir: Path = RULES_DIR) -> list[dict[str, Any]]:
    """Every rule group of the rule files, in file-name order; group names must be unique."""
    groups: list[dict[str, Any]] = []
    for path in sorted(rules_dir.glob("*.yml")):
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    names = [group["name"] for group in groups]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"rule group names must be unique: {', '.join(duplicates)}")
    return groups


def render(rules_dir: Path = RULES_DIR) -> str:
    """The PrometheusRule manifest, as text."""
    manifest = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ielts-question-service"},
        "spec": {"groups": rule_groups(rules_dir)},
    }
    body = yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    return HEADER + body


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
