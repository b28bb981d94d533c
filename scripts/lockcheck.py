"""Compare an environment's `pip freeze --all` with a hash-locked requirements file.

    python -m scripts.lockcheck requirements/dev.txt            # this interpreter's environment

Exit 0 when the installed set is exactly the lock's (markers evaluated here), else 1 with one
line per missing, extra or different package. The project itself is not in the lock.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "ielts-question-service"


def locked(lock_text: str, environment: dict[str, str] | None = None) -> dict[str, str]:
    """Return {name: version} of the lock's pins whose markers hold in ENVIRONMENT.

    ENVIRONMENT is `packaging.markers.default_environment()` of the interpreter that installed
    the packages; None: this one.
    """
    joined = lock_text.replace("\\\n", " ")
    pins: dict[str, str] = {}
    for line in joined.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line.split(" --hash", 1)[0])
        if req.marker is None or req.marker.evaluate(environment):
            (spec,) = req.specifier
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def frozen(freeze_text: str) -> dict[str, str]:
    """Return {name: version} from `pip freeze --all` output, without the project."""
    found: dict[str, str] = {}
    for line in freeze_text.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            found[canonicalize_name(name)] = version.strip()
    found.pop(PROJECT, None)
    return found


def differences(
    lock_text: str, freeze_text: str, environment: dict[str, str] | None = None
) -> list[str]:
    """Describe every way the frozen environment differs from the lock (empty: identical)."""
    want, have = locked(lock_text, environment), frozen(freeze_text)
    problems = [f"missing: {n}=={v}" for n, v in sorted(want.items()) if n not in have]
    problems += [f"not in the lock: {n}=={v}" for n, v in sorted(have.items()) if n not in want]
    problems += [
        f"version: {n}=={have[n]} installed, {v} locked"
        for n, v in sorted(want.items())
        if n in have and have[n] != v
    ]
    return problems


def main(argv: list[str]) -> int:
    lock = Path(argv[0])
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    problems = differences(lock.read_text(), freeze)
    for problem in problems:
        print(f"{lock}: {problem}", file=sys.stderr)
    if problems:
        print(f"{lock}: the environment differs from the lock (make install-dev re-syncs it)")
        return 1
    print(f"pip freeze matches {lock}: {len(locked(lock.read_text()))} packages, same versions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
