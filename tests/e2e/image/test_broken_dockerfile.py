"""A Dockerfile broken on purpose fails the image test with a message that names the problem."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.image import stack
from tests.e2e.image.buildah import build, buildah
from tests.e2e.image.test_image import user_problem
from tests.processes import ROOT

pytestmark = pytest.mark.image

LOCK = (ROOT / "requirements" / "runtime.txt").read_text()


def build_problem(result: subprocess.CompletedProcess[str]) -> str:
    """The lines of a failed build that say what went wrong."""
    wanted = re.compile(r"(?i)^(error|.*requires .* which is not installed|.*no such file)")
    output = result.stdout + result.stderr
    return "\n".join(line for line in output.splitlines() if wanted.match(line))


def broken_build(tmp_path: Path, dockerfile: str, lock: str = LOCK) -> tuple[str, str]:
    """Build a modified copy of the build context; (the build's problem, the tag)."""
    tag = f"localhost/ielts-question-service:broken-{tmp_path.name[-12:].lower()}"
    result = build(tmp_path, stack.build_context(tmp_path, dockerfile, lock), tag)
    return ("" if result.returncode == 0 else build_problem(result)), tag


def test_a_wrong_copy_path_fails_the_build_naming_the_path(image: str, tmp_path: Path) -> None:
    dockerfile = stack.dockerfile_variant("COPY src ./src", "COPY source ./src")
    problem, _ = broken_build(tmp_path, dockerfile)
    assert re.search(r"COPY source \./src.*no such file or directory", problem), problem


def test_a_package_missing_from_the_lock_fails_the_build_naming_it(
    image: str, tmp_path: Path
) -> None:
    lock = re.sub(r"(?m)^limits==.*\n(?:[ #].*\n)*", "", LOCK)
    assert "limits==" not in lock
    problem, _ = broken_build(tmp_path, (ROOT / "deploy" / "Dockerfile").read_text(), lock)
    assert re.search(r"requires limits, which is not installed", problem), problem


def test_an_image_running_as_root_is_named(image: str, tmp_path: Path) -> None:
    dockerfile = stack.dockerfile_variant("USER 10001:10001", "USER 0:0")
    problem, tag = broken_build(tmp_path, dockerfile)
    assert problem == ""
    try:
        assert user_problem(tag) == (
            "the image runs as root: USER 0:0 gives uid 0; set a non-root USER"
        )
    finally:
        buildah("rmi", tag)
