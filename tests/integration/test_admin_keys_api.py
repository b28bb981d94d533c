"""/v1/admin/keys on both backends: every route's success, 401, 403, 404 and 422, no secrets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ielts_service import create_app
from ielts_service.config import Settings
from ielts_service.db import get_engine_of
from ielts_service.keys import KEY_PATTERN
from tests.helpers import audit_rows, both_backends

KEY_FIELDS = {
    "id",
    "name",
    "scopes",
    "rate_limit",
    "token_budget",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
}
QUESTION = {"topic": "a memorable trip"}

pytestmark = both_backends


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "log" / "service.log"


@pytest.fixture
def overrides(log_file: Path) -> dict[str, Any]:
    return {"LOG_FILE": str(log_file), "LOG_LEVEL": "DEBUG"}


@pytest.fixture
def admin(make_key: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(('admin',))}"}


@pytest.fixture
def target(ip_client: FlaskClient, admin: dict[str, str]) -> dict[str, Any]:
    """A key created through the API (its object, secret included)."""
    body = {"name": "mobile-app", "scopes": ["questions:generate"], "token_budget": 5000}
    response = ip_client.post("/v1/admin/keys", json=body, headers=admin)
    assert response.status_code == 201
    created: dict[str, Any] = response.get_json()["data"]
    return created


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def ask(client: FlaskClient, secret: str) -> int:
    return client.post("/v1/questions", json=QUESTION, headers=bearer(secret)).status_code


# (method, path, body): every admin route; {id} is the target key's id.
ROUTES = [
    ("GET", "/v1/admin/keys", None),
    ("POST", "/v1/admin/keys", {"name": "another", "scopes": ["audit:read"]}),
    ("GET", "/v1/admin/keys/{id}", None),
    ("PATCH", "/v1/admin/keys/{id}", {"rate_limit": "5/minute"}),
    ("POST", "/v1/admin/keys/{id}/rotate", None),
    ("POST", "/v1/admin/keys/{id}/revoke", None),
    ("GET", "/v1/admin/usage", None),
]


def call(
    client: FlaskClient, route: tuple[str, str, Any], key_id: str, headers: dict[str, str]
) -> Any:
    method, path, body = route
    return client.open(path.format(id=key_id), method=method, json=body, headers=headers)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_admin_route_answers_an_admin_key(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any], route: Any
) -> None:
    response = call(ip_client, route, target["id"], admin)
    assert response.status_code == (201 if route[:2] == ("POST", "/v1/admin/keys") else 200)
    assert set(response.get_json()) == {"status", "data"}


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_admin_route_refuses_without_a_key(
    ip_client: FlaskClient, target: dict[str, Any], route: Any
) -> None:
    response = call(ip_client, route, target["id"], {})
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_admin_route_refuses_a_key_without_the_admin_scope(
    ip_client: FlaskClient, make_key: Callable[..., str], target: dict[str, Any], route: Any
) -> None:
    others = bearer(make_key(("questions:generate", "audit:read")))
    response = call(ip_client, route, target["id"], others)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("route", [r for r in ROUTES if "{id}" in r[1]], ids=lambda r: r[1])
def test_an_unknown_key_id_is_not_found(
    ip_client: FlaskClient, admin: dict[str, str], route: Any
) -> None:
    response = call(ip_client, route, "0123456789ab", admin)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_a_non_admin_cannot_create_an_admin_key(
    ip_client: FlaskClient, make_key: Callable[..., str], admin: dict[str, str]
) -> None:
    body = {"name": "escalated", "scopes": ["admin"]}
    refused = ip_client.post("/v1/admin/keys", json=body, headers=bearer(make_key()))
    assert refused.status_code == 403
    names = [
        k["name"] for k in ip_client.get("/v1/admin/keys", headers=admin).get_json()["data"]["keys"]
    ]
    assert "escalated" not in names


BAD_CREATES = [
    ({"scopes": ["questions:generate"]}, "name"),
    ({"name": "x", "scopes": []}, "scopes"),
    ({"name": "x", "scopes": ["root"]}, "scopes.0"),
    ({"name": "x", "scopes": ["admin"], "rate_limit": "lots"}, "rate_limit"),
    ({"name": "x", "scopes": ["admin"], "token_budget": 0}, "token_budget"),
    ({"name": "x", "scopes": ["admin"], "token_budget": "100"}, "token_budget"),
    ({"name": "x", "scopes": ["admin"], "token_budget": 2**31}, "token_budget"),
    ({"name": "x", "scopes": ["admin"], "expires_in": "soon"}, "expires_in"),
    ({"name": "x", "scopes": ["admin"], "expires_in": "999999w"}, "expires_in"),
    ({"name": "x", "scopes": ["admin"], "secret": "mine"}, "secret"),
    ({"name": "bad\nname", "scopes": ["admin"]}, "name"),
    ({"name": " ", "scopes": ["admin"]}, "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATES)
def test_create_rejects_bad_fields(
    ip_client: FlaskClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = ip_client.post("/v1/admin/keys", json=body, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"
    assert field in [d["field"] for d in response.get_json()["details"]]


BAD_UPDATES = [
    ({}, "body"),
    ({"scopes": None}, "body"),
    ({"scopes": ["nope"]}, "scopes.0"),
    ({"rate_limit": "fast"}, "rate_limit"),
    ({"token_budget": -5}, "token_budget"),
    ({"token_budget": 10**12}, "token_budget"),
    ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),
    ({"name": "renamed"}, "name"),
]


@pytest.mark.parametrize(("body", "field"), BAD_UPDATES)
def test_update_rejects_bad_fields(
    ip_client: FlaskClient,
    admin: dict[str, str],
    target: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    response = ip_client.patch(f"/v1/admin/keys/{target['id']}", json=body, headers=admin)
    assert response.status_code == 422
    assert field in [d["field"] for d in response.get_json()["details"]]


def test_rotate_rejects_an_unknown_field(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any]
) -> None:
    response = ip_client.post(
        f"/v1/admin/keys/{target['id']}/rotate", json={"grace": "1h", "x": 1}, headers=admin
    )
    assert response.status_code == 422


def test_created_key_has_exactly_the_key_fields_and_a_working_secret(
    ip_client: FlaskClient, target: dict[str, Any]
) -> None:
    assert set(target) == KEY_FIELDS | {"secret"}
    assert KEY_PATTERN.fullmatch(target["secret"])
    assert target["token_budget"] == 5000
    assert ask(ip_client, target["secret"]) == 200


def test_a_duplicate_name_is_a_conflict(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any]
) -> None:
    body = {"name": target["name"], "scopes": ["audit:read"]}
    response = ip_client.post("/v1/admin/keys", json=body, headers=admin)
    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"


def test_update_sets_and_null_clears(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any]
) -> None:
    path = f"/v1/admin/keys/{target['id']}"
    changed = ip_client.patch(
        path,
        json={
            "rate_limit": "7/minute",
            "expires_at": "2030-01-01T00:00:00Z",
            "scopes": ["audit:read"],
        },
        headers=admin,
    ).get_json()["data"]
    assert (changed["rate_limit"], changed["expires_at"], changed["scopes"]) == (
        "7/minute",
        "2030-01-01T00:00:00Z",
        ["audit:read"],
    )
    assert changed["token_budget"] == 5000  # untouched
    cleared = ip_client.patch(
        path, json={"rate_limit": None, "token_budget": None, "expires_at": None}, headers=admin
    ).get_json()["data"]
    assert (cleared["rate_limit"], cleared["token_budget"], cleared["expires_at"]) == (None,) * 3
    assert ip_client.get(path, headers=admin).get_json()["data"] == cleared


def test_an_update_applies_at_once_on_the_instance_that_made_it(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any]
) -> None:
    assert ask(ip_client, target["secret"]) == 200
    path = f"/v1/admin/keys/{target['id']}"
    ip_client.patch(path, json={"scopes": ["audit:read"]}, headers=admin)
    assert ask(ip_client, target["secret"]) == 403


def test_rotate_returns_a_new_working_secret_and_ends_the_old_after_the_grace(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any]
) -> None:
    path = f"/v1/admin/keys/{target['id']}/rotate"
    rotated = ip_client.post(path, json={"grace": "0s"}, headers=admin).get_json()["data"]
    assert set(rotated) == KEY_FIELDS | {"secret"}
    assert rotated["secret"] != target["secret"]
    assert ask(ip_client, rotated["secret"]) == 200
    assert ask(ip_client, target["secret"]) == 401


def test_revoke_stops_the_key_and_rotate_then_conflicts(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any]
) -> None:
    revoked = ip_client.post(f"/v1/admin/keys/{target['id']}/revoke", headers=admin)
    assert revoked.get_json()["data"]["revoked_at"] is not None
    assert ask(ip_client, target["secret"]) == 401
    again = ip_client.post(f"/v1/admin/keys/{target['id']}/rotate", headers=admin)
    assert again.status_code == 409


def test_the_list_pages_through_every_key_once_in_creation_order(
    ip_client: FlaskClient, admin: dict[str, str]
) -> None:
    for i in range(5):
        body = {"name": f"page-{i}", "scopes": ["audit:read"]}
        assert ip_client.post("/v1/admin/keys", json=body, headers=admin).status_code == 201
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        data = ip_client.get(f"/v1/admin/keys{query}", headers=admin).get_json()["data"]
        assert len(data["keys"]) <= 2
        assert all(set(key) == KEY_FIELDS for key in data["keys"])
        seen += [key["name"] for key in data["keys"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert seen[1:] == [f"page-{i}" for i in range(5)]  # the admin key itself comes first


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "cursor=bogus", "sort=name"])
def test_the_list_rejects_bad_query_parameters(
    ip_client: FlaskClient, admin: dict[str, str], query: str
) -> None:
    response = ip_client.get(f"/v1/admin/keys?{query}", headers=admin)
    assert response.status_code == 422


def test_no_secret_in_any_answer_but_the_one_that_issues_it_nor_in_the_logs(
    ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any], log_file: Path
) -> None:
    key_id = target["id"]
    rotated = ip_client.post(f"/v1/admin/keys/{key_id}/rotate", headers=admin)
    secrets = [target["secret"][16:], rotated.get_json()["data"]["secret"][16:]]
    texts = [
        ip_client.get(path, headers=admin).get_data(as_text=True)
        for path in ("/v1/admin/keys", f"/v1/admin/keys/{key_id}", "/v1/admin/usage")
    ]
    texts.append(
        ip_client.patch(
            f"/v1/admin/keys/{key_id}", json={"token_budget": 9}, headers=admin
        ).get_data(as_text=True)
    )
    texts.append(
        ip_client.post(f"/v1/admin/keys/{key_id}/revoke", headers=admin).get_data(as_text=True)
    )
    texts.append(log_file.read_text())
    assert log_file.stat().st_size > 0
    for text in texts:
        assert not any(secret in text for secret in secrets)
        assert "secret_hash" not in text


@pytest.fixture
def twin(app: Flask, settings: Settings) -> Iterator[FlaskClient]:
    """A second app instance on the same database (another worker or replica)."""
    other = create_app(settings)
    client = other.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.250.0.1"
    yield client
    get_engine_of(other).dispose()


def test_an_update_takes_effect_on_another_instance_within_the_cache_ttl(
    app: Flask,
    ip_client: FlaskClient,
    twin: FlaskClient,
    admin: dict[str, str],
    target: dict[str, Any],
) -> None:
    ttl = app.config["SETTINGS"].KEY_CACHE_TTL_S
    assert ask(twin, target["secret"]) == 200  # the twin now has the key cached
    ip_client.patch(
        f"/v1/admin/keys/{target['id']}", json={"scopes": ["audit:read"]}, headers=admin
    )
    changed_at = time.monotonic()
    while ask(twin, target["secret"]) != 403:
        assert time.monotonic() - changed_at < ttl + 1, "the other instance still admits the key"
        time.sleep(0.05)
    assert time.monotonic() - changed_at <= ttl + 1
    response = twin.get(f"/v1/admin/keys/{target['id']}", headers=admin)
    assert json.loads(response.get_data())["data"]["scopes"] == ["audit:read"]


def operator_records(app: Flask, target: str) -> list[dict[str, Any]]:
    return [row for row in audit_rows(app, kind=None) if row["target_key_id"] == target]


def test_every_change_is_an_operator_record_naming_the_admin_key(
    app: Flask, ip_client: FlaskClient, admin: dict[str, str], target: dict[str, Any]
) -> None:
    path = f"/v1/admin/keys/{target['id']}"
    ip_client.patch(path, json={"token_budget": 7000, "rate_limit": None}, headers=admin)
    ip_client.patch(path, json={"token_budget": 7000}, headers=admin)  # no change: no record
    rotated = ip_client.post(f"{path}/rotate", headers=admin).get_json()["data"]
    ip_client.post(f"{path}/revoke", headers=admin)
    records = operator_records(app, target["id"])
    assert [r["kind"] for r in records] == [
        "key_created",
        "key_updated",
        "key_rotated",
        "key_revoked",
    ]
    admin_id = admin["Authorization"].removeprefix("Bearer ")[3:15]
    assert {r["actor"] for r in records} == {f"key:{admin_id}"}
    assert records[1]["change"] == {"token_budget": {"old": 5000, "new": 7000}}
    text = json.dumps([r["change"] for r in records])
    assert target["secret"][16:] not in text
    assert rotated["secret"][16:] not in text


def test_the_admin_and_usage_routes_are_in_the_openapi_document(ip_client: FlaskClient) -> None:
    paths = ip_client.get("/openapi.json").get_json()["paths"]
    documented = {path: set(paths[path]) for path in paths if "usage" in path or "admin" in path}
    assert documented == {
        "/v1/admin/keys": {"get", "post"},
        "/v1/admin/keys/{key_id}": {"get", "patch"},
        "/v1/admin/keys/{key_id}/rotate": {"post"},
        "/v1/admin/keys/{key_id}/revoke": {"post"},
        "/v1/admin/usage": {"get"},
        "/v1/usage": {"get"},
    }
