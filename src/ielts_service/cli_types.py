"""Click parameter types shared by the `flask keys` and `flask audit` command groups."""

from __future__ import annotations

from datetime import timedelta

import click

from .clock import parse_duration


class Duration(click.ParamType[timedelta, str | timedelta]):
    """A duration such as 30d, 12h or 15m, as a timedelta."""

    name = "duration"

    def convert(
        self, value: str | timedelta, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = Duration()
