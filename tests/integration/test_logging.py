"""Log lines: JSON fields, one access line per request, redaction, console format."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import create_app
from ielts_service.config import Settings
from ielts_service.logging_setup import configure_logging
from ielts_service.redaction import Redactor

BASE_FIELDS = {"timestamp", "level", "logger", "message", "request_id", "version", "environment"}
ACCESS_FIELDS = {
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "bytes",
    "key_id",
    "client_ip",
    "user_agent",
}
LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "log" / "service.log"


@pytest.fixture
def overrides(log_file: Path) -> dict[str, Any]:
    # The file handler gets the same lines as stdout, and is not swapped by pytest's capture.
    return {"LOG_LEVEL": "INFO", "ENABLE_TEST_ROUTES": True, "LOG_FILE": str(log_file)}


@pytest.fixture
def log_lines(log_file: Path) -> LogLines:
    """The JSON lines written since the last call (every line must parse)."""
    offset = 0

    def read() -> list[dict[str, Any]]:
        nonlocal offset
        if not log_file.exists():  # the handler creates it on the first line
            return []
        with log_file.open("rb") as stream:
            stream.seek(offset)
            data = stream.read()
        offset += len(data)
        return [json.loads(line) for line in data.splitlines()]

    return read


def access_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "ielts_service.access"]


def test_line_outside_a_request_has_every_field(app: Flask, log_lines: LogLines) -> None:
    log_lines()
    logging.getLogger("ielts_service.test").warning("outside %s", "a request")
    [line] = log_lines()
    assert set(line) == BASE_FIELDS
    assert line["message"] == "outside a request"
    assert line["level"] == "WARNING"
    assert line["request_id"] is None
    assert line["environment"] == "test"
    assert line["version"]


def test_timestamp_is_iso8601_utc(app: Flask, log_lines: LogLines) -> None:
    log_lines()
    logging.getLogger("ielts_service.test").warning("tick")
    stamp = log_lines()[0]["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", stamp)
    assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0)


def test_access_line_fields_and_request_id(
    client: FlaskClient, auth: dict[str, str], log_lines: LogLines
) -> None:
    log_lines()
    response = client.post(
        "/v1/questions", json={"topic": "a trip"}, headers={**auth, "User-Agent": "probe/1.0"}
    )
    [line] = access_lines(log_lines())
    assert set(line) >= BASE_FIELDS | ACCESS_FIELDS
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert (line["method"], line["route"], line["path"], line["status"]) == (
        "POST",
        "/v1/questions",
        "/v1/questions",
        200,
    )
    assert line["key_id"] == auth["Authorization"].split("_")[1]
    assert line["bytes"] == len(response.data)
    assert line["duration_ms"] > 0
    assert (line["client_ip"], line["user_agent"]) == ("127.0.0.1", "probe/1.0")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/healthz", {}, 200),
        ("GET", "/no/such/path", {}, 404),
        ("GET", "/v1/questions", {}, 405),
        ("POST", "/v1/questions", {"data": "{", "content_type": "application/json"}, 400),
        ("POST", "/v1/questions", {"json": {"topic": "x"}, "auth": False}, 401),
        ("POST", "/v1/questions", {"data": "x" * 17_000, "content_type": "application/json"}, 413),
        ("POST", "/v1/questions", {"data": "topic", "content_type": "text/plain"}, 415),
        ("POST", "/v1/questions", {"json": {"topic": ""}}, 422),
        ("GET", "/_test/crash", {}, 500),
    ],
)
def test_one_access_line_per_request_for_every_outcome(
    client: FlaskClient,
    auth: dict[str, str],
    log_lines: LogLines,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    headers = auth if kwargs.pop("auth", True) else {}
    log_lines()
    response = client.open(path, method=method, headers=headers, **kwargs)
    assert response.status_code == status
    [line] = access_lines(log_lines())
    assert (line["status"], line["request_id"]) == (status, response.headers["X-Request-ID"])


def test_aborted_upload_gets_one_access_line(
    client: FlaskClient, auth: dict[str, str], log_lines: LogLines
) -> None:
    log_lines()
    # The client promised 100 bytes and hung up after 9.
    response = client.post(
        "/v1/questions",
        input_stream=io.BytesIO(b'{"topic":'),
        headers={**auth, "Content-Type": "application/json", "Content-Length": "100"},
    )
    [line] = access_lines(log_lines())
    assert line["status"] == response.status_code == 400


def test_unhandled_exception_line_has_the_traceback(
    client: FlaskClient, log_lines: LogLines
) -> None:
    log_lines()
    response = client.get("/_test/crash")
    [error] = [line for line in log_lines() if line["level"] == "ERROR"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "RuntimeError: deliberate failure" in error["exc_info"]


def test_traceback_is_redacted(app: Flask, log_lines: LogLines) -> None:
    key = "iq_0123456789ab_" + "s" * 43
    log_lines()
    try:
        raise ValueError(f"rejected {key}")
    except ValueError:
        logging.getLogger("ielts_service.test").exception("failed")
    [line] = log_lines()
    assert "ValueError: rejected iq_0123456789ab_[REDACTED]" in line["exc_info"]


def test_key_in_topic_is_redacted_in_the_audit_line(
    client: FlaskClient, auth: dict[str, str], log_lines: LogLines
) -> None:
    secret = auth["Authorization"].removeprefix("Bearer ")
    log_lines()
    response = client.post("/v1/questions", json={"topic": f"my key {secret}"}, headers=auth)
    assert response.status_code == 200
    lines = log_lines()
    [audit] = [line for line in lines if line["logger"] == "ielts_service.audit"]
    assert audit["request_id"] == response.headers["X-Request-ID"]
    assert audit["audit"]["topic"].endswith("_[REDACTED]")
    assert secret not in json.dumps(lines)


def test_werkzeug_dev_server_access_line_is_dropped(app: Flask, log_lines: LogLines) -> None:
    log_lines()
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.info('127.0.0.1 - - [28/Nov/2026 10:00:00] "%s" %s %s', "GET / HTTP/1.1", 200, 5)
    werkzeug.info(" * Running on http://127.0.0.1:8000")
    assert [line["message"] for line in log_lines()] == [" * Running on http://127.0.0.1:8000"]


def test_console_format_is_one_readable_line(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    client = create_app(make_settings(LOG_FORMAT="console", LOG_LEVEL="INFO")).test_client()
    capsys.readouterr()
    response = client.get("/healthz", headers={"X-Request-ID": "req-42", "User-Agent": "probe"})
    [line] = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d INFO    ielts_service\.access \[req-42\] GET /healthz 200 "
        r"method=GET route=/healthz path=/healthz status=200 duration_ms=[\d.]+ "
        rf"bytes={len(response.data)} key_id=None client_ip=127\.0\.0\.1 user_agent=probe "
        r"error_code=None",
        line,
    )


def test_stdout_gets_the_same_json(
    make_settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(make_settings(), "9.9.9", Redactor())
    logging.getLogger("ielts_service.test").warning("to stdout")
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert set(line) == BASE_FIELDS
    assert line["version"] == "9.9.9"


def test_terminal_colours_never_reach_a_line(app: Flask, log_lines: LogLines) -> None:
    log_lines()
    # The development server's banner is coloured with ANSI escapes.
    logging.getLogger("werkzeug").warning("\x1b[33mPress CTRL+C to quit\x1b[0m")
    [line] = [line for line in log_lines() if "CTRL+C" in line["message"]]
    assert line["message"] == "Press CTRL+C to quit"


class TestModelCall:
    @pytest.fixture
    def overrides(self, log_file: Path, azure_settings: dict[str, Any]) -> dict[str, Any]:
        return {**azure_settings, "LOG_LEVEL": "INFO", "LOG_FILE": str(log_file)}

    def test_a_model_call_logs_its_audit_record_and_access_line_only(
        self, client: FlaskClient, auth: dict[str, str], log_lines: LogLines
    ) -> None:
        log_lines()
        response = client.post("/v1/questions", json={"topic": "a trip", "part": 2}, headers=auth)
        assert response.status_code == 200
        loggers = [line["logger"] for line in log_lines()]
        assert loggers == ["ielts_service.audit", "ielts_service.access"]
