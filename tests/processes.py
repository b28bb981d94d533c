"""Real processes for end-to-end tests: gunicorn instances, the flask CLI, Prometheus."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def http_status(url: str, timeout: float = 5, **request: Any) -> int:
    """Status code of one request (errors included), or 0 when nothing answered."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, **request), timeout=timeout) as r:
            status: int = r.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def post_question(url: str, key: str, topic: str = "a memorable trip") -> int:
    """POST /v1/questions with KEY; the status code."""
    return http_status(
        f"{url}/v1/questions",
        timeout=30,
        data=json.dumps({"topic": topic}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


def stop_group(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Stop a process started in its own session, and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout)


def session_processes(session_id: int) -> str:
    """The processes of one session: state, the kernel function each waits in, age, CPU time
    used (a process starved by a loaded machine has used little of its age), command."""
    return subprocess.run(
        ["ps", "-o", "pid,ppid,stat,wchan:24,etime,time,args", "--sid", str(session_id)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def start_ready(
    command: list[str], output: Path, ready_url: str, timeout: float, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start COMMAND in its own session, output to OUTPUT; return once READY_URL answers 200.

    A process that exits or never answers is stopped, and the test fails with its output.
    """
    with output.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )
    try:
        wait_until(
            lambda: process.poll() is not None or http_status(ready_url) == 200,
            timeout,
            f"{Path(command[0]).name} to answer {ready_url}",
        )
        assert process.poll() is None, f"{command[0]} exited with {process.returncode}"
    except AssertionError as exc:
        processes = session_processes(process.pid)  # before the stop: what each was waiting in
        stop_group(process)
        raise AssertionError(
            f"{exc}\n--- processes ---\n{processes}--- output ---\n{output.read_text()[-20000:]}"
        ) from None
    except BaseException:
        stop_group(process)
        raise
    return process


def service_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """Environment for one service instance, with its own metrics dir, socket and log file."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUNICORN_")}
    env.update(
        {
            "APP_ENV": "test",
            "AI_PROVIDER": "offline",
            "LOG_FILE": str(workdir / "log" / "service.log"),
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
            "GUNICORN_CONTROL_SOCKET": str(workdir / "gunicorn.ctl"),
            "GUNICORN_WORKERS": "2",
        }
    )
    env.update(overrides)
    return env


def azure_env(
    endpoint: str, api_key: str = "fake-azure-key-0123456789abcdef", deployment: str = "gpt-4o-test"
) -> dict[str, str]:
    """Settings that point the Azure provider at a fake Azure server."""
    return {
        "AI_PROVIDER": "azure",
        "AZURE_OPENAI_ENDPOINT": endpoint,
        "AZURE_OPENAI_API_KEY": api_key,
        "AZURE_OPENAI_DEPLOYMENT": deployment,
    }


def request_limits(per_minute: int) -> dict[str, str]:
    """Per-key and per-address request limits, set high enough that a run never meets them."""
    limit = f"{per_minute}/minute"
    return {"RATE_LIMIT_DEFAULT": limit, "RATE_LIMIT_UNAUTHENTICATED": limit}


def flask_cli(
    workdir: Path, env: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """Run `flask --app ielts_service ARGS` the way an operator does; fail on a non-zero exit."""
    # A CLI process serves no metrics: it must not write into the instance's metrics dir.
    cli_env = {key: value for key, value in env.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "ielts_service", *args],
        env=cli_env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"flask {' '.join(args)}: {result.stderr}"
    return result


@dataclass
class Gunicorn:
    """One service instance: a gunicorn master with its workers."""

    process: subprocess.Popen[bytes]
    url: str

    def terminate(self) -> None:
        """SIGTERM the master, as an orchestrator does."""
        self.process.send_signal(signal.SIGTERM)


def start_gunicorn(workdir: Path, env: Mapping[str, str], timeout: float = 60) -> Gunicorn:
    """Start gunicorn with deploy/gunicorn.conf.py on a free port; return once /healthz answers.

    A start costs seconds of CPU (the migration's process, each worker's imports): on a machine
    busy with the rest of the suite that has taken over 30 s."""
    port = free_port()
    process = start_ready(
        [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONF), "ielts_service.wsgi:app"],
        workdir / "gunicorn.out",
        f"http://127.0.0.1:{port}/healthz",
        timeout,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        cwd=workdir,
    )
    return Gunicorn(process, f"http://127.0.0.1:{port}")


@dataclass
class Prometheus:
    """A real Prometheus server with its HTTP API."""

    process: subprocess.Popen[bytes]
    url: str

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/PATH and return its `data`."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]


def start_prometheus(workdir: Path, config: dict[str, Any], timeout: float = 30) -> Prometheus:
    """Start Prometheus with CONFIG (rule files by absolute path); return once it is ready."""
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    process = start_ready(
        [
            "prometheus",
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        workdir / "prometheus.out",
        f"http://127.0.0.1:{port}/-/ready",
        timeout,
    )
    return Prometheus(process, f"http://127.0.0.1:{port}")


class RedisServer:
    """A throwaway redis-server on one port, which the test can kill and restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.answers, 10, f"redis-server on port {self.port}")

    def kill(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)

    def counters_of(self, key_id: str) -> int:
        """The per-key request counter the limiter keeps for `key_id` (0 when absent)."""
        with self.client() as client:
            names = [n for n in client.keys(f"*{key_id}*") if b"per-key" in n]
            return sum(int(client.get(name) or 0) for name in names)
