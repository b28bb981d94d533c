"""Settings: validated once at start-up; a bad value stops the process with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ielts_service.config import Settings

BASE_ENV = {"PATH": os.environ["PATH"], "LOG_FILE": "", "HOME": os.environ.get("HOME", "/tmp")}


def start(env: dict[str, str], tmp_path: object) -> subprocess.CompletedProcess[str]:
    """Build the app in a fresh process, as `flask run` or gunicorn would."""
    code = "from ielts_service import create_app; create_app(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**BASE_ENV, "DATABASE_URL": f"sqlite:///{tmp_path}/c.db", **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"AZURE_OPENAI_TIMEOUT_S": "soon"}, "AZURE_OPENAI_TIMEOUT_S"),
        ({"RATE_LIMIT_DEFAULT": "lots"}, "RATE_LIMIT_DEFAULT"),
        ({"RATELIMIT_STORAGE_URI": "mongodb://x"}, "RATELIMIT_STORAGE_URI"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"APP_ENV": "production"}, "AI_PROVIDER"),
        ({"APP_ENV": "production", "AI_PROVIDER": "offline", "DEBUG": "true"}, "DEBUG"),
        ({"AI_PROVIDER": "azure"}, "AZURE_OPENAI_ENDPOINT"),
        (
            {
                "AI_PROVIDER": "azure",
                "AZURE_OPENAI_ENDPOINT": "http://x",
                "AZURE_OPENAI_DEPLOYMENT": "d",
            },
            "AZURE_OPENAI_API_KEY",
        ),
    ],
)
def test_bad_configuration_stops_with_one_line_naming_the_variable(
    env: dict[str, str], names: str, tmp_path: object
) -> None:
    result = start(env, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: ")
    assert names in lines[0]
    assert "Traceback" not in result.stderr


def test_production_with_explicit_offline_provider_starts(tmp_path: object) -> None:
    result = start(
        {
            "APP_ENV": "production",
            "AI_PROVIDER": "offline",
            "AUTO_MIGRATE": "true",
            "METRICS_TOKEN": "m" * 32,
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_a_password_in_a_bad_url_is_not_echoed(tmp_path: object) -> None:
    result = start({"DATABASE_URL": "mysql://app:sekrit-db-pass@db/ielts"}, tmp_path)
    assert "DATABASE_URL" in result.stderr
    assert "sekrit-db-pass" not in result.stderr


def test_secrets_never_appear_in_a_configuration_error(tmp_path: object) -> None:
    result = start(
        {"AI_PROVIDER": "azure", "AZURE_OPENAI_API_KEY": "sekrit-azure-key-42"}, tmp_path
    )
    assert result.returncode != 0
    assert "sekrit-azure-key-42" not in result.stderr + result.stdout


def test_provider_defaults_to_offline_without_an_endpoint() -> None:
    assert Settings(APP_ENV="test").provider == "offline"
    assert (
        Settings(
            APP_ENV="test",
            AZURE_OPENAI_ENDPOINT="http://x",
            AZURE_OPENAI_API_KEY="k",
            AZURE_OPENAI_DEPLOYMENT="d",
        ).provider
        == "azure"
    )


def test_postgres_urls_use_psycopg3() -> None:
    url = Settings(DATABASE_URL="postgresql://u@h/db").DATABASE_URL
    assert url == "postgresql+psycopg://u@h/db"


def test_migrations_run_at_start_except_in_production() -> None:
    assert Settings(APP_ENV="development").auto_migrate
    assert not Settings(
        APP_ENV="production", AI_PROVIDER="offline", METRICS_PUBLIC=True
    ).auto_migrate
