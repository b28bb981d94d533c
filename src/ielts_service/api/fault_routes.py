"""Routes that exist only with ENABLE_TEST_ROUTES=true (never in production): fault injection."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("fault_routes", __name__)


@bp.get("/_test/crash")
def crash() -> str:
    """Raise an unhandled exception, to prove the 500 path and Sentry reporting."""
    raise RuntimeError("deliberate failure from the test-only crash route")
