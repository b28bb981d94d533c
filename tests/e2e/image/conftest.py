"""The image under test: the stand-in base (cached), then deploy/Dockerfile built by buildah."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.image.buildah import build, image_size
from tests.processes import ROOT
from tests.services import IN_CI

HERE = Path(__file__).parent
TAG = "localhost/ielts-question-service:image-test"
# Measurements the run reports at its end (image size, build and cold-start times).
MEASURED: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(str(item.path)).parents]
    if not mine or (shutil.which("buildah") and shutil.which("debootstrap")):
        return
    message = "image tests need buildah and debootstrap (make system-deps installs them)"
    if IN_CI:
        raise pytest.UsageError(f"{message}; CI=true: they must run")
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=message))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, value in MEASURED.items():
        terminalreporter.write_line(f"image test: {name}: {value}")


@pytest.fixture(scope="session")
def base_image() -> str:
    """deploy/Dockerfile's base image, built locally by scripts/standin_base.py when stale."""
    done = subprocess.run(
        [sys.executable, "-m", "scripts.standin_base"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"stand-in base image: {done.stderr[-2000:]}"
    MEASURED["stand-in base"] = "built" if "building" in done.stderr else "cached"
    return done.stdout.strip()


@pytest.fixture(scope="session")
def image(base_image: str) -> str:
    """deploy/Dockerfile built from the repository, as `make up` builds it."""
    started = time.monotonic()
    result = build(ROOT, ROOT / "deploy" / "Dockerfile", TAG)
    output = result.stdout[-2500:] + result.stderr[-1000:]
    assert result.returncode == 0, f"deploy/Dockerfile does not build:\n{output}"
    MEASURED["build"] = f"{time.monotonic() - started:.0f} s (layers cached where unchanged)"
    MEASURED["image size"] = f"{image_size(TAG)} (base {base_image}: {image_size(base_image)})"
    return TAG
