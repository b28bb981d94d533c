"""In development, a first start with no keys creates one with every scope and prints it once."""

from __future__ import annotations

import sys

from flask import Flask

from . import keys
from .config import Settings
from .db import get_engine_of


def init_app(app: Flask, settings: Settings) -> None:
    if settings.APP_ENV != "development" or not settings.CREATE_DEV_KEY:
        return
    engine = get_engine_of(app)
    if keys.has_keys(engine):
        return
    key, secret = keys.create_key(
        engine, name="development", scopes=["questions:generate", "audit:read"]
    )
    print(
        f"\n  Created development API key {key.prefix} (scopes questions:generate, audit:read).\n"
        f"  It is shown only once:\n\n    {secret}\n",
        file=sys.stderr,
        flush=True,
    )
