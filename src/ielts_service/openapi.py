"""The OpenAPI 3.1 document, built from the same pydantic models that validate requests."""

from __future__ import annotations

from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .schemas import (
    AuditEventsPage,
    AuditQuery,
    ErrorBody,
    Question,
    QuestionRequest,
    SpeakingTest,
    SpeakingTestRequest,
)
from .version import __version__

_REF = "#/components/schemas/{model}"
_ERRORS = {
    "400": "Body is not valid JSON (`invalid_json`).",
    "401": "Missing, malformed, unknown, revoked or expired key (`unauthorized`).",
    "403": "The key lacks the scope (`forbidden`).",
    "413": "Body over 16 KiB (`payload_too_large`).",
    "415": "Content-Type is not application/json (`unsupported_media_type`).",
    "422": "Validation failed (`validation_error`, with details) or `content_filtered`.",
    "429": "`rate_limited` or `token_budget_exceeded`; see Retry-After.",
    "502": "`upstream_error` or `upstream_invalid_response`.",
    "503": "`upstream_rate_limited`, `upstream_unavailable` (circuit open) or "
    "`audit_unavailable` (no content leaves unless audited) or `key_store_unavailable`.",
    "504": "`upstream_timeout`.",
}


def _envelope(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status", "data"],
        "additionalProperties": False,
        "properties": {
            "status": {"const": "success"},
            "data": {"$ref": _REF.format(model=model.__name__)},
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation(
    summary: str,
    description: str,
    response: type[BaseModel],
    *,
    body: type[BaseModel] | None,
    scope: str,
    errors: tuple[str, ...],
    **extra: Any,
) -> dict[str, Any]:
    error = _json({"$ref": _REF.format(model="ErrorBody")})
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "security": [{"bearer": [scope]}, {"apiKeyHeader": [scope]}],
        "responses": {
            "200": {
                "description": "Success.",
                "content": _json(_envelope(response)),
                "headers": {"X-Request-ID": {"schema": {"type": "string"}}},
            },
            **{code: {"description": _ERRORS[code], "content": error} for code in errors},
        },
        **extra,
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": _json({"$ref": _REF.format(model=body.__name__)}),
        }
    return operation


def build_spec(app: Flask) -> dict[str, Any]:
    """The whole document; routes come from the URL map, shapes from the models."""
    models: list[type[BaseModel]] = [
        QuestionRequest,
        Question,
        SpeakingTestRequest,
        SpeakingTest,
        AuditEventsPage,
        ErrorBody,
    ]
    _, schemas = models_json_schema(
        [(m, "validation" if m.__name__.endswith("Request") else "serialization") for m in models],
        ref_template=_REF,
    )
    ai_errors = ("400", "401", "403", "413", "415", "422", "429", "502", "503", "504")
    question = _operation(
        "Generate one IELTS Speaking question",
        "Part 2 returns a cue card (question, 3-4 prompts, explain); Parts 1 and 3 return one "
        "question with empty prompts and a null explain.",
        Question,
        body=QuestionRequest,
        scope="questions:generate",
        errors=ai_errors,
    )
    paths: dict[str, Any] = {
        "/v1/questions": {"post": question},
        "/generate-question": {
            "post": {
                **question,
                "deprecated": True,
                "summary": "Same as POST /v1/questions (older clients)",
            }
        },
        "/v1/speaking-tests": {
            "post": _operation(
                "Generate a full mock Speaking test",
                "Part 1, Part 2 and Part 3 are generated concurrently. All or nothing: if any part "
                "fails after retries, the whole test fails with that part's error and no content.",
                SpeakingTest,
                body=SpeakingTestRequest,
                scope="questions:generate",
                errors=ai_errors,
            )
        },
        "/v1/audit/events": {
            "get": _operation(
                "List audit records, newest first",
                "Filters: since, until (ISO 8601), key (id or name), outcome; cursor pagination.",
                AuditEventsPage,
                body=None,
                scope="audit:read",
                errors=("401", "403", "422", "429"),
                parameters=_query_parameters(AuditQuery),
            )
        },
        "/healthz": {
            "get": {"summary": "Liveness", "responses": {"200": {"description": "Alive."}}}
        },
        "/readyz": {
            "get": {
                "summary": "Readiness",
                "responses": {
                    "200": {"description": "Ready."},
                    "503": {"description": "A check failed (named)."},
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus exposition",
                "responses": {"200": {"description": "Metrics.", "content": {"text/plain": {}}}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ielts-question-service",
            "version": __version__,
            "description": "IELTS Speaking questions generated through Azure OpenAI.",
        },
        "paths": {path: ops for path, ops in paths.items() if _routed(app, path)},
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    return [
        {"name": name, "in": "query", "required": False, "schema": prop}
        for name, prop in schema["properties"].items()
    ]


def _routed(app: Flask, path: str) -> bool:
    return any(rule.rule == path for rule in app.url_map.iter_rules())
