"""The service as gunicorn serves it: headers on the wire, chunked bodies, /docs in chromium."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes import Gunicorn, flask_cli, service_env, start_gunicorn, stop_group
from tests.services import require_service

OPERATIONS = ["/v1/questions", "/generate-question", "/v1/speaking-tests", "/v1/audit/events"]


@dataclass
class Served:
    instance: Gunicorn
    key: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("served")
    env = service_env(workdir, DATABASE_URL=f"sqlite:///{workdir}/service.db")
    instance = start_gunicorn(workdir, env)
    key = json.loads(flask_cli(workdir, env, "keys", "create", "served", "--json").stdout)["key"]
    yield Served(instance, key)
    stop_group(instance.process)


def request(served: Served, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, str]]:
    """Status and headers (names lower-cased) of one request on its own connection."""
    host, port = served.instance.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, **kwargs)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def test_no_server_or_framework_version_on_the_wire(served: Served) -> None:
    status, headers = request(served, "GET", "/healthz")
    assert status == 200
    assert headers.get("server") in (None, "gunicorn")
    assert headers["x-content-type-options"] == "nosniff"
    assert not [v for v in headers.values() if "werkzeug" in v.lower() or "python" in v.lower()]


def test_chunked_body_over_16_kib_is_a_json_413(served: Served) -> None:
    body = b'{"topic": "' + b"x" * (17 * 1024) + b'"}'
    status, headers = request(
        served,
        "POST",
        "/v1/questions",
        body=iter([body[:8000], body[8000:]]),  # an iterable body goes out chunked
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {served.key}"},
        encode_chunked=True,
    )
    assert status == 413
    assert headers["content-type"] == "application/json"


def test_docs_renders_every_operation_in_chromium_under_its_policy(
    served: Served, tmp_path: Path
) -> None:
    browser = shutil.which("chromium")
    require_service("chromium", None if browser else "not installed (make system-deps)")
    assert browser is not None
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            f"{served.instance.url}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    rendered = {path for path in OPERATIONS if f'data-path="{path}"' in result.stdout}
    assert rendered == set(OPERATIONS), result.stderr[-2000:]
