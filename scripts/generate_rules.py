"""Generate the rule files Prometheus loads, with absolute links, from one source.

Source: the rule files monitoring/prometheus/rules/*.yml, whose `runbook_url` and
`dashboard_url` annotations are links relative to the base URLs of monitoring/links.yml.
Outputs (`make rules`):
  monitoring/prometheus/generated/rules.yml  every group, links resolved (Prometheus, Compose)
  deploy/k8s/base/prometheusrule.yaml        the same groups as a PrometheusRule (Kubernetes)
  the dashboard's hidden `runbooks` constant  the base its panels' runbook links start with
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "monitoring" / "prometheus" / "rules"
LINKS_FILE = ROOT / "monitoring" / "links.yml"
GENERATED_RULES = ROOT / "monitoring" / "prometheus" / "generated" / "rules.yml"
PROMETHEUS_RULE = ROOT / "deploy" / "k8s" / "base" / "prometheusrule.yaml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "dashboards" / "ielts-service.json"
# Annotation → the base (key of links.yml) its relative link is resolved against.
LINK_ANNOTATIONS = {"runbook_url": "runbooks", "dashboard_url": "grafana"}
HEADER = (
    "# Generated from monitoring/prometheus/rules/*.yml and monitoring/links.yml by\n"
    "# scripts/generate_rules.py. Do not edit: change those files, then run `make rules`.\n"
)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL, descriptions) as literal blocks, as in the sources."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def links(path: Path = LINKS_FILE) -> dict[str, str]:
    """The base URLs: absolute, each ending with a slash so relative links append to it."""
    bases: dict[str, str] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for name, base in bases.items():
        if "://" not in base or not base.endswith("/"):
            raise ValueError(f"{path.name}: {name} must be an absolute URL ending with '/'")
    return bases


def resolve(relative: str, base: str) -> str:
    """RELATIVE resolved against BASE; refuses links that would not stay under it."""
    if "://" in relative or relative.startswith("/"):
        raise ValueError(f"link {relative!r} must be relative to {base}")
    return urljoin(base, relative)


def rule_groups(rules_dir: Path = RULES_DIR) -> list[dict[str, Any]]:
    """Every rule group of the rule files as written, in file-name order; names must be unique."""
    groups: list[dict[str, Any]] = []
    for path in sorted(rules_dir.glob("*.yml")):
        groups.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    names = [group["name"] for group in groups]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"rule group names must be unique: {', '.join(duplicates)}")
    return groups


def resolved_groups(bases: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The rule groups with every link annotation made absolute."""
    bases = bases or links()
    groups = rule_groups()
    for group in groups:
        for rule in group["rules"]:
            annotations = rule.get("annotations", {})
            for name, base in LINK_ANNOTATIONS.items():
                if name in annotations:
                    annotations[name] = resolve(annotations[name], bases[base])
    return groups


def _yaml(document: dict[str, Any]) -> str:
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    return HEADER + body


def render_rules() -> str:
    """The rule file Prometheus loads, as text."""
    return _yaml({"groups": resolved_groups()})


def render_prometheus_rule() -> str:
    """The PrometheusRule manifest, as text."""
    return _yaml(
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "ielts-question-service"},
            "spec": {"groups": resolved_groups()},
        }
    )


def render_dashboard() -> str:
    """The dashboard with its `runbooks` constant set to the runbook base URL."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    (constant,) = [v for v in dashboard["templating"]["list"] if v["name"] == "runbooks"]
    constant["query"] = links()["runbooks"]
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


OUTPUTS = {
    GENERATED_RULES: render_rules,
    PROMETHEUS_RULE: render_prometheus_rule,
    DASHBOARD: render_dashboard,
}


def main() -> None:
    for path, render in OUTPUTS.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
