"""PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST is off in production, and production will not start with it."""

from __future__ import annotations

import subprocess
import sys

from tests.config.test_production_settings import REPO_ROOT, _sample_production_env

PRINT_SETTING = (
    "import django; django.setup(); from django.conf import settings;"
    " print(repr(settings.PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST))"
)


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "-c", PRINT_SETTING],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.production", "PYTHONPATH": "."},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_never_allows_webhooks_to_localhost() -> None:
    result = _run(_sample_production_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_production_refuses_to_start_when_told_to_allow_localhost() -> None:
    result = _run({**_sample_production_env(), "PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST": "True"})

    assert result.returncode != 0
    assert "PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST is for development and tests only" in result.stderr
