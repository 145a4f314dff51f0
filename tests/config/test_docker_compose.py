"""docker-compose.yml, checked without a Docker engine: it parses and its wiring is consistent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat", "migrate")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ... as Compose interpolates them.
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?P<modifier>:?[-?+])?")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # safe_load resolves YAML anchors and `<<` merge keys the way Compose does.
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, str]]:
    depends_on = service.get("depends_on", {})
    # The short syntax is a plain list of names.
    return {name: {} for name in depends_on} if isinstance(depends_on, list) else depends_on


def test_it_uses_the_compose_specification_without_the_obsolete_version_key(
    compose: dict[str, Any],
) -> None:
    assert "version" not in compose


def test_it_defines_every_service_of_the_stack(services: dict[str, Any]) -> None:
    assert set(services) >= {*APP_SERVICES, "postgres", "redis", "mailpit"}


def test_the_application_services_share_one_image_and_environment(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    shared = compose["x-app"]
    for name in APP_SERVICES:
        for key in ("build", "image", "env_file", "environment"):
            assert services[name][key] == shared[key], f"{name}.{key} differs from x-app"


def test_the_application_services_point_at_the_compose_database_broker_and_mail_catcher(
    compose: dict[str, Any],
) -> None:
    environment = compose["x-app"]["environment"]

    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert environment["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert environment["EMAIL_HOST"] == "mailpit"
    assert environment["EMAIL_PORT"] == "1025"


def test_a_missing_dot_env_file_does_not_stop_the_stack(compose: dict[str, Any]) -> None:
    assert compose["x-app"]["env_file"] == [{"path": ".env", "required": False}]


def test_every_dependency_names_an_existing_service(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for target in _depends_on(service):
            assert target in services, f"{name} depends on unknown service {target!r}"
            assert target != name, f"{name} depends on itself"


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_the_long_running_processes_start_only_after_migrations_succeeded(
    services: dict[str, Any], name: str
) -> None:
    condition = _depends_on(services[name])["migrate"]["condition"]

    assert condition == "service_completed_successfully"


def test_migrations_wait_for_a_healthy_database_and_run_once(services: dict[str, Any]) -> None:
    migrate = services["migrate"]

    assert _depends_on(migrate)["postgres"]["condition"] == "service_healthy"
    assert migrate["command"][:3] == ["python", "manage.py", "migrate"]
    assert migrate["restart"] == "no"


def test_every_service_waited_on_as_healthy_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for target, options in _depends_on(service).items():
            if options.get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}"


def test_the_web_healthcheck_probes_healthz_without_curl(services: dict[str, Any]) -> None:
    test = services["web"]["healthcheck"]["test"]

    assert test[:3] == ["CMD", "python", "-c"]
    assert "/healthz" in test[3]
    compile(test[3], "<web healthcheck>", "exec")  # the probe is valid Python


def test_the_commands_are_the_documented_ones(services: dict[str, Any]) -> None:
    assert services["worker"]["command"] == ["celery", "-A", "config", "worker", "-l", "info"]
    assert services["beat"]["command"][:6] == ["celery", "-A", "config", "beat", "-l", "info"]
    # A path inside the container, where /tmp is the unprivileged user's only writable place.
    beat_schedule = "/tmp/celerybeat-schedule"  # noqa: S108
    assert services["beat"]["command"][6:] == ["--schedule", beat_schedule]
    # web runs the image's default command: gunicorn on port 8000.
    assert "command" not in services["web"]
    assert "8000:8000" in services["web"]["ports"]


def test_postgres_keeps_its_data_in_a_declared_volume(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    volume = services["postgres"]["volumes"][0].split(":")[0]

    assert volume in compose["volumes"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_every_interpolated_variable_has_a_default_so_no_dot_env_is_needed_to_parse() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    # `$$` is Compose's escape for a literal dollar; it is not an interpolation.
    text = text.replace("$$", "")

    for match in INTERPOLATION.finditer(text):
        assert match["modifier"] in {":-", "-"}, f"${{{match['name']}}} has no default"
