"""The hash locks in requirements/: fresh against pyproject.toml, nested, and checkable."""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from scripts.lockcheck import differences, locked

from tests.processes import ROOT

REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Each lock and the pyproject sets it must pin (runtime ⊂ dev ⊂ bench).
LOCKS = {
    "runtime": PYPROJECT["dependencies"],
    "dev": PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["dev"],
    "bench": PYPROJECT["dependencies"]
    + PYPROJECT["optional-dependencies"]["dev"]
    + PYPROJECT["optional-dependencies"]["bench"],
}


def lock_text(name: str) -> str:
    return (REQUIREMENTS / f"{name}.txt").read_text()


@pytest.mark.parametrize("name", LOCKS)
def test_lock_pins_every_declared_requirement_within_its_range(name: str) -> None:
    pins = locked(lock_text(name))
    stale = [
        f"{req.name}{req.specifier} (locked: {pins.get(canonicalize_name(req.name))})"
        for req in map(Requirement, LOCKS[name])
        if pins.get(canonicalize_name(req.name)) not in req.specifier
    ]
    assert not stale, f"requirements/{name}.txt is stale, run `make lock`: {stale}"


@pytest.mark.parametrize(("small", "large"), [("runtime", "dev"), ("dev", "bench")])
def test_locks_nest_with_the_same_versions(small: str, large: str) -> None:
    inner, outer = locked(lock_text(small)), locked(lock_text(large))
    assert {n: outer.get(n) for n in inner} == inner


@pytest.mark.parametrize("name", [*LOCKS, "uv"])
def test_every_pin_carries_a_hash(name: str) -> None:
    entries = lock_text(name).replace("\\\n", " ").splitlines()
    pinned = [line for line in entries if "==" in line and not line.startswith("#")]
    assert pinned
    assert all("--hash=sha256:" in line for line in pinned)


def test_a_test_run_installs_no_benchmark_only_package() -> None:
    bench = PYPROJECT["optional-dependencies"]["bench"]
    bench_only = {canonicalize_name(Requirement(r).name) for r in bench}
    assert bench_only
    assert not bench_only & locked(lock_text("dev")).keys()


def test_openai_is_capped_below_its_next_major() -> None:
    (openai,) = [r for r in map(Requirement, LOCKS["runtime"]) if r.name == "openai"]
    major = int(locked(lock_text("runtime"))["openai"].split(".")[0])
    assert f"{major + 1}.0.0" not in openai.specifier


def test_flask_async_is_not_installed_without_an_async_view() -> None:
    assert "asgiref" not in locked(lock_text("runtime"))


def test_lockcheck_names_missing_extra_and_different_packages() -> None:
    lock = "alpha==1.0 \\\n    --hash=sha256:00\nbeta==2.0 ; sys_platform == 'win32'\ngamma==3.0\n"
    freeze = "gamma==3.1\ndelta==4.0\nielts-question-service==0.1.0\n"
    assert differences(lock, freeze) == [
        "missing: alpha==1.0",
        "not in the lock: delta==4.0",
        "version: gamma==3.1 installed, 3.0 locked",
    ]
    assert differences(lock, "alpha==1.0\ngamma==3.0\n") == []
