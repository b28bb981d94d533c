"""JSON logs (python-json-logger) to a stream and to a size-rotated file shared by workers.

The file handler is concurrent-log-handler's ConcurrentRotatingFileHandler: every worker
process writes through a lock file beside the log, so rotation neither loses nor interleaves
lines across processes (the stdlib RotatingFileHandler does both under gunicorn).
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import TextIO

from concurrent_log_handler import ConcurrentRotatingFileHandler
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from .config import Settings
from .current_request import current_request_id
from .process_kind import in_cli_command
from .redaction import Redactor

_RESERVED = ("request_id", "version", "environment")
# Terminal colours (werkzeug's dev-server banner has them): never part of a log line.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ContextFilter(logging.Filter):
    """Adds the request id (None outside a request) and removes secrets, on every handler."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        # Attached to every handler; the work is done once per record.
        if getattr(record, "_context_applied", False):
            return True
        record._context_applied = True
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        message = record.getMessage()
        if "\x1b" in message:
            message = _ANSI_ESCAPE.sub("", message)
        record.msg = self._redactor.text(message)
        record.args = None
        if record.exc_info:
            # Formatters print this redacted text; exc_info stays for Sentry, which reads the
            # record after the handlers.
            record.exc_text = self._redactor.text(_TRACEBACKS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self._redactor.text(record.stack_info)
        fields = vars(record)
        for name in fields.keys() - _STANDARD_ATTRS:  # the extra fields
            value = fields[name]
            if isinstance(value, str | dict | list | tuple):
                fields[name] = self._redactor.value(value)
        return True


class _NoWerkzeugAccessLines(logging.Filter):
    """The service writes its own access line; werkzeug's dev-server one would be a second."""

    def filter(self, record: logging.LogRecord) -> bool:
        # werkzeug logs `<client> - - [<time>] "%s" %s %s` (request line, status, size).
        template = record.msg if isinstance(record.msg, str) else ""
        return not (record.name == "werkzeug" and template.endswith('"%s" %s %s'))


class JsonLineFormatter(OrjsonFormatter):
    """python-json-logger's orjson formatter, printing the traceback the context filter redacted.

    Every handler shares this formatter, so a record is serialised once, not once per handler.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: str | None = getattr(record, "_json_line", None)
        if line is not None:
            return line
        # Without exc_info, the formatter falls back to exc_text for the `exc_info` field.
        exc_info, record.exc_info = record.exc_info, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        record._json_line = line
        return line


class ConsoleFormatter(logging.Formatter):
    """One readable line: time, level, logger, request id, message, then extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {
            k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and k not in _RESERVED
        }
        line = (
            f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name} "
            f"[{getattr(record, 'request_id', None) or '-'}] {record.getMessage()}"
        )
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


_BOOKKEEPING = ("_context_applied", "_json_line")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    *_BOOKKEEPING,
}
_TRACEBACKS = logging.Formatter()


def build_formatter(settings: Settings, version: str) -> logging.Formatter:
    """JSON lines (README, "Logging"), or one readable line per record for local reading."""
    if settings.LOG_FORMAT == "console":
        return ConsoleFormatter()
    # timestamp=True writes the record's time as ISO 8601 in UTC ("...+00:00").
    return JsonLineFormatter(
        ["message", "levelname", "name", "request_id"],
        rename_fields={"levelname": "level", "name": "logger"},
        static_fields={"version": version, "environment": settings.APP_ENV},
        timestamp=True,
        reserved_attrs=[*RESERVED_ATTRS, *_BOOKKEEPING],
    )


def configure_logging(settings: Settings, version: str, redactor: Redactor) -> None:
    """Replace the root logger's handlers with the service's stream and file handlers."""
    formatter = build_formatter(settings, version)
    context = ContextFilter(redactor)
    handlers: list[logging.Handler] = [logging.StreamHandler(_stream())]
    if settings.LOG_FILE:
        Path(settings.LOG_FILE).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            ConcurrentRotatingFileHandler(
                settings.LOG_FILE,
                maxBytes=settings.LOG_MAX_BYTES,
                backupCount=settings.LOG_BACKUP_COUNT,
                encoding="utf-8",
            )
        )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(formatter)
        # Dropping first: the context filter rewrites the message the drop recognises.
        handler.addFilter(_NoWerkzeugAccessLines())
        handler.addFilter(context)
        root.addHandler(handler)
    root.setLevel(settings.LOG_LEVEL)
    # Libraries' INFO lines repeat what the service logs once: migration steps, and the HTTP
    # client's line per upstream call (the access line and the audit record carry the call).
    for chatty in ("alembic", "httpx2", "httpcore2"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _stream() -> TextIO:
    """stdout for the server; stderr for CLI commands, whose own output owns stdout."""
    return sys.stderr if in_cli_command() else sys.stdout
