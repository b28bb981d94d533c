"""gunicorn's own log through the service's JSON handlers: `logger_class` in gunicorn.conf.py."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from .config import load_settings
from .logging_setup import configure_logging
from .redaction import Redactor
from .version import __version__


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's error log as JSON lines on the service's handlers; its access log stays off."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # The master configures logging here; each worker again when it builds the app.
        settings = load_settings()
        configure_logging(settings, __version__, Redactor(settings.secret_values()))
        for log in (self.error_log, self.access_log):
            for handler in log.handlers[:]:
                log.removeHandler(handler)
            log.propagate = True
