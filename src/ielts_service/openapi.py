"""The OpenAPI 3.1 document, built from the registered routes and the pydantic models.

A view declares how it appears where it declares its route and scope (api/routes.py); the
errors its declaration implies (a scope, a body, query parameters) are added here, so a new
route cannot be left out of the document or list fewer errors than it can return.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule

from .auth import required_scope
from .schemas import ErrorBody
from .version import __version__

_REF = "#/components/schemas/{model}"
_PATH_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
ERRORS = {
    400: "Body is not valid JSON (`invalid_json`).",
    401: "Missing, malformed, unknown, revoked or expired key (`unauthorized`).",
    403: "The key lacks the scope (`forbidden`).",
    404: "No such file or key (`not_found`).",
    409: "A key with this name exists, or the key is revoked (`conflict`).",
    413: "Body over 16 KiB (`payload_too_large`).",
    414: "Request line over 4094 bytes: refused by gunicorn itself, with its own HTML page.",
    415: "Content-Type is not application/json (`unsupported_media_type`).",
    422: "Validation failed (`validation_error`, with details) or `content_filtered`.",
    429: "`rate_limited` or `token_budget_exceeded`; see Retry-After.",
    502: "`upstream_error` or `upstream_invalid_response`.",
    503: "`upstream_rate_limited`, `upstream_unavailable` (circuit open), `audit_unavailable` "
    "(no content leaves unless audited), `key_store_unavailable` or `not_ready`.",
    504: "`upstream_timeout`.",
}
# What a declaration implies: a key can be refused, lack the scope, hit a limit (its own or,
# refused, its address's), or find the key store down; a body and a query can be invalid.
SCOPED_ERRORS = (401, 403, 429, 503)
BODY_ERRORS = (400, 413, 415, 422)
QUERY_ERRORS = (414, 422)  # a long enough query outgrows gunicorn's request-line limit
# Answered by gunicorn before the app, as its own HTML page, not the JSON envelope.
SERVER_HTML_ERRORS = frozenset({414})
# What a call to the model can end in, beyond a bad request.
AI_ERRORS = (422, 502, 503, 504)


@dataclass(frozen=True)
class Operation:
    """How a route appears in the document."""

    summary: str
    description: str | None = None
    response: type[BaseModel] | None = None  # the success envelope's `data`
    content_type: str = "application/json"  # of a 200 that is not an envelope
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()  # beyond those the scope, body and query imply
    deprecated_paths: frozenset[str] = frozenset()
    status: int = 200  # of the success answer (201 for what a POST creates)
    body_required: bool = True

    def error_statuses(self, scope: str | None) -> list[int]:
        implied = (
            (SCOPED_ERRORS if scope else ())
            + (BODY_ERRORS if self.body else ())
            + (QUERY_ERRORS if self.query else ())
        )
        return sorted({*implied, *self.errors})


# Routes an extension registers, with no view of ours to decorate.
EXTENSION_ROUTES = {
    "/metrics": Operation(
        "Prometheus exposition",
        "Guarded by METRICS_TOKEN (a bearer token) when it is set.",
        content_type="text/plain",
        errors=(401,),
    ),
}


def operation_of(app: Flask, rule: Rule) -> Operation | None:
    """The route's declaration; None for a route that is not part of the API (test-only)."""
    declared = getattr(app.view_functions[rule.endpoint], "openapi", None)
    return declared if isinstance(declared, Operation) else EXTENSION_ROUTES.get(rule.rule)


def openapi_path(rule: Rule) -> str:
    """`/docs/assets/<path:filename>` → `/docs/assets/{filename}`."""
    return _PATH_ARGUMENT.sub(r"{\1}", rule.rule)


def _documented_rules(app: Flask) -> Iterator[tuple[Rule, Operation]]:
    for rule in app.url_map.iter_rules():
        operation = operation_of(app, rule)
        if operation is not None:
            yield rule, operation


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _success(operation: Operation) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": "Success.",
        "headers": {"X-Request-ID": {"schema": {"type": "string"}}},
    }
    if operation.response is None:
        response["content"] = {operation.content_type: {}}
        return response
    response["content"] = _json(
        {
            "type": "object",
            "required": ["status", "data"],
            "additionalProperties": False,
            "properties": {"status": {"const": "success"}, "data": _ref(operation.response)},
        }
    )
    return response


def _parameters(rule: Rule, operation: Operation) -> list[dict[str, Any]]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in sorted(rule.arguments)
    ]
    if operation.query is not None:
        schema = operation.query.model_json_schema()
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": prop}
            for name, prop in schema["properties"].items()
        ]
    return parameters


def _operation(app: Flask, rule: Rule, operation: Operation) -> dict[str, Any]:
    view = app.view_functions[rule.endpoint]
    scope = required_scope(view)
    deprecated = rule.rule in operation.deprecated_paths
    error = {"content": _json(_ref(ErrorBody))}
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    built: dict[str, Any] = {
        "summary": operation.summary + (" (deprecated path, for older clients)" * deprecated),
        "description": operation.description or "",
        "responses": {
            str(operation.status): _success(operation),
            **{
                str(status): {
                    "description": ERRORS[status],
                    **(html if status in SERVER_HTML_ERRORS else error),
                }
                for status in operation.error_statuses(scope)
            },
        },
    }
    if scope is not None:
        built["security"] = [{"bearer": [scope]}, {"apiKeyHeader": [scope]}]
    if deprecated:
        built["deprecated"] = True
    if parameters := _parameters(rule, operation):
        built["parameters"] = parameters
    if operation.body is not None:
        built["requestBody"] = {
            "required": operation.body_required,
            "content": _json(_ref(operation.body)),
        }
    return built


def build_spec(app: Flask) -> dict[str, Any]:
    """The whole document: one operation per documented route and method."""
    paths: dict[str, dict[str, Any]] = {}
    models: dict[type[BaseModel], JsonSchemaMode] = {ErrorBody: "serialization"}
    for rule, operation in _documented_rules(app):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(openapi_path(rule), {})[method.lower()] = _operation(
                app, rule, operation
            )
        if operation.response is not None:
            models[operation.response] = "serialization"
        if operation.body is not None:
            models[operation.body] = "validation"
    _, schemas = models_json_schema(list(models.items()), ref_template=_REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ielts-question-service",
            "version": __version__,
            "description": "IELTS Speaking questions generated through Azure OpenAI.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
