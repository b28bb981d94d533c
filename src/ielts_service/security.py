"""Security headers on every response, and CORS only for configured origins."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request

from .config import Settings

# The docs page runs only the service's own files: no inline script, no other origin.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
CORS_ALLOW_HEADERS = "Authorization, Content-Type, X-API-Key, X-Request-ID"
CORS_EXPOSE_HEADERS = (
    "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
)


def _secure(response: Response) -> Response:
    """Headers every response carries; /docs also gets its own content security policy."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if "Cache-Control" not in response.headers:  # static assets set their own
        response.headers["Cache-Control"] = "no-store"
    if request.path.rstrip("/") == "/docs":
        response.headers["Content-Security-Policy"] = DOCS_CSP
        response.headers["X-Frame-Options"] = "DENY"
    return response


def _cors(origins: frozenset[str]) -> Callable[[Response], Response]:
    def add_cors(response: Response) -> Response:
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin not in origins:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        if request.method == "OPTIONS":  # a preflight
            response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(response.allow))
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    return add_cors


def response_hooks(settings: Settings) -> list[Callable[[Response], Response]]:
    """The after_request hooks of this module, in the order they run (see hooks.py)."""
    if settings.cors_origins:
        return [_cors(settings.cors_origins), _secure]
    return [_secure]
