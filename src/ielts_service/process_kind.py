"""What kind of process built the app: a server, or a `flask` CLI command."""

from __future__ import annotations

import click


def in_cli_command() -> bool:
    """True under a `flask` CLI command other than `run` (e.g. `flask keys create`).

    Such a command owns stdout for its own output and manages keys itself.
    """
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.command.name != "run"
