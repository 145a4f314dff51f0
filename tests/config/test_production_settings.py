"""Production settings: a sample environment passes `check --deploy`; a bad one stops the start.

Each case runs manage.py in a fresh interpreter because the settings module is evaluated once
per process. `check` does not connect to the database, so no server has to be reachable.
"""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _sample_production_env() -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return {
        # Only PATH from the outside: a developer's or CI's variables must not hide a gap.
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_READ_DOT_ENV": "0",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(64)),
        "DJANGO_ALLOWED_HOSTS": "puntual.example.com",
        "PUNTUAL_BASE_URL": "https://puntual.example.com",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/puntual",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "manage.py",
            "check",
            "--deploy",
            "--settings=config.settings.production",
            "--fail-level",
            "WARNING",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_sample_production_environment_passes_the_deploy_checks() -> None:
    result = _check_deploy(_sample_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("DJANGO_SECRET_KEY", None, id="missing-secret-key"),
        pytest.param("DJANGO_SECRET_KEY", "too-short-to-be-a-secret", id="short-secret-key"),
        pytest.param("DATABASE_URL", "sqlite:///var/puntual.sqlite3", id="sqlite-database"),
        pytest.param("CELERY_BROKER_URL", "amqp//nope", id="malformed-broker-url"),
        pytest.param("DJANGO_ALLOWED_HOSTS", "", id="empty-allowed-hosts"),
        pytest.param("DJANGO_ALLOWED_HOSTS", " , ", id="allowed-hosts-without-a-host"),
    ],
)
def test_a_missing_or_malformed_variable_stops_the_start_and_names_it(
    variable: str, value: str | None
) -> None:
    env = _sample_production_env()
    if value is None:
        del env[variable]
    else:
        env[variable] = value

    result = _check_deploy(env)

    assert result.returncode != 0, result.stdout
    assert variable in result.stderr
