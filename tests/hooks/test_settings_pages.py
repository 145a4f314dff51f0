"""Settings > Webhooks: owners and admins manage endpoints; the secret is shown once; a test
event goes into the log; lower roles are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from django_scopes import scopes_disabled

from hooks.models import WebhookDelivery, WebhookEndpoint
from tenants.models import Business, Role
from tests.conftest import login_member

pytestmark = pytest.mark.django_db

VALID = {
    "url": "http://127.0.0.1:8999/hooks",
    "description": "CRM",
    "events": ["appointment.created", "appointment.cancelled"],
    "is_active": "on",
}


def secret_in(html: str) -> str:
    match = re.search(r'id="new-secret"[^>]*value="(whsec_[^"]+)"', html)
    return match.group(1) if match else ""


def the_endpoint() -> WebhookEndpoint:
    with scopes_disabled():
        return WebhookEndpoint.objects.get()


def test_an_admin_adds_an_endpoint_and_sees_its_secret_only_once(
    client: DjangoClient, business: Business
) -> None:
    login_member(client, business, Role.ADMIN)

    response = client.post("/settings/webhooks/new/", VALID)

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    endpoint = the_endpoint()
    assert secret_in(response.content.decode()) == endpoint.secret
    assert endpoint.events == ["appointment.created", "appointment.cancelled"]
    assert (endpoint.url, endpoint.description, endpoint.is_active) == (
        VALID["url"],
        "CRM",
        True,
    )
    for page in ("/settings/webhooks/", f"/settings/webhooks/{endpoint.pk}/"):
        shown = client.get(page)
        assert shown.status_code == 200
        assert endpoint.secret.encode() not in shown.content
    assert endpoint.url.encode() in client.get("/settings/webhooks/").content


@override_settings(PUNTUAL_WEBHOOKS_ALLOW_LOCALHOST=False)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**VALID, "url": "https://169.254.169.254/"}, "private, local or reserved"),
        ({**VALID, "url": "https://2130706433/"}, "private, local or reserved"),
        ({**VALID, "url": "http://hooks.example/"}, "must start with https://"),
        ({**VALID, "events": []}, "Choose at least one event."),
        ({**VALID, "events": ["appointment.exploded"]}, "not one of the available choices"),
    ],
)
def test_a_bad_endpoint_is_a_400_with_the_reason_and_nothing_saved(
    client: DjangoClient, business: Business, data: dict[str, Any], message: str
) -> None:
    login_member(client, business, Role.OWNER)

    response = client.post("/settings/webhooks/new/", data)

    assert response.status_code == 400
    assert message in response.content.decode().replace("&quot;", '"')
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists()


def test_editing_rotating_testing_and_deleting(client: DjangoClient, business: Business) -> None:
    login_member(client, business, Role.OWNER)
    client.post("/settings/webhooks/new/", VALID)
    endpoint = the_endpoint()
    page = f"/settings/webhooks/{endpoint.pk}/"

    saved = client.post(page, {**VALID, "events": ["message.failed"], "description": "Ops"})
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.description, endpoint.is_active) == (
        ["message.failed"],
        "Ops",
        True,
    )

    old = endpoint.secret
    rotated = client.post(f"{page}rotate-secret/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert secret_in(rotated.content.decode()) == endpoint.secret

    tested = client.post(f"{page}test/", HTTP_HX_REQUEST="true")
    assert tested.status_code == 200
    html = tested.content.decode()
    assert 'id="delivery-log"' in html and "ping" in html
    assert 'hx-trigger="every 2s"' in html  # follows the delivery until it is attempted
    with scopes_disabled():
        assert WebhookDelivery.objects.get().event_type == "ping"
    assert "ping" in client.get(f"{page}deliveries/").content.decode()

    deleted = client.post(f"{page}delete/")
    assert deleted.status_code == 302
    with scopes_disabled():
        assert not WebhookEndpoint.objects.exists()
        assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.PROVIDER])
def test_receptionists_and_providers_are_refused(
    client: DjangoClient, business: Business, role: str
) -> None:
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.create(
            tenant=business, url="https://hooks.example/", events=["ping"], secret="whsec_x"
        )
    login_member(client, business, role)

    for method, url in [
        ("get", "/settings/webhooks/"),
        ("post", "/settings/webhooks/new/"),
        ("get", f"/settings/webhooks/{endpoint.pk}/"),
        ("post", f"/settings/webhooks/{endpoint.pk}/test/"),
        ("post", f"/settings/webhooks/{endpoint.pk}/rotate-secret/"),
        ("post", f"/settings/webhooks/{endpoint.pk}/delete/"),
    ]:
        response = getattr(client, method)(url, VALID)
        assert response.status_code == 403, url
        assert b"whsec_x" not in response.content
    with scopes_disabled():
        assert WebhookEndpoint.objects.get().secret == "whsec_x"
        assert not WebhookDelivery.objects.exists()
