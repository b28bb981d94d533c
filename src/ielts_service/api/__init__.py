"""HTTP API: one blueprint per area."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import audit_events, docs, health, questions, speaking_tests

    for module in (health, questions, speaking_tests, audit_events, docs):
        app.register_blueprint(module.bp)
