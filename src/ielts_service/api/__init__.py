"""HTTP API: one blueprint per area."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import admin_keys, audit_events, docs, health, questions, speaking_tests, usage

    for module in (health, questions, speaking_tests, audit_events, admin_keys, usage, docs):
        app.register_blueprint(module.bp)
