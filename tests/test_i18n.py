"""Spanish and English from day one: the catalogue is complete and the pages speak it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django.urls import reverse
from django_scopes import scope

from tenants.models import Business, Role
from tenants.services import api_key_create
from tests.conftest import login_member

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
SOURCE_DIRS = [
    "config",
    "tenants",
    "appointments",
    "clients",
    "reminders",
    "policies",
    "reports",
    "selfservice",
    "hooks",
    "templates",
]

TEMPLATE_STRING = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.+?)\1""")
BLOCK_STRING = re.compile(
    r"{%\s*blocktranslate(?: trimmed)?\s*%}(.+?){%\s*endblocktranslate\s*%}", re.S
)
PYTHON_STRING = re.compile(
    r"""\b(?:_|gettext|gettext_lazy|pgettext)\(\s*(["'])(.+?)(?<!\\)\1\s*[,)]"""
)


def _source_strings() -> set[str]:
    found: set[str] = set()
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*"):
            if path.suffix not in {".py", ".html", ".txt"} or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".py":
                found.update(m.group(2) for m in PYTHON_STRING.finditer(text))
            else:
                found.update(m.group(2) for m in TEMPLATE_STRING.finditer(text))
                for body in BLOCK_STRING.findall(text):
                    found.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", body))
    return found


def test_every_spanish_entry_is_translated_and_none_is_fuzzy() -> None:
    catalogue = polib.pofile(str(CATALOGUE))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []


def test_every_translatable_string_in_the_source_is_in_the_catalogue() -> None:
    catalogue = {entry.msgid for entry in polib.pofile(str(CATALOGUE))}
    missing = sorted(_source_strings() - catalogue)
    assert missing == [], "Run `make messages` and translate: " + "; ".join(missing)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "title"),
    [("en", "Log in"), ("es", "Iniciar sesión"), ("es-ES,es;q=0.9", "Iniciar sesión")],
)
def test_the_login_page_speaks_the_browsers_language(
    client: DjangoClient, accept_language: str, title: str
) -> None:
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=accept_language)
    assert f"<h1>{title}</h1>" in response.content.decode()
    assert response["Content-Language"] == accept_language[:2]


@pytest.mark.django_db
def test_the_business_language_is_the_default_for_its_members(client: DjangoClient) -> None:
    business = Business.objects.create(name="Clínica", slug="clinica", language="es")
    login_member(client, business, Role.RECEPTIONIST, language="")
    page = client.get(reverse("dashboard:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Hoy" in page


@pytest.mark.django_db
def test_a_language_chosen_with_the_switcher_wins_over_the_business_language(
    client: DjangoClient,
) -> None:
    business = Business.objects.create(name="Clínica", slug="clinica", language="es")
    login_member(client, business, Role.RECEPTIONIST, language="")
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("dashboard:home")}
    )
    assert response.status_code == 302
    assert "<h1>Today" in client.get(reverse("dashboard:home")).content.decode()


@pytest.mark.django_db
def test_a_users_own_language_wins_over_the_business_language(client: DjangoClient) -> None:
    business = Business.objects.create(name="Clinic", slug="clinic", language="es")
    login_member(client, business, Role.RECEPTIONIST, language="en")
    assert "<h1>Today" in client.get(reverse("dashboard:home")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("business_language", "accept_language", "expected"),
    [
        ("es", "en", "Some fields are not valid."),
        ("en", "es", "Algunos campos no son válidos."),
        ("es", None, "Algunos campos no son válidos."),
        ("en", None, "Some fields are not valid."),
    ],
)
def test_the_api_speaks_the_integrators_accept_language_else_the_business_language(
    client: DjangoClient, business_language: str, accept_language: str | None, expected: str
) -> None:
    business = Business.objects.create(name="B", slug="b", language=business_language)
    with scope(tenant=business):
        _, raw = api_key_create(tenant=business, name="k")
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    if accept_language:
        headers["HTTP_ACCEPT_LANGUAGE"] = accept_language
    response = client.get("/api/v1/availability/", **headers)  # no query: field errors
    assert response.status_code == 400
    assert response.json()["detail"] == expected
