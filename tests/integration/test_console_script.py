"""`ielts-service` is `flask --app ielts_service`: the same commands, the same app."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.processes import BIN, service_env


def commands(tmp_path: Path, *program: str) -> set[str]:
    env = service_env(tmp_path, LOG_FILE="")
    result = subprocess.run(
        [*program, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split("Commands:", 1)[1]
    return set(re.findall(r"^  (\S+)", listed, flags=re.MULTILINE))


def test_the_console_script_has_the_flask_commands(tmp_path: Path) -> None:
    ours = commands(tmp_path, str(BIN / "ielts-service"))
    assert {"run", "db", "keys", "audit"} <= ours
    assert ours == commands(tmp_path, str(BIN / "flask"), "--app", "ielts_service")


def test_a_command_works_before_the_metrics_directory_exists(tmp_path: Path) -> None:
    # As in `kubectl exec` before the first request, or a fresh shell with the pod's variables.
    env = service_env(tmp_path, LOG_FILE="")
    result = subprocess.run(
        [str(BIN / "ielts-service"), "keys", "list", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    # A command serves no metrics: nothing is written where the server keeps them.
    assert not Path(env["PROMETHEUS_MULTIPROC_DIR"]).exists()
