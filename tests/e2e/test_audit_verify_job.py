"""The audit-verify CronJob as the production overlay renders it, its command run for real:
checkpoint + incremental verify against PostgreSQL, hour after hour."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from ielts_service.audit import store
from ielts_service.audit.checkpoints import keygen
from ielts_service.config import Settings
from ielts_service.db import build_engine, upgrade
from ielts_service.tables import audit_checkpoints, audit_events, audit_verifications
from tests.fakes.audit_records import sample_record
from tests.processes import BIN
from tests.services import require_service

OVERLAY = Path(__file__).parents[2] / "deploy" / "k8s" / "overlays" / "production"


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    require_service("kubectl", None if shutil.which("kubectl") else "not installed")
    text = subprocess.run(
        ["kubectl", "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(text) if doc]


def job_container(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    [cronjob] = [doc for doc in rendered if doc["kind"] == "CronJob"]
    assert cronjob["metadata"]["name"] == "audit-verify"
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


@pytest.fixture
def job(
    rendered: list[dict[str, Any]], pg_schema_url: str, tmp_path: Path
) -> tuple[list[str], dict[str, str]]:
    """The job's command and environment: its ConfigMap and env, with the secret's values
    (database, metrics token, Azure) for this test and the key files where the secret would
    mount."""
    container = job_container(rendered)
    [config] = [doc for doc in rendered if doc["kind"] == "ConfigMap"]
    env = {**config["data"], **{item["name"]: item["value"] for item in container["env"]}}
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "keys"]
    for name in ("AUDIT_SIGNING_KEY_FILE", "AUDIT_VERIFY_KEY_FILE"):
        assert env[name].startswith(mount["mountPath"] + "/")
        env[name] = str(tmp_path / Path(env[name]).name)
    keygen(Path(env["AUDIT_SIGNING_KEY_FILE"]), Path(env["AUDIT_VERIFY_KEY_FILE"]))
    env |= {
        "DATABASE_URL": pg_schema_url,
        "METRICS_TOKEN": "job-test-metrics-token",
        # Read from the secret and validated at start; the job never calls the provider.
        "AZURE_OPENAI_ENDPOINT": "https://azure.invalid",
        "AZURE_OPENAI_API_KEY": "job-test-azure-key",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    engine = build_engine(Settings(DATABASE_URL=pg_schema_url, APP_ENV="test"))
    upgrade(engine)  # the migration Job's part
    engine.dispose()
    return container["command"], env


def run(job: tuple[list[str], dict[str, str]]) -> subprocess.CompletedProcess[str]:
    command, env = job
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def tamper(engine: sa.Engine, seq: int) -> None:
    with engine.begin() as conn:
        conn.execute(audit_events.update().where(audit_events.c.seq == seq).values(topic="x"))


def test_each_run_signs_a_checkpoint_and_verifies_from_the_last_verified_one(
    job: tuple[list[str], dict[str, str]],
) -> None:
    engine = build_engine(Settings(DATABASE_URL=job[1]["DATABASE_URL"], APP_ENV="test"))
    try:
        store.append(engine, [sample_record() for _ in range(5)])
        first = run(job)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout.splitlines()[0])["seq"] == 5  # the checkpoint, printed
        store.append(engine, [sample_record() for _ in range(3)])
        second = run(job)
        assert second.returncode == 0, second.stderr
        assert "3 records verified from #6" in second.stdout  # not from genesis
        tamper(engine, 7)  # already verified: outside the next run's range, as documented
        assert run(job).returncode == 0
        store.append(engine, [sample_record() for _ in range(3)])
        tamper(engine, 10)  # inside it
        fourth = run(job)
        assert fourth.returncode == 1
        assert "BROKEN at record #10" in fourth.stdout
        with engine.connect() as conn:
            runs = conn.execute(
                sa.select(audit_verifications.c.ok, audit_verifications.c.from_seq).order_by("id")
            ).all()
            signed = conn.execute(sa.select(audit_checkpoints.c.seq).order_by("id")).scalars()
            assert list(signed) == [5, 8, 8, 11]
        assert [tuple(r) for r in runs] == [(True, 1), (True, 6), (True, 9), (False, 9)]
    finally:
        engine.dispose()
