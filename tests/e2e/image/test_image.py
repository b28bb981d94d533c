"""deploy/Dockerfile built and run: migrate, serve as the image's user on a read-only root, stop.

Every command, environment variable and writable path is the Compose file's (tests/e2e/
image/stack.py); the stores are the real PostgreSQL (a schema of its own) and Redis.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from scripts.lockcheck import differences

from tests.e2e.image import stack
from tests.e2e.image.buildah import image_config, read_only_container, run_argv, run_dir
from tests.e2e.image.conftest import MEASURED
from tests.processes import ROOT, free_port, http_status, wait_until

pytestmark = pytest.mark.image

SERVICE = "ielts-service"
WRITE_PROBE = (
    "import json, sys\n"
    "result = {}\n"
    "for path in sys.argv[1:]:\n"
    "    try:\n"
    "        open(path + '/.write-probe', 'w').close()\n"
    "        result[path] = 'written'\n"
    "    except OSError as exc:\n"
    "        result[path] = exc.strerror\n"
    "print(json.dumps(result))\n"
)

MARKER_ENVIRONMENT = (
    "import json; from packaging.markers import default_environment; "
    "print(json.dumps(default_environment()))"
)


def run_in(
    container: str, command: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """One command in CONTAINER with the service's env and writable mounts; the result."""
    argv = run_argv(container, command, env, stack.writable_paths(SERVICE))
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def user_problem(tag: str) -> str | None:
    """Why the image would run its processes as root, or None when it does not."""
    user = image_config(tag).get("User") or "root (no USER)"
    with read_only_container(tag) as ctr:
        uid = run_in(ctr, ["id", "-u"], {}).stdout.strip()
    if uid == "0":
        return f"the image runs as root: USER {user} gives uid 0; set a non-root USER"
    return None


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL schema of the test's own, as the URL the container is given."""
    schema = f"image_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="module")
def stores(database_url: str, redis_url: str) -> dict[str, str]:
    """The test's stores, in place of the Compose stack's `postgres` and `redis` hosts."""
    return {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": redis_url}


@pytest.fixture(scope="module")
def migrated(image: str, stores: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Compose's one-shot `migrate` service, run from the image."""
    migrate = stack.service("migrate")
    env = {**stack.environment("migrate"), **stores}
    with read_only_container(image) as ctr:
        argv = run_argv(ctr, migrate["command"], env, stack.writable_paths("migrate"))
        return subprocess.run(argv, capture_output=True, text=True, timeout=300)


@dataclass
class Server:
    url: str
    env: dict[str, str]
    container: str
    process: subprocess.Popen[bytes]
    log: Path

    def processes(self) -> list[int]:
        """The pids of the service's processes (gunicorn master and workers), from the host."""
        parents = {int(p.name): _ppid(p) for p in Path("/proc").iterdir() if p.name.isdigit()}
        tree, frontier = set(), {self.process.pid}
        while frontier:
            tree |= frontier
            frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - tree
        # Not buildah's own processes, whose arguments also name gunicorn.
        argvs = {pid: _cmdline(pid).split(b"\0") for pid in tree}
        return sorted(
            pid
            for pid, argv in argvs.items()
            if b"buildah" not in argv[0] and b"gunicorn" in b" ".join(argv)
        )

    def master(self) -> int:
        pids = self.processes()
        (master,) = [pid for pid in pids if _ppid(Path(f"/proc/{pid}")) not in pids]
        return master


def _ppid(proc: Path) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture(scope="module")
def server(
    image: str, stores: dict[str, str], migrated: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Compose's command (the image's CMD) and environment, on a read-only root, until SIGTERM."""
    assert migrated.returncode == 0, f"migration failed:\n{migrated.stderr[-3000:]}"
    port = free_port()
    env = {**stack.environment(SERVICE), **stores, "PORT": str(port)}
    log = tmp_path_factory.mktemp("image") / "server.log"
    with read_only_container(image) as ctr, log.open("wb") as out:
        command = stack.service(SERVICE).get("command", image_config(image)["Cmd"])
        argv = run_argv(ctr, command, env, stack.writable_paths(SERVICE))
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", env, ctr, process, log)
        try:
            wait_until(
                lambda: process.poll() is not None or http_status(f"{server.url}/readyz") == 200,
                90,
                "/readyz",
            )
            assert process.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
            MEASURED["cold start to first ready /readyz"] = f"{time.monotonic() - started:.1f} s"
            yield server
        finally:
            if process.poll() is None:
                os.kill(server.master(), signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()


def test_the_image_holds_exactly_the_locked_packages(image: str) -> None:
    with read_only_container(image) as ctr:
        freeze = run_in(ctr, ["python", "-m", "pip", "freeze", "--all"], {})
        markers = run_in(ctr, ["python", "-c", MARKER_ENVIRONMENT], {})
        check = run_in(ctr, ["python", "-m", "pip", "check"], {})
    lock = (ROOT / "requirements" / "runtime.txt").read_text()
    assert freeze.returncode == 0, freeze.stderr
    # Markers are evaluated for the image's interpreter (its Python version, not the host's).
    assert differences(lock, freeze.stdout, json.loads(markers.stdout)) == []
    assert check.returncode == 0, check.stdout


def test_the_migration_command_creates_the_schema(
    migrated: subprocess.CompletedProcess[str], database_url: str
) -> None:
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert {"alembic_version", "audit_events", "api_keys"} <= tables


def test_the_server_runs_as_the_images_non_root_user(server: Server, image: str) -> None:
    uid = image_config(image)["User"].partition(":")[0]
    assert uid != "0"
    pids = server.processes()
    assert len(pids) >= 2, "expected a gunicorn master and its workers"
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        assert set(uids) == {uid}, f"pid {pid} runs as uid {uids}"
    assert user_problem(image) is None


def test_only_the_mounted_paths_are_writable(server: Server) -> None:
    writable = stack.writable_paths(SERVICE)
    paths = sorted({"/", "/app", "/opt/venv", "/etc", "/home", "/var/tmp", "/tmp", *writable})
    probe = run_in(server.container, ["python", "-c", WRITE_PROBE, *paths], {})
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == {
        p: "written" if p in writable else "Read-only file system" for p in paths
    }
    # /run (writable for buildah's sake) holds nothing of the service's.
    assert {p.name for p in run_dir(server.container).iterdir()} <= {".containerenv"}
    # What the running server itself sees: / read-only, a tmpfs on every writable path.
    mounts = Path(f"/proc/{server.master()}/mountinfo").read_text().splitlines()
    options = {line.split()[4]: line.split()[5] for line in mounts}
    assert options["/"].startswith("ro")
    assert all(options[path].startswith("rw") for path in writable)


def test_health_and_readiness_answer(server: Server) -> None:
    assert http_status(f"{server.url}/healthz") == 200
    assert http_status(f"{server.url}/readyz") == 200


def test_a_key_made_by_the_images_cli_gets_a_question(server: Server, image: str) -> None:
    command = ["flask", "--app", "ielts_service", "keys", "create", "image-test",
               "--scopes", "questions:generate", "--json"]  # fmt: skip
    with read_only_container(image) as ctr:
        created = run_in(ctr, command, server.env)
    assert created.returncode == 0, created.stderr[-3000:]
    key = json.loads(created.stdout)["key"]
    request = urllib.request.Request(
        f"{server.url}/v1/questions",
        data=json.dumps({"topic": "a memorable trip", "part": 2}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert response.status == 200
    assert body["status"] == "success"
    assert body["data"]["question"]


def test_metrics_count_the_requests(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'flask_http_request_total{method="POST",status="200"}' in text


def test_the_health_check_command_passes(server: Server, image: str) -> None:
    healthcheck = image_config(image)["Healthcheck"]
    assert healthcheck["Test"][0] == "CMD"
    assert stack.service(SERVICE)["healthcheck"]["test"] == healthcheck["Test"]
    done = run_in(server.container, healthcheck["Test"][1:], server.env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_sigterm_drains_then_exits_0(server: Server) -> None:
    drain_s = float(server.env["SHUTDOWN_DRAIN_S"])
    os.kill(server.master(), signal.SIGTERM)
    wait_until(lambda: http_status(f"{server.url}/readyz") == 503, drain_s, "/readyz 503")
    assert http_status(f"{server.url}/healthz") == 200  # still serving while it drains
    assert server.process.wait(timeout=drain_s + 35) == 0, server.log.read_text()[-3000:]
    assert http_status(f"{server.url}/healthz") == 0
