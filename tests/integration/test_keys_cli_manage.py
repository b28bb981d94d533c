"""`flask keys show`, `keys update` and `keys usage`, on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import audit_rows, both_backends

QUESTION = {"topic": "a memorable trip"}

pytestmark = [both_backends, pytest.mark.settings(KEY_CACHE_TTL_S=0)]


@pytest.fixture
def cli(app: Flask) -> Callable[..., Result]:
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["keys", *args])


@pytest.fixture
def key(cli: Callable[..., Result]) -> dict[str, str]:
    """A key created through the CLI: its id, name and full key."""
    result = cli("create", "reporting", "--json", "--token-budget", "900")
    assert result.exit_code == 0, result.output
    created: dict[str, str] = json.loads(result.stdout)
    return created


def ask(client: FlaskClient, secret: str) -> int:
    headers = {"Authorization": f"Bearer {secret}"}
    return client.post("/v1/questions", json=QUESTION, headers=headers).status_code


@pytest.mark.parametrize("ref", ["id", "name"])
def test_show_finds_a_key_by_id_or_name(
    cli: Callable[..., Result], key: dict[str, str], ip_client: FlaskClient, ref: str
) -> None:
    assert ask(ip_client, key["key"]) == 200
    result = cli("show", key[ref], "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["id"], shown["name"], shown["token_budget"]) == (key["id"], "reporting", 900)
    assert shown["usage_today"]["requests"] == 1
    assert key["key"][16:] not in result.stdout


def test_show_in_text_names_limits_budget_and_today(
    cli: Callable[..., Result], key: dict[str, str]
) -> None:
    text = cli("show", "reporting").stdout
    assert "900 tokens/day" in text
    assert "(default)" in text  # the rate limit
    assert "0 requests" in text


def test_show_of_an_unknown_key_fails_naming_it(cli: Callable[..., Result]) -> None:
    result = cli("show", "nobody")
    assert result.exit_code == 1
    assert "nobody" in result.output


def test_update_changes_and_clears_and_reports_the_change(
    cli: Callable[..., Result], key: dict[str, str], ip_client: FlaskClient
) -> None:
    result = cli(
        "update", "reporting", "--rate-limit", "1/minute", "--token-budget", "default", "--json"
    )
    assert result.exit_code == 0, result.output
    updated = json.loads(result.stdout)
    assert (updated["rate_limit"], updated["token_budget"]) == ("1/minute", None)
    assert updated["change"] == {
        "rate_limit": {"old": None, "new": "1/minute"},
        "token_budget": {"old": 900, "new": None},
    }
    assert [ask(ip_client, key["key"]) for _ in range(2)] == [200, 429]


def test_update_scopes_and_expiry_take_effect(
    cli: Callable[..., Result], key: dict[str, str], ip_client: FlaskClient
) -> None:
    assert cli("update", key["id"], "--scopes", "audit:read").exit_code == 0
    assert ask(ip_client, key["key"]) == 403
    assert cli("update", key["id"], "--scopes", "questions:generate").exit_code == 0
    assert cli("update", key["id"], "--expires-in", "1s").exit_code == 0
    shown = json.loads(cli("show", key["id"], "--json").stdout)
    assert shown["expires_at"] is not None
    assert cli("update", key["id"], "--expires-in", "never").exit_code == 0
    assert json.loads(cli("show", key["id"], "--json").stdout)["expires_at"] is None


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--rate-limit", "often"],
        ["--token-budget", "0"],
        ["--token-budget", str(2**31)],
        ["--expires-in", "forever"],
        ["--scopes", "root"],
        ["--scopes", ""],
    ],
)
def test_update_refuses_bad_options_and_changes_nothing(
    cli: Callable[..., Result], key: dict[str, str], options: list[str]
) -> None:
    before = cli("show", key["id"], "--json").stdout
    result = cli("update", key["id"], *options)
    assert result.exit_code != 0
    assert cli("show", key["id"], "--json").stdout == before


def test_usage_reports_by_key_with_names_in_text(
    cli: Callable[..., Result], key: dict[str, str], ip_client: FlaskClient
) -> None:
    assert ask(ip_client, key["key"]) == 200
    rows = json.loads(cli("usage", "--json", "--group-by", "key", "--key", "reporting").stdout)
    assert rows == {
        "usage": [
            {
                "key_id": key["id"],
                "requests": 1,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "errors": 0,
            }
        ]
    }
    text = cli("usage", "--since", "1d").stdout
    assert "reporting" in text.splitlines()[1]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01"])
def test_usage_refuses_a_bad_since(cli: Callable[..., Result], since: str) -> None:
    result = cli("usage", "--since", since)
    assert result.exit_code == 2
    assert "--since" in result.output


def test_update_leaves_one_key_updated_record_by_the_cli_user(
    app: Flask, cli: Callable[..., Result], key: dict[str, str]
) -> None:
    cli("update", key["id"], "--rate-limit", "9/minute")
    cli("update", key["id"], "--rate-limit", "9/minute")  # nothing changes: no record
    updated = audit_rows(app, kind="key_updated")
    assert len(updated) == 1
    assert updated[0]["actor"].startswith("cli:")
    assert updated[0]["target_key_id"] == key["id"]
    assert updated[0]["change"] == {"rate_limit": {"old": None, "new": "9/minute"}}
