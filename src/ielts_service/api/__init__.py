"""HTTP API: one blueprint per area."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from pydantic import BaseModel


def success(data: BaseModel, status: int = 200) -> Response:
    """The success envelope: exactly `status` and `data`."""
    response = jsonify({"status": "success", "data": data.model_dump(mode="json")})
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    from . import audit_events, docs, health, questions, speaking_tests

    for module in (health, questions, speaking_tests, audit_events, docs):
        app.register_blueprint(module.bp)
