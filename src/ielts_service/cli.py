"""The `ielts-service` command: the same commands as `flask --app ielts_service`."""

from __future__ import annotations

from flask.cli import FlaskGroup

from . import create_app


def main() -> None:
    """`ielts-service run`, `ielts-service keys create …`, `ielts-service db upgrade` …"""
    FlaskGroup(create_app=create_app, help=__doc__).main(prog_name="ielts-service")
