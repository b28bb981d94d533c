"""The installed package's version (0.0.0 when running from a source tree that is not installed)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ielts-question-service")
except PackageNotFoundError:
    __version__ = "0.0.0"
