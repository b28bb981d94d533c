"""`.env.example` lists every variable the service and deploy/gunicorn.conf.py read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ielts_service.config import Settings
from tests.processes import ROOT

READS = {"os.environ.get", "os.environ.setdefault", "os.getenv"}
READERS = [
    *sorted((ROOT / "src" / "ielts_service").rglob("*.py")),
    ROOT / "deploy" / "gunicorn.conf.py",
]


def environment_reads(path: Path) -> set[str]:
    """Names read with os.environ[...], os.environ.get/setdefault(...) or os.getenv(...)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        target = None
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            target = node.slice
        elif isinstance(node, ast.Call) and node.args and ast.unparse(node.func) in READS:
            target = node.args[0]
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            names.add(target.value)
    return names


def listed() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_setting_is_listed() -> None:
    assert set(Settings.model_fields) - listed() == set()


def test_every_variable_the_code_reads_is_listed() -> None:
    read = set().union(*(environment_reads(path) for path in READERS))
    assert "GUNICORN_WORKERS" in read  # the scan sees gunicorn.conf.py
    assert read - listed() == set()
