"""In development, a first server start with no keys creates one with both scopes, printed once."""

from __future__ import annotations

import sys

from flask import Flask

from . import keys
from .config import Settings
from .db import get_engine_of
from .process_kind import in_cli_command


def init_app(app: Flask, settings: Settings) -> None:
    if settings.APP_ENV != "development" or not settings.CREATE_DEV_KEY or in_cli_command():
        return
    engine = get_engine_of(app)
    if keys.has_keys(engine):
        return
    try:
        key, secret = keys.create_key(
            engine, name="development", scopes=["questions:generate", "audit:read"]
        )
    except keys.KeyOperationError:  # another worker starting at the same time created it
        return
    print(
        f"\n  Created development API key {key.prefix} (scopes questions:generate, audit:read).\n"
        f"  It is shown only once:\n\n    {secret}\n",
        file=sys.stderr,
        flush=True,
    )
