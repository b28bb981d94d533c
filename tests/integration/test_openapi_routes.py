"""/openapi.json is built from the registered routes: every route of the API is in it, with the
errors its declaration implies (docs/architecture.md, "Adding a route")."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, Response

from ielts_service.api.envelope import success
from ielts_service.api.routes import Routes
from ielts_service.auth import required_scope
from ielts_service.openapi import (
    BODY_ERRORS,
    QUERY_ERRORS,
    SCOPED_ERRORS,
    SERVER_HTML_ERRORS,
    build_spec,
    openapi_path,
    operation_of,
)
from ielts_service.schemas import KeysQuery, Liveness

pytestmark = pytest.mark.settings(ENABLE_TEST_ROUTES=True)
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def missing_from(app: Flask, spec: dict[str, Any]) -> list[str]:
    """`METHOD /path` of every route outside the test-only ones that the document lacks."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/_test/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method.lower() not in spec["paths"].get(openapi_path(rule), {}):
                missing.append(f"{method} {rule.rule}")
    return missing


def test_every_route_but_the_test_ones_is_in_the_document(app: Flask) -> None:
    spec = app.test_client().get("/openapi.json").get_json()
    assert missing_from(app, spec) == []
    assert not [path for path in spec["paths"] if path.startswith("/_test/")]


def test_each_operation_lists_the_errors_its_declaration_implies(app: Flask) -> None:
    spec = build_spec(app)
    checked = 0
    for rule in app.url_map.iter_rules():
        operation = operation_of(app, rule)
        if operation is None:
            continue
        scope = required_scope(app.view_functions[rule.endpoint])
        implied = (
            set(SCOPED_ERRORS if scope else ())
            | set(BODY_ERRORS if operation.body else ())
            | set(QUERY_ERRORS if operation.query else ())
            | set(operation.errors)
        )
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            documented = spec["paths"][openapi_path(rule)][method.lower()]
            responses = documented["responses"]
            assert {int(code) for code in responses} - {operation.status} == implied, rule.rule
            for code in implied - SERVER_HTML_ERRORS:
                assert responses[str(code)]["content"]["application/json"]["schema"] == ERROR_BODY
            for code in implied & SERVER_HTML_ERRORS:
                assert list(responses[str(code)]["content"]) == ["text/html"]
            if scope:
                assert documented["security"] == [{"bearer": [scope]}, {"apiKeyHeader": [scope]}]
            checked += 1
    assert checked >= 10


def test_an_undeclared_route_is_reported_missing(app: Flask) -> None:
    extra = Blueprint("undeclared", __name__)
    extra.add_url_rule("/v1/undeclared", "undeclared", lambda: "", methods=["POST"])
    app.register_blueprint(extra)
    assert missing_from(app, build_spec(app)) == ["POST /v1/undeclared"]


def test_the_older_path_is_marked_deprecated(app: Flask) -> None:
    paths = build_spec(app)["paths"]
    assert paths["/generate-question"]["post"]["deprecated"] is True
    assert "deprecated" not in paths["/v1/questions"]["post"]
    assert paths["/docs/assets/{filename}"]["get"]["parameters"][0]["in"] == "path"


def test_a_declared_view_is_documented_from_its_docstring_and_given_its_query(app: Flask) -> None:
    extra = Blueprint("declared", __name__)

    @Routes(extra).get("/v1/declared", response=Liveness)
    def declared(query: KeysQuery) -> Response:
        """A declared
        view.

        Its description, over
        two lines.
        """
        return success(Liveness(alive=query.limit == 5))

    app.register_blueprint(extra)
    operation = build_spec(app)["paths"]["/v1/declared"]["get"]
    assert operation["summary"] == "A declared view"
    assert operation["description"] == "Its description, over two lines."
    assert [parameter["name"] for parameter in operation["parameters"]] == ["cursor", "limit"]
    client = app.test_client()
    assert client.get("/v1/declared?limit=5").get_json()["data"] == {"alive": True}
    assert client.get("/v1/declared?limit=0").status_code == 422
