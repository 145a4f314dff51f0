"""API keys in the settings: the raw key is shown once, stored hashed, and revoked at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from tenants.models import ApiKey, Business, Role
from tests.conftest import login_member

pytestmark = pytest.mark.django_db


def test_a_new_key_is_shown_once_works_and_stops_working_when_revoked(
    client: DjangoClient, business: Business
) -> None:
    login_member(client, business, Role.ADMIN)
    response = client.post("/settings/api-keys/new/", {"name": "Web", "role": "read_only"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    match = re.search(r'value="(pnt_[^"]+)"', response.content.decode())
    assert match is not None
    raw_key = match.group(1)
    with scope(tenant=business):
        key = ApiKey.objects.get(name="Web")
    assert key.key_hash == ApiKey.hash_key(raw_key) and raw_key not in key.key_hash
    # Never again: not on the list page.
    assert raw_key not in client.get("/settings/api-keys/").content.decode()
    api = DjangoClient()
    assert api.get("/api/v1/services/", HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code == 200

    assert client.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 302
    assert api.get("/api/v1/services/", HTTP_AUTHORIZATION=f"Bearer {raw_key}").status_code == 401
    assert "Revoked on" in client.get("/settings/api-keys/").content.decode()


@pytest.mark.parametrize("data", [{"name": "", "role": "admin"}, {"name": "x", "role": "root"}, {}])
def test_a_bad_key_request_is_a_field_error_and_creates_nothing(
    client: DjangoClient, business: Business, data: dict[str, str]
) -> None:
    login_member(client, business, Role.OWNER)
    response = client.post("/settings/api-keys/new/", data)
    assert response.status_code == 400
    assert response.context["form"].errors
    with scope(tenant=business):
        assert not ApiKey.objects.exists()


def test_receptionists_cannot_see_or_create_keys(client: DjangoClient, business: Business) -> None:
    login_member(client, business, Role.RECEPTIONIST)
    assert client.get("/settings/api-keys/").status_code == 403
    assert client.post("/settings/api-keys/new/", {"name": "x", "role": "admin"}).status_code == 403
    with scope(tenant=business):
        assert not ApiKey.objects.exists()
