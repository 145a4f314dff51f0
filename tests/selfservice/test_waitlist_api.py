"""`/api/v1/waitlist/`: staff list, add and remove waiting clients with their keys."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from selfservice.models import WaitlistEntry, WaitlistStatus
from tenants.models import ApiKeyRole
from tenants.services import api_key_create
from tests.factories import BusinessFactory, ClientFactory, ServiceFactory
from tests.selfservice.conftest import Shop

pytestmark = pytest.mark.usefixtures("frozen")


def _key(shop: Shop, role: str = ApiKeyRole.RECEPTIONIST) -> dict[str, Any]:
    with scope(tenant=shop.business):
        _key_row, raw = api_key_create(tenant=shop.business, name=f"desk {role}", role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(client: DjangoClient, body: dict[str, Any], auth: dict[str, Any]) -> Any:
    return client.post("/api/v1/waitlist/", body, content_type="application/json", **auth)


def test_staff_add_list_and_remove_a_waiting_client(client: DjangoClient, shop: Shop) -> None:
    auth = _key(shop)
    with scope(tenant=shop.business):
        waiting = ClientFactory(tenant=shop.business, name="Inés")
    response = _post(
        client,
        {
            "client": waiting.pk,
            "service": shop.service.pk,
            "staff": shop.bea.pk,
            "weekdays": [1, 3],
            "parts_of_day": ["afternoon"],
        },
        auth,
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["client_name"] == "Inés" and created["weekdays"] == [1, 3]
    assert created["source"] == "staff" and created["status"] == "waiting"
    listed = client.get("/api/v1/waitlist/", **auth).json()
    assert [row["id"] for row in listed["results"]] == [created["id"]]
    assert client.delete(f"/api/v1/waitlist/{created['id']}/", **auth).status_code == 204
    with scope(tenant=shop.business):
        assert WaitlistEntry.objects.get().status == WaitlistStatus.REMOVED
    assert client.get("/api/v1/waitlist/", **auth).json()["results"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"service": "x"},
        {"weekdays": [7]},
        {"parts_of_day": ["night"]},
        {"client": None},
    ],
)
def test_bad_input_is_a_clear_400_and_adds_nothing(
    client: DjangoClient, shop: Shop, body: dict[str, Any]
) -> None:
    with scope(tenant=shop.business):
        waiting = ClientFactory(tenant=shop.business)
    response = _post(client, {"client": waiting.pk, "service": shop.service.pk, **body}, _key(shop))
    assert response.status_code == 400
    with scope(tenant=shop.business):
        assert WaitlistEntry.objects.count() == 0


def test_a_staff_member_who_does_not_perform_the_service_is_refused(
    client: DjangoClient, shop: Shop
) -> None:
    with scope(tenant=shop.business):
        waiting = ClientFactory(tenant=shop.business)
        other_service = ServiceFactory(tenant=shop.business)
    response = _post(
        client,
        {"client": waiting.pk, "service": other_service.pk, "staff": shop.ana.pk},
        _key(shop),
    )
    assert response.status_code == 400
    assert "does not perform" in response.content.decode()


def test_another_business_client_is_unknown(client: DjangoClient, shop: Shop) -> None:
    other = BusinessFactory()
    with scope(tenant=other):
        foreign = ClientFactory(tenant=other)
    response = _post(client, {"client": foreign.pk, "service": shop.service.pk}, _key(shop))
    assert response.status_code == 400
    with scope(tenant=shop.business):
        assert WaitlistEntry.objects.count() == 0


def test_read_only_keys_read_but_do_not_write(client: DjangoClient, shop: Shop) -> None:
    auth = _key(shop, ApiKeyRole.READ_ONLY)
    with scope(tenant=shop.business):
        waiting = ClientFactory(tenant=shop.business)
    assert client.get("/api/v1/waitlist/", **auth).status_code == 200
    assert (
        _post(client, {"client": waiting.pk, "service": shop.service.pk}, auth).status_code == 403
    )


def test_anonymous_visitors_get_nothing(client: DjangoClient, shop: Shop) -> None:
    assert client.get("/api/v1/waitlist/").status_code in (401, 403)


def test_the_schema_documents_the_waitlist(client: DjangoClient, db: None) -> None:
    schema = client.get("/api/v1/schema/").content.decode()
    assert "/api/v1/waitlist/" in schema and "WaitlistInput" in schema
