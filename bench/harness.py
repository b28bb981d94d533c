"""What every benchmark shares: servers on 127.0.0.1, wrk runs, /proc sampling, result files.

Servers under test run in their own process group with their own work directory (database,
logs, metrics directory, gunicorn control socket) and are killed as a group afterwards.
`BENCH_QUICK=1` shortens every window for development; committed results come from full runs.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LUA_SCRIPT = ROOT / "bench" / "wrk" / "post.lua"
BIN = Path(sys.executable).parent
QUICK = os.environ.get("BENCH_QUICK", "") == "1"
POSTGRES_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
QUESTION_BODY = json.dumps({"topic": "a memorable trip", "part": 2})
SPEAKING_TEST_BODY = json.dumps({"topic": "a memorable trip"})


def seconds(full: float, quick: float) -> float:
    """A window length: the full one, or the short one under BENCH_QUICK=1."""
    return quick if QUICK else full


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    """A running server under test: its URL, its process and its work directory."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    key: str = ""

    def pids(self) -> list[int]:
        return tree_pids(self.proc.pid)


@contextmanager
def run_server(
    name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int, key: str = ""
) -> Iterator[Server]:
    """Start `argv` in its own process group, wait until it answers HTTP, kill it afterwards."""
    with (workdir / f"{name}.out").open("wb") as out, (workdir / f"{name}.err").open("wb") as err:
        proc = subprocess.Popen(
            argv, env=env, cwd=workdir, stdout=out, stderr=err, start_new_session=True
        )
    server = Server(name, f"http://127.0.0.1:{port}", proc, workdir, key)
    try:
        _wait_until_answering(server)
        yield server
    finally:
        _stop(proc)


def _wait_until_answering(server: Server, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            errors = (server.workdir / f"{server.name}.err").read_text()[-2000:]
            raise RuntimeError(f"{server.name} exited ({server.proc.returncode}):\n{errors}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers HTTP; the bare apps have no /healthz
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer within {timeout_s} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def base_env(workdir: Path, port: int, **overrides: str) -> dict[str, str]:
    """The service's environment for a benchmark: production mode, limits far out of reach."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(workdir)),
        "PYTHONPATH": str(ROOT),
        "APP_ENV": "production",
        "AI_PROVIDER": "offline",
        "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATE_LIMIT_DEFAULT": "1000000/minute",
        "RATE_LIMIT_UNAUTHENTICATED": "1000000/minute",
        "TOKEN_BUDGET_DAILY": str(10**12),
        "LOG_FILE": str(workdir / "log" / "service.log"),
        "LOG_LEVEL": "INFO",
        "AUTO_MIGRATE": "false",
        "METRICS_TOKEN": "bench-metrics-token-0123456789abcdef",
        "GUNICORN_WORKERS": "2",  # the only gunicorn setting a benchmark makes: the rest ship
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_CONTROL_SOCKET": str(workdir / "gunicorn.ctl"),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    env.update(overrides)
    return env


@contextmanager
def gunicorn(
    name: str, app: str, *, service: bool = True, tree: Path = ROOT, **env_overrides: str
) -> Iterator[Server]:
    """`app` under gunicorn with `tree`'s deploy/gunicorn.conf.py, in a fresh work directory.

    For the service, the database is migrated and given a key first (in `Server.key`).
    `tree` is this checkout, or another one (an older commit, for before/after profiles).
    """
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        workdir, port = Path(tmp), free_port()
        if tree != ROOT:
            env_overrides = {"PYTHONPATH": f"{tree / 'src'}:{ROOT}", **env_overrides}
        env = base_env(workdir, port, **env_overrides)
        key = create_key(env["DATABASE_URL"]) if service else ""
        argv = [str(BIN / "gunicorn"), "-c", str(tree / "deploy" / "gunicorn.conf.py"), app]
        with run_server(name, argv, env, workdir, port, key) as server:
            yield server


@contextmanager
def python_server(name: str, module: str, *args: str, **env: str) -> Iterator[Server]:
    """`python -m module --port P *args` (the fake upstream, the naive app)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        workdir, port = Path(tmp), free_port()
        full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
        argv = [sys.executable, "-m", module, "--port", str(port), *args]
        with run_server(name, argv, full_env, workdir, port) as server:
            yield server


def create_key(database_url: str) -> str:
    """Migrate the database and create a `questions:generate` key; returns its secret."""
    from ielts_service import keys
    from ielts_service.config import Settings
    from ielts_service.db import build_engine, upgrade

    settings = Settings(APP_ENV="test", AI_PROVIDER="offline", DATABASE_URL=database_url)
    engine = build_engine(settings)
    try:
        upgrade(engine)
        _, secret = keys.create_key(
            engine, name=f"bench-{uuid.uuid4().hex[:8]}", scopes=["questions:generate"]
        )
    finally:
        engine.dispose()
    return secret


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for one benchmark, dropped afterwards."""
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def production_backends() -> Iterator[dict[str, str]]:
    """The service's settings for PostgreSQL (a schema of its own) and Redis; stops the run if
    either is unreachable."""
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    with postgres_schema() as database_url:
        yield {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": REDIS_URL}


# --- /proc sampling --------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()  # fields from 3 (state) on


def tree_pids(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(_stat_fields(int(entry.name))[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each process (all its threads)."""
    times = {}
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return times


def pss_bytes(pids: list[int]) -> int:
    """Proportional set size of the processes, summed (shared pages split between them)."""
    total = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
        total += int(match.group(1)) * 1024 if match else 0
    return total


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of the processes, summed (shared pages count once per process)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


@dataclass
class TreeSampler:
    """CPU used and peak RSS of a server's whole process tree while the block runs."""

    server: Server
    interval_s: float = 0.5
    cpu_s: float = 0.0
    peak_rss: int = 0
    peak_pss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> TreeSampler:
        self._start_cpu = cpu_seconds(self.server.pids())
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        end = cpu_seconds(self.server.pids())
        self.cpu_s = sum(end[pid] - self._start_cpu.get(pid, 0.0) for pid in end)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            pids = self.server.pids()
            self.peak_rss = max(self.peak_rss, rss_bytes(pids))
            self.peak_pss = max(self.peak_pss, pss_bytes(pids))


# --- wrk -----------------------------------------------------------------------------------

WRK_LINE = re.compile(r"^WRK_JSON (\{.*\})$", re.MULTILINE)


def wrk(
    url: str,
    *,
    connections: int,
    duration_s: float,
    body: str,
    key: str = "",
    stagger_ms: float = 0,
) -> dict[str, Any]:
    """One closed-loop wrk run; returns req/s, latency percentiles (ms) and errors.

    `stagger_ms`: the connections' first requests are spread evenly over that span
    (bench/wrk/post.lua) instead of all leaving at once."""
    threads = max(1, min(2, connections))
    argv = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{int(duration_s)}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        url,
    ]
    env = {
        **os.environ,
        "WRK_BODY": body,
        "WRK_KEY": key,
        "WRK_STAGGER_MS": str(int(stagger_ms)),
        "WRK_CONNECTIONS": str(connections),
        "WRK_THREADS": str(threads),
    }
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=True
    )
    match = WRK_LINE.search(done.stdout)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(match.group(1))
    latency = raw["latency_us"]
    return {
        "connections": connections,
        "duration_s": round(raw["duration_us"] / 1e6, 3),
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 2),
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "max_ms": latency["max"] / 1000,
        "errors": sum(raw["errors"].values()),
        "error_kinds": raw["errors"],
    }


def measure(
    server: Server,
    path: str,
    *,
    connections: int,
    duration_s: float,
    body: str,
    warmup_s: float = 0,
    stagger_ms: float = 0,
) -> dict[str, Any]:
    """wrk against `server` after an optional warm-up, with CPU and peak RSS of its tree."""
    load = partial(
        wrk,
        server.url + path,
        connections=connections,
        body=body,
        key=server.key,
        stagger_ms=stagger_ms,
    )
    if warmup_s:
        load(duration_s=warmup_s)
    with TreeSampler(server) as sampler:
        result = load(duration_s=duration_s)
    completed = max(result["requests"], 1)
    result["cpu_ms_per_request"] = round(sampler.cpu_s * 1000 / completed, 3)
    result["cpu_cores_used"] = round(sampler.cpu_s / result["duration_s"], 3)
    result["peak_rss_mb"] = round(sampler.peak_rss / 2**20, 1)
    result["peak_pss_mb"] = round(sampler.peak_pss / 2**20, 1)
    log(
        f"{server.name} {path} c={connections}: {result['rps']} req/s, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, errors {result['errors']}, "
        f"{result['cpu_ms_per_request']} ms CPU/req, peak RSS {result['peak_rss_mb']} MB"
    )
    return result


def interleaved_rounds(
    servers: Sequence[Server],
    path: str,
    *,
    connections: Sequence[int],
    rounds: int,
    window_s: float,
    warmup_s: float,
    body: str,
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Every server at every load, `rounds` times, the server order reversed every other round;
    each server is warmed first (imports, pools, first writes). Keyed by (server, connections)."""
    for server in servers:
        measure(server, path, connections=16, duration_s=warmup_s, body=body)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for round_no in range(rounds):
        order = servers if round_no % 2 == 0 else servers[::-1]
        for conns in connections:
            for server in order:
                run = measure(server, path, connections=conns, duration_s=window_s, body=body)
                runs.setdefault((server.name, conns), []).append(run)
    return runs


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


MEDIAN_KEYS = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request", "errors", "peak_rss_mb")


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over rounds; errors and peak memory are the worst round's."""
    summary: dict[str, Any] = {key: median([r[key] for r in rounds]) for key in MEDIAN_KEYS}
    summary["errors"] = max(r["errors"] for r in rounds)
    summary["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    summary["peak_pss_mb"] = max(r.get("peak_pss_mb", 0) for r in rounds)
    summary["connections"] = rounds[0]["connections"]
    summary["rounds"] = len(rounds)
    return summary


def set_upstream_latency(upstream: Server, latency_ms: float) -> None:
    """Change the fake upstream's reply delay (its /_control endpoint)."""
    request = urllib.request.Request(
        f"{upstream.url}/_control",
        data=json.dumps({"latency_ms": latency_ms}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def upstream_requests(upstream: Server) -> int:
    """Requests the fake upstream has received so far (its /_stats endpoint)."""
    with urllib.request.urlopen(f"{upstream.url}/_stats", timeout=5) as response:
        count: int = json.load(response)["requests"]
        return count


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages: how busy it was besides us."""
    return [round(value, 2) for value in os.getloadavg()]


# --- results -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memtotal = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "memory_gb": round(int(memtotal.group(1)) / 2**20, 1) if memtotal else None,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk_version.split("[")[0].strip(),
        "load_average_at_end": load_average(),
        "python_loop_ms_at_end": python_loop_ms(),
    }


def python_loop_ms(iterations: int = 5_000_000) -> float:
    """How long this machine takes for a fixed pure-Python loop, now: a shared machine's
    speed drifts during a session, and absolute figures (not same-run ratios) drift with it."""
    started, total = time.perf_counter(), 0
    for number in range(iterations):
        total += number
    return round((time.perf_counter() - started) * 1000, 1)


def write_result(name: str, data: dict[str, Any]) -> Path:
    """bench/results/<name>.json, with the machine and the time of the run."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": QUICK,
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    log(f"wrote {path.relative_to(ROOT)}")
    return path
