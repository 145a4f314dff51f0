"""Production settings: a sample environment passes `check --deploy`; a bad one stops the start.

Each case runs manage.py in a fresh interpreter because the settings module is evaluated once
per process. `check` does not connect to the database, so no server has to be reachable.
"""

from __future__ import annotations

import json
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
        pytest.param(
            "PUNTUAL_RATE_LIMIT_REDIS_URL", "memcached://x", id="rate-limits-not-in-redis"
        ),
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


def _production_settings(env: dict[str, str]) -> dict[str, object]:
    """The production settings' security values, read by a fresh interpreter."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "names = ['SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT',"
        " 'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_SECURE',"
        " 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', 'SECURE_PROXY_SSL_HEADER',"
        " 'SESSION_COOKIE_AGE', 'PUNTUAL_SESSION_ABSOLUTE_TIMEOUT', 'PUNTUAL_RATE_LIMIT_REDIS_URL',"
        " 'PUNTUAL_CONTENT_SECURITY_POLICY', 'MIDDLEWARE', 'PUNTUAL_TRUSTED_PROXIES'];"
        " print(json.dumps({n: getattr(settings, n) for n in names}))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.production"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    values: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def test_production_sends_cookies_over_https_only_with_hsts() -> None:
    values = _production_settings(_sample_production_env())

    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SESSION_COOKIE_AGE"] == values["PUNTUAL_SESSION_ABSOLUTE_TIMEOUT"]
    policy = values["PUNTUAL_CONTENT_SECURITY_POLICY"]
    assert isinstance(policy, dict)
    assert policy["script-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    middleware = values["MIDDLEWARE"]
    assert isinstance(middleware, list)
    for name in (
        "tenants.security.SessionTimeoutMiddleware",
        "tenants.security.ApiRateLimitMiddleware",
        "tenants.security.SecurityHeadersMiddleware",
    ):
        assert name in middleware


def test_production_counts_rate_limits_in_the_brokers_redis_by_default() -> None:
    values = _production_settings(_sample_production_env())

    assert values["PUNTUAL_RATE_LIMIT_REDIS_URL"] == "redis://127.0.0.1:6379/0"
    # Behind the TLS proxy production assumes: clients are told apart by X-Forwarded-For.
    assert values["PUNTUAL_TRUSTED_PROXIES"] == 1
