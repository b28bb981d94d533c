"""A full scenario under gunicorn (2 workers, tiny LOG_MAX_BYTES): no log line lost, duplicated
or torn across rotations, one access line per request, and no secret in logs or Sentry."""

from __future__ import annotations

import http.client
import json
import random
import secrets
import socket
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ielts_service import __version__, keys
from tests.fakes.azure import FakeAzure, FakeAzureServer
from tests.fakes.sentry import PUBLIC_KEY, SECRET_KEY, SentryCapture, running_capture
from tests.processes import (
    Gunicorn,
    azure_env,
    request_limits,
    service_env,
    start_gunicorn,
    stop_group,
    wait_until,
)

pytestmark = pytest.mark.e2e

AZURE_KEY = "azure-scenario-key-7d41c0ffee9b2a58"
BEARER_TOKEN = "opaque-bearer-token-3e8f1d27c9a4"
GIT_SHA = "5eed5eed"
BASE_FIELDS = {"timestamp", "level", "logger", "message", "request_id", "version", "environment"}
# Small files, so the scenario sees them rotate; every line, gunicorn's own included.
ROTATING_DEBUG_LOGS = {
    "LOG_MAX_BYTES": "4096",
    "LOG_BACKUP_COUNT": "500",
    "LOG_LEVEL": "DEBUG",
    "GUNICORN_LOG_LEVEL": "info",
}
# One retry within a second, and a circuit that never opens: every upstream failure is seen.
QUICK_UPSTREAM_FAILURES = {
    "AZURE_OPENAI_TIMEOUT_S": "1",
    "AZURE_OPENAI_MAX_RETRIES": "1",
    "CIRCUIT_BREAKER_FAILURES": "1000",
}


@dataclass(frozen=True)
class Sent:
    """One request of the scenario, as the client saw it."""

    label: str
    status: int
    request_id: str


@dataclass
class Service:
    """The running instance and what the scenario needs to talk to it."""

    gunicorn: Gunicorn
    workdir: Path
    capture: SentryCapture
    fake_azure: FakeAzure
    keys: dict[str, str]
    client_ip: str

    @property
    def port(self) -> int:
        return int(self.gunicorn.url.rsplit(":", 1)[1])

    def send(
        self,
        label: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Sent:
        """One request on its own connection; `body` is JSON unless it is bytes."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                method,
                path,
                body=data,
                headers={
                    "X-Forwarded-For": self.client_ip,
                    "Content-Type": content_type,
                    **(headers or {}),
                },
            )
            response = conn.getresponse()
            response.read()
            return Sent(label, response.status, response.headers["X-Request-ID"])
        finally:
            conn.close()

    def hang_up(self, label: str, request_id: str, head: str, body: bytes = b"") -> str:
        """Send a request (or part of one) and close the connection without reading a reply."""
        head += f"X-Forwarded-For: {self.client_ip}\r\nX-Request-ID: {request_id}\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(head.encode() + body)
        return request_id

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeAzure]:
    """The fake Azure server, for the whole module (the scenario runs once)."""
    server = FakeAzureServer().start()
    yield FakeAzure(server)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, upstream: FakeAzure
) -> Iterator[Service]:
    """gunicorn with 2 workers on SQLite and the shared Redis, reporting to a capture server."""
    workdir = tmp_path_factory.mktemp("scenario")
    with running_capture() as capture:
        env = service_env(
            workdir,
            DATABASE_URL=f"sqlite:///{workdir}/service.db",
            RATELIMIT_STORAGE_URI=redis_url,
            SENTRY_DSN=capture.dsn,
            GIT_SHA=GIT_SHA,
            ENABLE_TEST_ROUTES="true",
            TRUSTED_PROXY_HOPS="1",
            **ROTATING_DEBUG_LOGS,
            **azure_env(upstream.url, api_key=AZURE_KEY),
            **QUICK_UPSTREAM_FAILURES,
            **request_limits(1000),
        )
        gunicorn = start_gunicorn(workdir, env)
        try:
            yield Service(
                gunicorn,
                workdir,
                capture,
                upstream,
                _create_keys(env["DATABASE_URL"]),
                f"10.{random.randrange(256)}.{random.randrange(256)}.7",
            )
        finally:
            stop_group(gunicorn.process)


def _create_keys(database_url: str) -> dict[str, str]:
    """Keys for the scenario, created in the instance's database once migrations ran."""
    engine = sa.create_engine(database_url)
    specs = {
        "full": (["questions:generate", "audit:read"], None),
        "reader": (["audit:read"], None),
        "limited": (["questions:generate"], "2/minute"),
    }
    try:
        return {
            name: keys.create_key(
                engine, name=f"{name}-{uuid.uuid4().hex[:8]}", scopes=scopes, rate_limit=limit
            )[1]
            for name, (scopes, limit) in specs.items()
        }
    finally:
        engine.dispose()


def _concurrent_round(svc: Service, n: int) -> list[Sent]:
    """Good requests and every client error, in parallel, so both workers write at once."""
    unknown_key = f"iq_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
    full = svc.keys["full"]
    calls: list[tuple[Any, ...]] = [
        ("question", "POST", "/v1/questions", {"topic": "a memorable trip"}, svc.bearer("full")),
        ("part1", "POST", "/v1/questions", {"topic": "books", "part": 1}, svc.bearer("full")),
        ("legacy", "POST", "/generate-question", {"topic": "a park"}, {"X-API-Key": full}),
        ("speaking", "POST", "/v1/speaking-tests", {"topic": "music"}, svc.bearer("full")),
        (
            "key-in-topic",
            "POST",
            "/v1/questions",
            {"topic": f"my key is {full}"},
            svc.bearer("full"),
        ),
        ("audit", "GET", "/v1/audit/events?limit=5", None, svc.bearer("reader")),
        ("health", "GET", "/healthz", None, {"X-Request-ID": f"client-id-{n}"}),
        ("bad-id", "GET", "/healthz", None, {"X-Request-ID": "not a valid id!"}),
        ("400", "POST", "/v1/questions", b"{not json", svc.bearer("full")),
        ("401-missing", "POST", "/v1/questions", {"topic": "x"}, {}),
        (
            "401-unknown",
            "POST",
            "/v1/questions",
            {"topic": "x"},
            {"Authorization": f"Bearer {unknown_key}"},
        ),
        (
            "401-opaque",
            "POST",
            "/v1/questions",
            {"topic": "x"},
            {"Authorization": f"Bearer {BEARER_TOKEN}"},
        ),
        ("403", "POST", "/v1/questions", {"topic": "x"}, svc.bearer("reader")),
        ("404", "GET", "/no/such/path", None, {}),
        ("404-key-in-query", "GET", f"/nope?api_key={full}&token={BEARER_TOKEN}", None, {}),
        ("405", "GET", "/v1/questions", None, svc.bearer("full")),
        ("413", "POST", "/v1/questions", b"x" * 17_000, svc.bearer("full")),
        ("422", "POST", "/v1/questions", {"topic": ""}, svc.bearer("full")),
        (
            "422-key-field",
            "POST",
            "/v1/questions",
            {"topic": "x", "api_key": full},
            svc.bearer("full"),
        ),
        ("500", "GET", f"/_test/crash?token={BEARER_TOKEN}", None, svc.bearer("full")),
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(lambda call: svc.send(*call), calls))
    sent.append(
        svc.send(
            "415", "POST", "/v1/questions", b"topic", svc.bearer("full"), content_type="text/plain"
        )
    )
    return sent


def _upstream_failures(svc: Service) -> tuple[list[Sent], list[str]]:
    """502, 503 and 504 from the fake upstream, and two requests whose client hung up."""
    ask = ("POST", "/v1/questions", {"topic": "a river"}, svc.bearer("full"))
    sent = []
    for mode, label in (("error", "502"), ("throttle", "503")):
        svc.fake_azure.set(mode=mode, retry_after=0)
        sent.append(svc.send(label, *ask))
    svc.fake_azure.set(mode="hang")
    aborted = [
        svc.hang_up(
            "aborted-wait",
            f"aborted-{uuid.uuid4().hex}",
            "POST /v1/questions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {svc.keys['full']}\r\nContent-Length: 17\r\n",
            b'{"topic": "late"}',
        )
    ]
    sent.append(svc.send("504", *ask))
    svc.fake_azure.set(mode="ok")
    aborted.append(
        svc.hang_up(
            "aborted-upload",
            f"aborted-{uuid.uuid4().hex}",
            "POST /v1/questions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {svc.keys['full']}\r\nContent-Length: 100\r\n",
            b'{"topic":',
        )
    )
    return sent, aborted


def _rate_limited(svc: Service) -> list[Sent]:
    return [
        svc.send("limited", "POST", "/v1/questions", {"topic": "a lake"}, svc.bearer("limited"))
        for _ in range(3)
    ]


def _log_lines(workdir: Path) -> list[dict[str, Any]]:
    """Every line of the log file and all its rotated backups; each must be a JSON object."""
    files = sorted((workdir / "log").glob("service.log*"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


@dataclass
class Outcome:
    """What the scenario left behind, read after gunicorn stopped."""

    sent: list[Sent]
    aborted: list[str]
    lines: list[dict[str, Any]]
    log_files: list[Path]
    output: str
    service: Service

    def access_lines(self) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines
            if line["logger"] == "ielts_service.access"
            and line["client_ip"] == self.service.client_ip
        ]


@pytest.fixture(scope="module")
def outcome(service: Service) -> Outcome:
    """Run the scenario, stop gunicorn gracefully (workers flush Sentry), collect everything."""
    sent = [*_concurrent_round(service, 0), *_concurrent_round(service, 1)]
    sent += _rate_limited(service)
    failures, aborted = _upstream_failures(service)
    sent += failures
    sent += _concurrent_round(service, 2)

    def aborted_logged() -> bool:
        ids = {line["request_id"] for line in _log_lines(service.workdir)}
        return set(aborted) <= ids

    wait_until(aborted_logged, 30, "the aborted requests' access lines")
    service.gunicorn.terminate()
    service.gunicorn.process.wait(timeout=60)
    return Outcome(
        sent,
        aborted,
        _log_lines(service.workdir),
        sorted((service.workdir / "log").glob("service.log*")),
        (service.workdir / "gunicorn.out").read_text(),
        service,
    )


def test_scenario_covers_every_error_class_and_rotates(outcome: Outcome) -> None:
    statuses = {sent.status for sent in outcome.sent}
    assert {200, 400, 401, 403, 404, 405, 413, 415, 422, 429, 500, 502, 503, 504} <= statuses
    assert len(outcome.log_files) > 10  # LOG_MAX_BYTES=4096: many rotations, none deleted


def test_every_log_line_is_complete_json(outcome: Outcome) -> None:
    assert len(outcome.lines) > len(outcome.sent)
    assert all(set(line) >= BASE_FIELDS for line in outcome.lines)
    assert {line["version"] for line in outcome.lines} == {__version__}
    assert {line["environment"] for line in outcome.lines} == {"test"}


def test_stdout_and_stderr_are_json_lines_too(outcome: Outcome) -> None:
    lines = [json.loads(line) for line in outcome.output.splitlines()]
    assert {"gunicorn.error", "ielts_service.access"} <= {line["logger"] for line in lines}


def test_exactly_one_access_line_per_request(outcome: Outcome) -> None:
    access = outcome.access_lines()
    assert len(access) == len(outcome.sent) + len(outcome.aborted)
    per_id = Counter(line["request_id"] for line in access)
    expected = [sent.request_id for sent in outcome.sent] + outcome.aborted
    assert per_id == Counter(expected)
    assert set(per_id.values()) == {1}


def test_access_lines_match_what_each_client_saw(outcome: Outcome) -> None:
    by_id = {line["request_id"]: line for line in outcome.access_lines()}
    assert {sent.request_id: by_id[sent.request_id]["status"] for sent in outcome.sent} == {
        sent.request_id: sent.status for sent in outcome.sent
    }
    assert [by_id[request_id]["status"] for request_id in outcome.aborted] == [504, 400]
    client_ids = [sent.request_id for sent in outcome.sent if sent.label == "health"]
    assert client_ids == [f"client-id-{n}" for n in range(3)]


def test_no_secret_in_logs_output_or_sentry(outcome: Outcome) -> None:
    svc = outcome.service
    secrets_ = [*svc.keys.values(), AZURE_KEY, SECRET_KEY, PUBLIC_KEY, BEARER_TOKEN]
    logs = "\n".join(path.read_text() for path in outcome.log_files) + outcome.output
    assert [s for s in secrets_ if s in logs] == []
    envelopes = b"".join(svc.capture.raw()).decode()
    assert [s for s in secrets_ if s != PUBLIC_KEY and s in envelopes] == []
    assert not any(PUBLIC_KEY in item.decode() for item in svc.capture.item_bytes())


def test_sentry_gets_server_errors_only(outcome: Outcome) -> None:
    events = outcome.service.capture.items("event")
    status_of = {sent.request_id: sent.status for sent in outcome.sent}
    status_of.update({request_id: 504 for request_id in outcome.aborted[:1]})
    tagged = Counter(status_of[event["tags"]["request_id"]] for event in events)
    assert tagged == Counter({500: 3, 502: 1, 503: 1, 504: 2})
    release = f"ielts-question-service@{__version__}+{GIT_SHA}"
    assert {event["release"] for event in events} == {release}
