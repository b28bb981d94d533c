"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from .. import db, limits
from ..errors import error_response
from ..schemas import Liveness, Readiness
from .envelope import success
from .routes import Routes

bp = Blueprint("health", __name__)
public = Routes(bp)


@public.get("/healthz", response=Liveness)
def healthz() -> Response:
    """Liveness.

    The process is alive.
    """
    return success(Liveness(alive=True))


@public.get("/readyz", response=Readiness, errors=(503,))
def readyz() -> Response:
    """Readiness.

    200 when the database (keys, audit), the rate-limit store and the provider are usable.
    """
    checks = {
        "database": db.readiness_problem(),
        "ratelimit_store": limits.readiness_problem(),
        "draining": "shutting down" if current_app.extensions.get("draining") else None,
    }
    failed = [{"field": name, "message": problem} for name, problem in checks.items() if problem]
    if failed:
        names = ", ".join(item["field"] for item in failed)
        return error_response(503, "not_ready", f"not ready: {names}", details=failed)
    provider = current_app.extensions["question_provider"]
    return success(Readiness(database="ok", ratelimit_store="ok", provider=provider.name))
