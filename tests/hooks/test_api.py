"""/api/v1/webhook-endpoints/: admin keys only; the secret only in the creating answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from django_scopes import scopes_disabled

from hooks.models import WebhookDelivery, WebhookEndpoint
from tenants.models import ApiKeyRole, Business
from tenants.services import api_key_create

pytestmark = pytest.mark.django_db

BODY = {"url": "http://127.0.0.1:8999/in", "events": ["appointment.created"]}


def auth(business: Business, role: str = ApiKeyRole.ADMIN) -> dict[str, Any]:
    _key, raw = api_key_create(tenant=business, name=f"{role} key", role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_an_admin_key_creates_lists_changes_tests_and_deletes_endpoints(
    client: DjangoClient, business: Business
) -> None:
    headers = auth(business)

    created = client.post(
        "/api/v1/webhook-endpoints/", BODY, content_type="application/json", **headers
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["appointment.created"] and body["is_active"] is True
    url = f"/api/v1/webhook-endpoints/{endpoint.pk}/"

    listed = client.get("/api/v1/webhook-endpoints/", **headers).json()
    assert [e["id"] for e in listed["results"]] == [endpoint.pk]
    assert "secret" not in listed["results"][0]
    assert "secret" not in client.get(url, **headers).json()

    patched = client.patch(
        url, {"is_active": False}, content_type="application/json", **headers
    ).json()
    assert patched["is_active"] is False and patched["url"] == BODY["url"]

    rotated = client.post(f"{url}rotate-secret/", **headers).json()
    endpoint.refresh_from_db()
    assert rotated["secret"] == endpoint.secret != body["secret"]

    tested = client.post(f"{url}test/", **headers)
    assert tested.status_code == 202
    assert tested.json()["event_type"] == "ping"
    log = client.get(f"{url}deliveries/", **headers).json()
    assert [(d["event_type"], d["status"]) for d in log["results"]] == [("ping", "pending")]

    assert client.delete(url, **headers).status_code == 204
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists()
        assert not WebhookDelivery.objects.exists()


@override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "url": "https://10.0.0.1/"}, "url"),
        ({**BODY, "url": "https://[::1]/"}, "url"),
        ({**BODY, "url": "http://127.0.0.1:8999/in"}, "url"),
        ({**BODY, "events": []}, "events"),
        ({**BODY, "events": ["nope"]}, "events"),
        ({"events": ["appointment.created"]}, "url"),
    ],
)
def test_bad_endpoints_are_400_and_nothing_is_saved(
    client: DjangoClient, business: Business, body: dict[str, Any], field: str
) -> None:
    response = client.post(
        "/api/v1/webhook-endpoints/", body, content_type="application/json", **auth(business)
    )

    assert response.status_code == 400
    assert field in str(response.json())
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("role", [ApiKeyRole.RECEPTIONIST, ApiKeyRole.READ_ONLY])
def test_other_keys_are_refused_even_for_reading(
    client: DjangoClient, business: Business, role: str
) -> None:
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.create(
            tenant=business, url="https://hooks.example/", events=["ping"], secret="whsec_x"
        )
    headers = auth(business, role)

    for method, url in [
        ("get", "/api/v1/webhook-endpoints/"),
        ("post", "/api/v1/webhook-endpoints/"),
        ("get", f"/api/v1/webhook-endpoints/{endpoint.pk}/"),
        ("get", f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/"),
        ("post", f"/api/v1/webhook-endpoints/{endpoint.pk}/rotate-secret/"),
    ]:
        response = getattr(client, method)(url, BODY, content_type="application/json", **headers)
        assert response.status_code == 403, url


def test_the_schema_describes_the_webhook_routes(client: DjangoClient) -> None:
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    paths = schema["paths"]
    assert "/api/v1/webhook-endpoints/" in paths
    assert "/api/v1/webhook-endpoints/{id}/rotate-secret/" in paths
    assert "/api/v1/webhook-endpoints/{id}/deliveries/" in paths
    created = paths["/api/v1/webhook-endpoints/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith(
        "WebhookEndpointWithSecret"
    )
