"""Strict request bodies: JSON only, size-bounded, validated by pydantic models."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .errors import ApiError

MAX_BODY_BYTES = 16 * 1024
# The stream limit Flask applies: one byte more than allowed, so that a chunked body (no
# Content-Length) that is too long shows itself instead of being cut at the limit.
MAX_CONTENT_LENGTH = MAX_BODY_BYTES + 1

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_body(model: type[ModelT]) -> ModelT:
    """Validate the request body against `model`, or raise the matching ApiError."""
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    too_large = ApiError(413, "payload_too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise too_large
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(err["type"] == "json_invalid" for err in errors):
            raise ApiError(400, "invalid_json", "body is not valid JSON") from None
        raise ApiError(
            422, "validation_error", "request body is invalid", details=field_errors(errors)
        ) from None


def parse_query(model: type[ModelT]) -> ModelT:
    """Validate the query string against `model` (unknown parameters rejected)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ApiError(
            422,
            "validation_error",
            "query parameters are invalid",
            details=field_errors(exc.errors(include_url=False)),
        ) from None


def field_errors(errors: list[ErrorDetails]) -> list[dict[str, str]]:
    """Pydantic errors as `[{"field", "message"}]`, the body itself named `body`."""
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "body",
            "message": err["msg"].removeprefix("Value error, "),
        }
        for err in errors
    ]
