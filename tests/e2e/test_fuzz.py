"""Fuzzing from the spec: schemathesis against /openapi.json of gunicorn on PostgreSQL and Redis."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import BIN, Gunicorn, flask_cli, service_env, start_gunicorn, stop_group

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.fuzz]

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
EXAMPLES = 250  # fuzzing cases per operation and key; with coverage: over 5,000 requests
SEED = 20261130


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, pg_module_schema_url: str, redis_url: str
) -> Iterator[tuple[Gunicorn, str, Path]]:
    workdir = tmp_path_factory.mktemp("fuzz")
    env = service_env(
        workdir,
        DATABASE_URL=pg_module_schema_url,
        RATELIMIT_STORAGE_URI=redis_url,
        RATE_LIMIT_DEFAULT="1000000/minute",
        RATE_LIMIT_UNAUTHENTICATED="1000000/minute",
    )
    instance = start_gunicorn(workdir, env)
    created = flask_cli(
        workdir,
        env,
        "keys",
        "create",
        "fuzz",
        "--scopes",
        "questions:generate,audit:read,admin",
        "--json",
    )
    yield instance, json.loads(created.stdout)["key"], workdir
    stop_group(instance.process)


def fuzz(url: str, operation: tuple[str, str], report: Path, *headers: str) -> dict[str, Any]:
    """One schemathesis run over one operation (a process each: its worker threads are not
    safe to share, and processes use every core); its JSON report."""
    method, path = operation
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{url}/openapi.json",
        "--include-name",
        f"{method.upper()} {path}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--no-shrink",
        "--phases",
        "examples,coverage,fuzzing",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *[arg for header in headers for arg in ("-H", header)],
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=report.parent)
    assert report.exists(), result.stdout[-6000:] + result.stderr[-2000:]
    return dict(json.loads(report.read_text()), output=result.stdout[-6000:])


def served_requests(url: str) -> int:
    """Requests the instance has answered, from its own HTTP counter."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return round(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "flask_http_request_total"
        )
    )


def test_every_operation_fuzzed_with_and_without_a_key_gets_no_5xx_and_matches_the_spec(
    served: tuple[Gunicorn, str, Path],
) -> None:
    instance, key, workdir = served
    with urllib.request.urlopen(f"{instance.url}/openapi.json", timeout=10) as response:
        paths = json.load(response)["paths"]
    operations = [(method, path) for path, ops in paths.items() for method in ops]
    assert len(operations) >= 7
    keys = {"with-key": (f"Authorization: Bearer {key}",), "without-key": ()}
    before = served_requests(instance.url)
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = {
            (name, op): pool.submit(fuzz, instance.url, op, workdir / f"{name}-{n}.json", *headers)
            for n, op in enumerate(operations)
            for name, headers in keys.items()
        }
        reports = {run: future.result() for run, future in runs.items()}
    sent = served_requests(instance.url) - before
    for run, report in reports.items():
        assert report["operations"]["tested"] == 1, run
        assert report["failures"] == [], report["output"]
        assert report["errors"] == [], report["output"]
    assert sent >= 5000, sent
