"""The API of what was sent about an appointment, and of the replies waiting for a person."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from reminders.models import Channel, InboundMessage, MessageStatus
from tenants.models import ApiKeyRole, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.reminders.webhook_helpers import NOW, Shop, make_shop, new_sid

pytestmark = pytest.mark.django_db

Outcome = InboundMessage.Outcome


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def key(shop: Shop, role: str = ApiKeyRole.RECEPTIONIST) -> dict[str, Any]:
    with scope(tenant=shop.business):
        _, raw = api_key_create(tenant=shop.business, name=f"k-{role}", role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def inbound(shop: Shop, body: str, outcome: str = Outcome.NEEDS_HUMAN, **kw: Any) -> InboundMessage:
    with scope(tenant=shop.business):
        values: dict[str, Any] = {
            "tenant": shop.business,
            "provider_id": new_sid(),
            "from_number": shop.client.phone,
            "body": body,
            "client": shop.client,
            "appointment": shop.appointment,
            "outcome": outcome,
        }
        return InboundMessage.objects.create(**{**values, **kw})


def test_it_lists_an_appointment_s_messages_in_sending_order(
    client: DjangoClient, shop: Shop
) -> None:
    later = shop.outbound(
        send_at=NOW + timedelta(days=2), status=MessageStatus.PENDING, provider_id="", sent_at=None
    )
    first = shop.outbound(
        channel=Channel.EMAIL,
        to=shop.client.email,
        status=MessageStatus.FAILED,
        status_reason="bounced",
        attempts=1,
    )
    response = client.get(f"/api/v1/appointments/{shop.appointment.pk}/messages/", **key(shop))
    assert response.status_code == 200
    rows = response.json()
    # (Booking planned messages of its own; these two are ours.)
    assert [r["send_at"] for r in rows] == sorted(r["send_at"] for r in rows)
    ours = [r for r in rows if r["id"] in {first.pk, later.pk}]
    assert [r["id"] for r in ours] == [first.pk, later.pk]
    assert ours[0] == {
        "id": first.pk,
        "kind": "booking_confirmation",
        "channel": "email",
        "to": shop.client.email,
        "status": "failed",
        "status_reason": "bounced",
        "send_at": "2026-05-28T08:00:00Z",
        "sent_at": "2026-05-28T08:00:00Z",
        "delivered_at": None,
        "attempts": 1,
    }


def test_the_inbox_shows_only_replies_waiting_for_a_person(
    client: DjangoClient, shop: Shop
) -> None:
    waiting = inbound(shop, "¿Puedo ir a las 5?")
    inbound(shop, "1", Outcome.CONFIRMED)
    inbound(shop, "¿Y mañana?", handled_at=NOW)
    response = client.get("/api/v1/inbox/", **key(shop))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [waiting.pk]
    assert results[0] == {
        "id": waiting.pk,
        "from": shop.client.phone,
        "body": "¿Puedo ir a las 5?",
        "received_at": "2026-05-28T08:00:00Z",
        "outcome": "needs_human",
        "client": {"id": shop.client.pk, "name": shop.client.name},
        "appointment": shop.appointment.pk,
        "handled_at": None,
    }


def test_the_inbox_shows_everything_on_request(client: DjangoClient, shop: Shop) -> None:
    for body in ("a", "b"):
        inbound(shop, body, Outcome.CONFIRMED)
    inbound(shop, "c", client=None, appointment=None)
    response = client.get("/api/v1/inbox/", {"all": "1"}, **key(shop))
    assert len(response.json()["results"]) == 3
    assert {r["client"] is None for r in response.json()["results"]} == {True, False}


def test_a_receptionist_marks_a_reply_handled_once(client: DjangoClient, shop: Shop) -> None:
    waiting = inbound(shop, "¿Puedo ir a las 5?")
    login_member(client, shop.business, Role.RECEPTIONIST)
    response = client.post(f"/api/v1/inbox/{waiting.pk}/handled/")
    assert response.status_code == 200
    assert response.json()["handled_at"] == "2026-05-28T08:00:00Z"
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        again = client.post(f"/api/v1/inbox/{waiting.pk}/handled/")
    assert again.json()["handled_at"] == "2026-05-28T08:00:00Z"
    assert client.get("/api/v1/inbox/").json()["results"] == []


@pytest.mark.parametrize("who", ["provider", "read_only_key"])
def test_only_the_front_desk_marks_replies_handled(
    client: DjangoClient, shop: Shop, who: str
) -> None:
    waiting = inbound(shop, "?")
    headers: dict[str, Any] = {}
    if who == "provider":
        login_member(client, shop.business, Role.PROVIDER)
    else:
        headers = key(shop, ApiKeyRole.READ_ONLY)
    response = client.post(f"/api/v1/inbox/{waiting.pk}/handled/", **headers)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    with scope(tenant=shop.business):
        waiting.refresh_from_db()
    assert waiting.handled_at is None


def test_an_unknown_reply_is_a_404_in_the_api_s_error_shape(
    client: DjangoClient, shop: Shop
) -> None:
    response = client.post("/api/v1/inbox/999999/handled/", **key(shop))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client.post("/api/v1/inbox/abc/handled/", **key(shop)).status_code == 404
