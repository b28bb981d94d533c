"""The package's seams: no import circles, request state and settings behind typed accessors,
request hooks registered in one place (docs/architecture.md)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import ielts_service

PACKAGE = Path(ielts_service.__file__).parent
HOOK_REGISTRATION = {
    "before_request",
    "after_request",
    "teardown_request",
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
}


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports anywhere (lazily and for type checking too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            if node.level == 0:
                base = node.module or ""
            elif node.module:
                base = f"{base}.{node.module}"
            for alias in node.names:
                # `from . import store` imports the module `store`; `from .x import f`, module x.
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in known else base)
    # Importing a.b.c runs a/b/__init__.py first: an edge to each package above the target,
    # but for the importer's own packages and the root (whose factory imports everything).
    own = {name.rsplit(".", depth)[0] for depth in range(name.count(".") + 1)}
    for target in list(targets):
        parts = target.split(".")
        targets.update(".".join(parts[:end]) for end in range(2, len(parts)))
    return {target for target in targets if target in known and target not in own}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imported(name, path, known) for name, path in known.items()}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        circle: list[str] = exc.args[1]
        return circle
    return None


def test_the_package_has_no_import_circle() -> None:
    graph = import_graph()
    assert "ielts_service.audit" in graph["ielts_service.generation"]  # the graph sees imports
    assert find_circle(graph) is None, " -> ".join(find_circle(graph) or [])


def test_a_circle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .sub import b\n"
    )
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (package / "sub" / "c.py").write_text("")
    assert set(find_circle(import_graph(package)) or []) == {"pkg.a", "pkg.sub.b"}
    # Through a package's __init__: pkg.d imports pkg.sub.c, which runs pkg/sub/__init__.py.
    (package / "a.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .. import d\n")
    (package / "d.py").write_text("from .sub import c\n")
    assert set(find_circle(import_graph(package)) or []) == {"pkg.d", "pkg.sub"}


def sources() -> Iterator[tuple[str, ast.AST]]:
    for name, path in modules().items():
        yield name, ast.parse(path.read_text())


@pytest.mark.parametrize("name", sorted(modules()))
def test_request_state_and_settings_are_read_through_the_state_module(name: str) -> None:
    if name == "ielts_service.state":
        return
    tree = ast.parse(modules()[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            assert "g" not in {alias.name for alias in node.names}, "flask.g: use state.py"
        if isinstance(node, ast.Constant):
            assert node.value != "SETTINGS", "config['SETTINGS']: use state.get_settings()"


@pytest.mark.parametrize("name", sorted(modules()))
def test_request_hooks_are_registered_only_in_hooks_py(name: str) -> None:
    if name == "ielts_service.hooks":
        return
    tree = ast.parse(modules()[name].read_text())
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not used & HOOK_REGISTRATION, "register request hooks in hooks.py, in order"


def test_the_gunicorn_master_loads_no_web_database_or_model_library() -> None:
    """The master reads settings and logs through the service's handlers for the life of the
    service; what the workers need it would only keep in memory."""
    heavy = ("flask", "werkzeug", "sqlalchemy", "alembic", "openai", "limits", "prometheus_client")
    probe = (
        "import sys, ielts_service.gunicorn_logging, ielts_service.config; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_a_serving_worker_loads_no_library_only_commands_need(tmp_path: Path) -> None:
    """Signed checkpoints (cryptography), progress bars (tqdm) and migrations (alembic) serve
    `flask` commands: a gunicorn worker builds the app and must not keep them in memory."""
    command_only = ("cryptography.hazmat", "tqdm", "alembic")
    answer = tmp_path / "loaded.txt"  # not stdout or stderr: the app and warnings write there
    probe = (
        "import pathlib, sys, ielts_service.wsgi; "
        f"pathlib.Path(sys.argv[1]).write_text(' '.join(m for m in {command_only!r} "
        "if m in sys.modules))"
    )
    env = {
        **os.environ,
        "APP_ENV": "test",
        "AI_PROVIDER": "offline",
        "AUTO_MIGRATE": "false",  # as in a worker: the master migrated before forking
        "DATABASE_URL": f"sqlite:///{tmp_path}/service.db",
        "LOG_FILE": str(tmp_path / "service.log"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run(
        [sys.executable, "-c", probe, str(answer)], capture_output=True, check=True, env=env
    )
    assert answer.read_text().split() == []
