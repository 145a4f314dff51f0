from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as DjangoClient
from django_scopes import scope, scopes_disabled

from tenants.models import ApiKey, Business, Location, Membership, Role, User
from tests.factories import BusinessFactory

pytestmark = pytest.mark.django_db


def _create(*args: str) -> str:
    out = StringIO()
    call_command("create_business", *args, stdout=out)
    return out.getvalue()


def test_create_business_creates_the_business_its_location_and_owner() -> None:
    output = _create(
        "--name",
        "Peluquería Ana",
        "--slug",
        "pelu-ana",
        "--timezone",
        "America/Mexico_City",
        "--language",
        "es",
        "--currency",
        "mxn",
        "--country",
        "mx",
        "--owner-email",
        "Ana@Example.com",
    )
    business = Business.objects.get(slug="pelu-ana")
    assert (business.timezone, business.language, business.currency, business.country) == (
        "America/Mexico_City",
        "es",
        "MXN",
        "MX",
    )
    owner = User.objects.get(email="ana@example.com")
    assert not owner.has_usable_password()
    with scope(tenant=business):
        assert Membership.objects.get(user=owner).role == Role.OWNER
        assert Location.objects.get().timezone == "America/Mexico_City"
    assert "/accounts/reset/" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "timezone"),
        (["--timezone", "Europe/Madrid", "--currency", "XXQ"], "currency"),
        (["--timezone", "Europe/Madrid", "--slug", "not a slug"], "slug"),
    ],
)
def test_create_business_refuses_bad_values_and_creates_nothing(
    args: list[str], message: str
) -> None:
    base = {"--name": "X", "--slug": "x", "--owner-email": "x@example.com"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError, match=message):
        _create(*flat)
    assert not Business.objects.exists()
    assert not User.objects.exists()


def test_create_business_refuses_a_slug_that_is_taken() -> None:
    BusinessFactory(slug="taken")
    with pytest.raises(CommandError, match=r"(?i)slug.*already exists"):
        _create(
            "--name",
            "Y",
            "--slug",
            "taken",
            "--timezone",
            "Europe/Madrid",
            "--owner-email",
            "y@example.com",
        )
    assert not User.objects.filter(email="y@example.com").exists()


def test_create_api_key_prints_a_key_that_works_once_shown(client: DjangoClient) -> None:
    business = BusinessFactory(slug="acme")
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_key", "--business", "acme", "--role", "receptionist", stdout=out, stderr=err
    )
    raw = out.getvalue().strip()
    assert raw.startswith("pnt_")
    with scopes_disabled():
        key = ApiKey.objects.get()
    assert key.role == "receptionist" and key.tenant == business
    assert raw not in key.key_hash
    response = client.get("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.json()["slug"] == "acme"


def test_create_api_key_for_an_unknown_business_fails_clearly() -> None:
    with pytest.raises(CommandError, match="No business with slug"):
        call_command("create_api_key", "--business", "nope", stdout=StringIO(), stderr=StringIO())
