"""buildah from the tests: build deploy/Dockerfile, run the image's commands with the host network.

`buildah run --isolation chroot` runs a command in a working container of the image as the
image's USER. It has no read-only-root flag, so `read_only_container` remounts the working
container's root filesystem read-only (a bind mount onto itself, then `remount,ro`): every path
is then read-only except the tmpfs mounts each run asks for, /run (a small tmpfs: buildah
writes its /run/.containerenv there and fails on a read-only /run; `run_dir` lets a test check
that nothing else landed in it) and /dev/shm, which chroot isolation shares with the host
(Docker and Kubernetes give each container its own).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUILD_TIMEOUT_S = 1200


def buildah(*args: str, timeout: float = 120) -> str:
    """Run one buildah command; return its stdout, fail with its stderr."""
    done = subprocess.run(["buildah", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def build(context: Path, dockerfile: Path, tag: str) -> subprocess.CompletedProcess[str]:
    """`buildah bud` the Dockerfile as Docker does (docker format keeps HEALTHCHECK); not raised."""
    return subprocess.run(
        ["buildah", "bud", "--isolation", "chroot", "--layers", "--force-rm", "--pull=never",
         "--format", "docker", "-f", str(dockerfile), "-t", tag, str(context)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )  # fmt: skip


def image_config(tag: str) -> dict[str, Any]:
    """The image's OCI config (User, Env, Cmd, WorkingDir) and the Docker HEALTHCHECK."""
    inspected = json.loads(buildah("inspect", "--type", "image", tag))
    config: dict[str, Any] = inspected["OCIv1"]["config"]
    config["Healthcheck"] = inspected["Docker"]["config"].get("Healthcheck")
    return config


def image_size(tag: str) -> str:
    """The image's size as `buildah images` reports it (e.g. "300 MB")."""
    return buildah("images", "--format", "{{.Size}}", tag)


@contextmanager
def read_only_container(tag: str) -> Iterator[str]:
    """A working container of TAG whose root filesystem is mounted read-only; removed after."""
    name = buildah("from", "--pull=never", tag)
    try:
        root = buildah("mount", name)
        subprocess.run(["mount", "--bind", root, root], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", root], check=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", f"{root}/run"], check=True
        )
        try:
            yield name
        finally:
            subprocess.run(["umount", f"{root}/run"], check=False)
            subprocess.run(["umount", root], check=False)
    finally:
        subprocess.run(["buildah", "rm", name], capture_output=True, check=False)


def run_dir(container: str) -> Path:
    """The container's /run as the host sees it."""
    return Path(buildah("mount", container)) / "run"


def run_argv(
    container: str,
    command: Sequence[str],
    env: Mapping[str, str],
    tmpfs: Sequence[str],
) -> list[str]:
    """The `buildah run` command line: host network, ENV, a tmpfs on each writable path."""
    argv = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    for name, value in env.items():
        argv += ["--env", f"{name}={value}"]
    for path in tmpfs:
        argv += ["--mount", f"type=tmpfs,destination={path},tmpfs-mode=1777"]
    return [*argv, container, "--", *command]
