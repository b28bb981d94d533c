"""`flask keys …`: create, list, revoke, rotate and expiry, on both backends."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import create_app
from ielts_service.config import Settings
from ielts_service.db import get_engine_of
from ielts_service.keys import KEY_PATTERN
from tests.helpers import both_backends
from tests.processes import flask_cli

QUESTION = {"topic": "a memorable trip"}


pytestmark = both_backends


@pytest.fixture
def cli(app: Flask) -> Callable[..., Result]:
    """Run `flask keys ARGS` against the app."""
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["keys", *args])


@pytest.fixture
def create(cli: Callable[..., Result]) -> Callable[..., str]:
    """Create a key through the CLI (--json); returns the full key."""

    def run(name: str, *options: str) -> str:
        result = cli("create", name, "--json", *options)
        assert result.exit_code == 0, result.output
        key: str = json.loads(result.stdout)["key"]
        return key

    return run


def status(client: FlaskClient, key: str) -> int:
    return client.post(
        "/v1/questions", json=QUESTION, headers={"Authorization": f"Bearer {key}"}
    ).status_code


def wait_for_status(clients: list[FlaskClient], key: str, expected: int, within: float) -> float:
    """Poll until every client gets `expected` for `key`; return the seconds it took."""
    started = time.monotonic()
    while any(status(client, key) != expected for client in clients):
        assert time.monotonic() - started < within, f"still not {expected} after {within}s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_create_prints_a_working_key_once(
    cli: Callable[..., Result], ip_client: FlaskClient
) -> None:
    result = cli("create", "mobile-app", "--scopes", "questions:generate")
    assert result.exit_code == 0
    found = [word for word in result.stdout.split() if KEY_PATTERN.fullmatch(word)]
    assert len(found) == 1
    assert status(ip_client, found[0]) == 200


def test_create_json_prints_only_the_object_on_stdout(settings: Settings, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": settings.DATABASE_URL,
        "APP_ENV": "development",
        "LOG_LEVEL": "DEBUG",
        "LOG_FILE": "",
        "AI_PROVIDER": "offline",
    }
    result = flask_cli(
        tmp_path, env, "keys", "create", "script", "--scopes", "audit:read", "--json"
    )
    created = json.loads(result.stdout)
    assert set(created) == {"id", "name", "key"}
    assert created["name"] == "script"
    assert KEY_PATTERN.fullmatch(created["key"])[1] == created["id"]  # type: ignore[index]


def test_list_never_shows_a_secret_or_its_hash(
    app: Flask, cli: Callable[..., Result], create: Callable[..., str]
) -> None:
    key = create("listed", "--rate-limit", "5/minute", "--token-budget", "1000")
    text, as_json = cli("list").stdout, cli("list", "--json").stdout
    listed = json.loads(as_json)
    assert [row["name"] for row in listed] == ["listed"]
    assert listed[0]["prefix"] == key[:15]
    assert "secret_hash" not in listed[0]
    assert listed[0]["rate_limit"] == "5/minute"
    assert listed[0]["token_budget"] == 1000
    for output in (text, as_json):
        assert key[16:] not in output
        assert key[:16] not in output
        assert _stored_hash(app) not in output


def _stored_hash(app: Flask) -> str:
    with get_engine_of(app).connect() as conn:
        stored: str = conn.exec_driver_sql("SELECT secret_hash FROM api_keys").scalar_one()
        return stored


def test_revoked_key_stops_on_every_worker_within_the_cache_ttl(
    settings: Settings,
    cli: Callable[..., Result],
    create: Callable[..., str],
    make_ip: Callable[[], str],
) -> None:
    """Two apps on one database stand for two workers: both refuse the key within 5 s."""
    key = create("leaving")
    workers = [create_app(settings) for _ in range(2)]
    try:
        clients = [worker.test_client() for worker in workers]
        for client in clients:
            client.environ_base["REMOTE_ADDR"] = make_ip()
        assert [status(client, key) for client in clients] == [200, 200]  # now cached
        assert cli("revoke", "leaving").exit_code == 0
        took = wait_for_status(clients, key, 401, within=5)
        assert took <= settings.KEY_CACHE_TTL_S + 1
    finally:
        for worker in workers:
            get_engine_of(worker).dispose()


def test_rotated_key_works_at_once_and_the_old_one_during_the_grace(
    cli: Callable[..., Result], create: Callable[..., str], ip_client: FlaskClient
) -> None:
    old = create("rotating")
    assert status(ip_client, old) == 200  # the row is now cached by this worker
    result = cli("rotate", "rotating", "--grace", "1h", "--json")
    new = json.loads(result.stdout)["key"]
    assert new != old
    assert new[:16] == old[:16]
    assert status(ip_client, new) == 200
    assert status(ip_client, old) == 200


def test_old_secret_fails_after_a_zero_grace(
    cli: Callable[..., Result], create: Callable[..., str], ip_client: FlaskClient
) -> None:
    old = create("rotating")
    assert cli("rotate", "rotating", "--grace", "0s").exit_code == 0
    wait_for_status([ip_client], old, 401, within=5)


def test_old_secret_fails_when_a_short_grace_ends(
    cli: Callable[..., Result], create: Callable[..., str], ip_client: FlaskClient
) -> None:
    old = create("rotating")
    assert cli("rotate", "rotating", "--grace", "2s").exit_code == 0
    assert status(ip_client, old) == 200
    wait_for_status([ip_client], old, 401, within=7)


def test_default_grace_comes_from_the_setting(
    cli: Callable[..., Result], create: Callable[..., str]
) -> None:
    create("rotating")
    output = cli("rotate", "rotating").stdout
    assert "the old secret works until" in output


def test_key_stops_when_it_expires(create: Callable[..., str], ip_client: FlaskClient) -> None:
    key = create("short-lived", "--expires-in", "2s")
    assert status(ip_client, key) == 200
    wait_for_status([ip_client], key, 401, within=5)


def test_list_marks_revoked_keys(cli: Callable[..., Result], create: Callable[..., str]) -> None:
    create("kept")
    create("dropped")
    cli("revoke", "dropped")
    states = {line.split()[0]: line.split()[2] for line in cli("list").stdout.splitlines()}
    assert states == {"kept": "active", "dropped": "revoked"}


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["create", "x", "--scopes", "questions:generate,nope"], 1, "scopes must be among"),
        (["create", "x", "--scopes", ","], 1, "got none"),
        (["create", "x", "--expires-in", "30x"], 2, "not a duration"),
        (["create", "x", "--expires-in", "0d"], 2, "longer than zero"),
        (["create", "x", "--rate-limit", "5 per fortnight"], 2, "not a rate limit"),
        (["create", "x", "--token-budget", "0"], 2, "--token-budget"),
        (["create", "taken"], 1, "already exists"),
        (["revoke", "nobody"], 1, "no key named 'nobody'"),
        (["rotate", "nobody"], 1, "no key named 'nobody'"),
        (["rotate", "taken", "--grace", "soon"], 2, "not a duration"),
    ],
)
def test_bad_arguments_give_clear_errors(
    cli: Callable[..., Result],
    create: Callable[..., str],
    args: list[str],
    exit_code: int,
    message: str,
) -> None:
    create("taken")
    result = cli(*args)
    assert result.exit_code == exit_code
    assert message in result.output


def test_a_revoked_key_cannot_be_rotated(
    cli: Callable[..., Result], create: Callable[..., str]
) -> None:
    create("gone")
    cli("revoke", "gone")
    result = cli("rotate", "gone")
    assert result.exit_code == 1
    assert "is revoked" in result.output
