"""What the image test runs, read from the deployment files themselves.

The commands, environment and writable paths come from deploy/docker-compose.yml (interpolated
with an env file the way `docker compose --env-file` does); only the addresses of the stores
and the port are the test's own. So the image test runs what `make up` runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.processes import ROOT

COMPOSE_FILE = ROOT / "deploy" / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
# deploy/.env as a user fills it for a stack without Azure (deploy/compose.env.example).
ENV_FILE = {"POSTGRES_PASSWORD": "unused", "REDIS_PASSWORD": "unused", "AI_PROVIDER": "offline"}
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.groups()
        found = env.get(name, "")
        if op in (":?", "?") and not found:
            raise ValueError(f"{name}: {arg}")
        return found or (arg if op in (":-", "-") else "")

    return _VARIABLE.sub(one, value).replace("$$", "$")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def service(name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"][name]
    return found


def environment(name: str) -> dict[str, str]:
    """The service's environment as Compose hands it to the container."""
    return {k: interpolate(str(v), ENV_FILE) for k, v in service(name)["environment"].items()}


def writable_paths(name: str) -> list[str]:
    """The container paths Compose mounts writable for the service (tmpfs and volumes)."""
    volumes = [v.split(":")[1] for v in service(name).get("volumes", []) if not v.endswith(":ro")]
    return sorted({*service(name).get("tmpfs", []), *volumes})


def dockerfile_variant(old: str, new: str) -> str:
    """deploy/Dockerfile with OLD (which must occur) replaced by NEW."""
    text = DOCKERFILE.read_text()
    assert old in text, f"deploy/Dockerfile no longer contains {old!r}"
    return text.replace(old, new)


def build_context(target: Path, dockerfile: str, lock: str | None = None) -> Path:
    """Copy what .dockerignore lets into the build context to TARGET, with another Dockerfile."""
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        if line.startswith("!"):
            source = ROOT / line[1:].rstrip("/")
            dest = target / line[1:].rstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                _copy_tree(source, dest)
            else:
                dest.write_bytes(source.read_bytes())
    (target / ".dockerignore").write_bytes((ROOT / ".dockerignore").read_bytes())
    (target / "deploy" / "Dockerfile").write_text(dockerfile)
    if lock is not None:
        (target / "requirements" / "runtime.txt").write_text(lock)
    return target / "deploy" / "Dockerfile"


def _copy_tree(source: Path, dest: Path) -> None:
    for path in source.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            (dest / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            (dest / path.relative_to(source)).write_bytes(path.read_bytes())
