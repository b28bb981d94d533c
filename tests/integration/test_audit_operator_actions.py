"""Operator actions leave exactly one chained record each, with actor and change, no secret."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import keys
from ielts_service.audit import cli_actor, record_operator_action, store
from ielts_service.audit.chain import jsonable, record_hash
from ielts_service.clock import now
from ielts_service.db import get_engine_of
from ielts_service.tables import api_keys
from tests.helpers import audit_rows, both_backends

pytestmark = both_backends


def cli(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


def operator_rows(app: Flask) -> list[dict[str, Any]]:
    return [row for row in audit_rows(app, kind=None) if row["kind"] != "model_call"]


def created(app: Flask, name: str) -> dict[str, Any]:
    """Create key NAME through the CLI; returns its --json output."""
    output: dict[str, Any] = json.loads(
        cli(app, "keys", "create", name, "--scopes", "audit:read", "--json").stdout
    )
    return output


def test_each_key_action_leaves_exactly_one_record(app: Flask) -> None:
    key = created(app, "reporting")
    cli(app, "keys", "rotate", "reporting", "--grace", "1h")
    cli(app, "keys", "revoke", "reporting")
    cli(app, "keys", "revoke", "reporting")  # already revoked: no action, no record
    rows = operator_rows(app)
    assert [row["kind"] for row in rows] == ["key_created", "key_rotated", "key_revoked"]
    assert {row["actor"] for row in rows} == {cli_actor()}
    assert cli_actor().startswith("cli:")
    assert "@" in cli_actor()
    assert {row["target_key_id"] for row in rows} == {key["id"]}
    create, rotate, revoke = (row["change"] for row in rows)
    assert create["name"] == {"old": None, "new": "reporting"}
    assert create["scopes"] == {"old": None, "new": ["audit:read"]}
    assert set(rotate) == {"previous_valid_until"}
    assert rotate["previous_valid_until"]["old"] is None
    assert set(revoke) == {"revoked_at"}
    assert revoke["revoked_at"]["old"] is None
    assert revoke["revoked_at"]["new"]
    assert store.verify_chain(get_engine_of(app)).ok


def test_no_record_holds_a_secret_or_its_hash(app: Flask) -> None:
    secrets = [created(app, "reporting")["key"]]
    rotated = cli(app, "keys", "rotate", "reporting", "--json").stdout
    secrets.append(json.loads(rotated)["key"])
    with get_engine_of(app).connect() as conn:
        hashes = list(
            conn.execute(sa.select(api_keys.c.secret_hash, api_keys.c.previous_secret_hash)).one()
        )
    text = json.dumps([{k: str(v) for k, v in row.items()} for row in operator_rows(app)])
    for secret in [*secrets, *(s.split("_", 2)[2] for s in secrets), *hashes]:
        assert secret not in text


def test_prune_is_recorded_with_its_actor(app: Flask) -> None:
    created(app, "reporting")
    result = cli(app, "audit", "prune", "--older-than", "0s", "--json")
    assert json.loads(result.stdout)["deleted"] == 1
    [row] = operator_rows(app)
    assert (row["kind"], row["actor"], row["target_key_id"]) == ("audit_pruned", cli_actor(), None)
    assert row["change"]["anchor_seq"] == {"old": 1, "new": 2}
    assert store.verify_chain(get_engine_of(app)).ok


def test_a_record_in_the_callers_transaction_rolls_back_with_it(app: Flask) -> None:
    engine = get_engine_of(app)
    head = store.chain_state(engine)

    def failing_change() -> None:
        with store.write_transaction(engine) as conn:
            record_operator_action(
                conn, kind="key_updated", actor="key:0123456789ab", target_key_id="x", change={}
            )
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert operator_rows(app) == []
    assert store.chain_state(engine) == head


def test_a_key_that_cannot_be_created_leaves_no_record(app: Flask) -> None:
    created(app, "reporting")
    with pytest.raises(keys.KeyOperationError):
        keys.create_key(get_engine_of(app), name="reporting", scopes=["audit:read"])
    assert len(operator_rows(app)) == 1


def test_an_http_action_records_the_admin_key_and_the_request_id(app: Flask) -> None:
    change = {
        "token_budget": {"old": 1000, "new": None},
        "expires_at": {"old": None, "new": now() + timedelta(days=1)},
    }
    with app.test_request_context(headers={"X-Request-ID": "req-123"}):
        app.preprocess_request()  # the request hooks: the id is assigned
        stored = record_operator_action(
            get_engine_of(app),
            kind="key_updated",
            actor="key:0123456789ab",
            target_key_id="fedcba987654",
            change=change,
        )
    [row] = operator_rows(app)
    assert jsonable(row) == jsonable(stored)
    assert (row["actor"], row["request_id"]) == ("key:0123456789ab", "req-123")
    assert row["change"]["expires_at"]["new"].endswith("Z")
    assert record_hash(row) == row["hash"]


@pytest.mark.parametrize(
    ("kind", "change", "problem"),
    [
        ("model_call", {}, "not an operator action"),
        ("key_rotated", {"secret": {"old": None, "new": "x"}}, "must not carry secrets"),
        ("key_updated", {"secret_hash": {"old": "a", "new": "b"}}, "must not carry secrets"),
    ],
)
def test_records_that_are_not_operator_actions_are_refused(
    app: Flask, kind: str, change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        record_operator_action(
            get_engine_of(app), kind=kind, actor="cli:a@b", target_key_id=None, change=change
        )


def test_the_api_filters_by_kind_and_export_has_every_kind(app: Flask, client: FlaskClient) -> None:
    admin = created(app, "auditor")
    created(app, "other")
    headers = {"Authorization": f"Bearer {admin['key']}"}
    cli(app, "keys", "revoke", "other")
    page = client.get("/v1/audit/events?kind=key_created", headers=headers).get_json()["data"]
    assert [e["change"]["name"]["new"] for e in page["events"]] == ["other", "auditor"]
    by_key = client.get("/v1/audit/events?key=other", headers=headers).get_json()["data"]
    assert [e["kind"] for e in by_key["events"]] == ["key_revoked", "key_created"]
    refused = client.get("/v1/audit/events?kind=nonsense", headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["details"][0]["field"] == "kind"
    exported = cli(app, "audit", "export").stdout.splitlines()
    assert [json.loads(line)["kind"] for line in exported] == [
        "key_created",
        "key_created",
        "key_revoked",
    ]
