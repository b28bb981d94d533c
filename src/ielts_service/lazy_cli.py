"""CLI command groups imported when a command of theirs runs, not when the app is built.

Every process that builds the app registers its commands, gunicorn's workers included; a
group whose commands need heavy libraries (the audit trail's: cryptography for signed
checkpoints, tqdm for progress) would otherwise keep them in every worker's memory.
"""

from __future__ import annotations

import importlib
from functools import cached_property

import click


class LazyGroup(click.Group):
    """Stands for the group at `import_path` ("package.module:attribute")."""

    def __init__(self, name: str, import_path: str, help: str) -> None:
        super().__init__(name, help=help)
        self._import_path = import_path

    @cached_property
    def _group(self) -> click.Group:
        module, attribute = self._import_path.split(":")
        group: click.Group = getattr(importlib.import_module(module), attribute)
        return group

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._group.list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._group.get_command(ctx, cmd_name)
