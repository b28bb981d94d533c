"""Long audit commands show progress on a terminal's stderr, and nothing when piped or --json."""

from __future__ import annotations

import os
import pty
import subprocess

import pytest

from ielts_service.audit import store
from ielts_service.config import Settings
from ielts_service.db import build_engine, upgrade
from tests.fakes.audit_records import sample_record
from tests.processes import BIN

RECORDS = 25_000


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A SQLite trail of RECORDS records and the environment of a CLI on it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('progress')}/audit.db"
    engine = build_engine(Settings(DATABASE_URL=url, APP_ENV="test"))
    upgrade(engine)
    for _ in range(RECORDS // 5000):
        store.append(engine, [sample_record() for _ in range(5000)])
    engine.dispose()
    return {"PATH": os.environ["PATH"], "DATABASE_URL": url, "APP_ENV": "test", "LOG_FILE": ""}


def run(env: dict[str, str], *args: str, terminal: bool) -> tuple[int, str, str]:
    """Run `flask audit ARGS`, stderr on a pseudo-terminal or a pipe; (exit, stdout, stderr)."""
    command = [str(BIN / "flask"), "--app", "ielts_service", "audit", *args]
    if not terminal:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=follower) as proc:
        os.close(follower)
        stderr = b""
        while chunk := _read(leader):
            stderr += chunk
        stdout = proc.stdout.read() if proc.stdout else b""
    os.close(leader)
    return proc.returncode, stdout.decode(), stderr.decode(errors="replace")


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal closed with the process
        return b""


@pytest.mark.parametrize("command", [["verify"], ["export", "--output", os.devnull]])
def test_progress_on_a_terminal(env: dict[str, str], command: list[str]) -> None:
    code, _, stderr = run(env, *command, terminal=True)
    assert code == 0
    assert f"{RECORDS // 1000}.0k/{RECORDS // 1000}.0k" in stderr  # done / total
    assert "records/s" in stderr  # rate
    assert "<" in stderr  # elapsed<ETA


@pytest.mark.parametrize(("args", "terminal"), [(["verify"], False), (["verify", "--json"], True)])
def test_no_progress_when_piped_or_json(
    env: dict[str, str], args: list[str], terminal: bool
) -> None:
    code, stdout, stderr = run(env, *args, terminal=terminal)
    assert code == 0
    assert "records/s" not in stderr
    assert "records" in stdout or '"checked"' in stdout
