"""What Puntual told a client and what they answered, through the API: the client's messages
and replies, an appointment's replies, its link sent again, notes; and the waitlist offers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, AppointmentStatus, EventKind
from appointments.services import Actor, appointment_transition
from reminders.models import InboundMessage, MessageStatus, OutboundMessage
from tenants.models import ApiKeyRole
from tenants.services import api_key_create
from tests.test_tenant_isolation import NOW, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
    with scope(tenant=world.business):
        OutboundMessage.objects.filter(pk=world.outbound.pk).update(
            status=MessageStatus.DELIVERED, delivered_at=NOW + timedelta(minutes=1)
        )
    return world


def _auth(world: World, role: str = ApiKeyRole.RECEPTIONIST) -> dict[str, Any]:
    _key, raw = api_key_create(tenant=world.business, name=f"{role}", role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_client_messages_say_whether_each_arrived(client: DjangoClient, world: World) -> None:
    rows = client.get(f"/api/v1/clients/{world.client.pk}/messages/", **_auth(world)).json()
    delivered = next(row for row in rows["results"] if row["id"] == world.outbound.pk)
    assert delivered["status"] == "delivered" and delivered["delivered_at"]
    assert delivered["appointment"] == world.appointment.pk
    assert "body" not in delivered  # what was said is in the client's export, for admins


def test_a_client_replies_and_an_appointment_replies(client: DjangoClient, world: World) -> None:
    auth = _auth(world, ApiKeyRole.READ_ONLY)
    by_client = client.get(f"/api/v1/clients/{world.client.pk}/replies/", **auth).json()
    by_appointment = client.get(f"/api/v1/appointments/{world.appointment.pk}/replies/", **auth)
    assert [row["body"] for row in by_client["results"]] == ["OURS reply"]
    assert [row["id"] for row in by_appointment.json()] == [world.inbound.pk]


def test_a_note_goes_into_the_appointment_history(client: DjangoClient, world: World) -> None:
    response = client.post(
        f"/api/v1/appointments/{world.appointment.pk}/notes/",
        {"note": "  Prefers the window seat.\nAllergic to latex.  "},
        content_type="application/json",
        **_auth(world),
    )
    assert response.status_code == 201, response.content
    notes = [e for e in response.json()["events"] if e["kind"] == EventKind.NOTE]
    assert notes[-1]["reason"] == "Prefers the window seat.\nAllergic to latex."
    assert notes[-1]["actor_label"]


@pytest.mark.parametrize(
    "note", ["", "   ", "x" * 2001, "bell\x07", "esc\x1b[31m", "nul\x00", 42, None]
)
def test_a_bad_note_is_a_400_and_writes_nothing(
    client: DjangoClient, world: World, note: Any
) -> None:
    with scope(tenant=world.business):
        before = Appointment.objects.get(pk=world.appointment.pk).events.count()
    response = client.post(
        f"/api/v1/appointments/{world.appointment.pk}/notes/",
        {"note": note},
        content_type="application/json",
        **_auth(world),
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and "note" in response.json()["errors"]
    with scope(tenant=world.business):
        assert Appointment.objects.get(pk=world.appointment.pk).events.count() == before


def test_providers_and_read_only_keys_write_no_notes(client: DjangoClient, world: World) -> None:
    response = client.post(
        f"/api/v1/appointments/{world.appointment.pk}/notes/",
        {"note": "Hi"},
        content_type="application/json",
        **_auth(world, ApiKeyRole.READ_ONLY),
    )
    assert response.status_code == 403


def _resend(client: DjangoClient, world: World, **headers: Any) -> Any:
    return client.post(
        f"/api/v1/appointments/{world.appointment.pk}/resend-link/",
        content_type="application/json",
        **_auth(world),
        **headers,
    )


def _resends(world: World) -> int:
    with scope(tenant=world.business):
        return OutboundMessage.objects.filter(dedupe_key__startswith="resend:").count()


def test_the_link_is_sent_again_once_per_request(client: DjangoClient, world: World) -> None:
    first = _resend(client, world, HTTP_IDEMPOTENCY_KEY="resend-1")
    assert first.status_code == 201, first.content
    assert first.json()["kind"] == "booking_confirmation" and first.json()["status"] == "pending"
    retried = _resend(client, world, HTTP_IDEMPOTENCY_KEY="resend-1")
    assert retried.json() == first.json() and retried["Idempotent-Replayed"] == "true"
    assert _resends(world) == 1
    assert _resend(client, world).status_code == 201  # no key: each request is its own
    assert _resends(world) == 2


def test_no_link_for_a_cancelled_appointment(client: DjangoClient, world: World) -> None:
    with scope(tenant=world.business):
        appointment_transition(
            appointment=world.appointment,
            to_status=AppointmentStatus.CANCELLED,
            actor=Actor.system(),
        )
    response = _resend(client, world)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert _resends(world) == 0


def test_the_waitlist_offers_are_listed_without_their_links(
    client: DjangoClient, world: World
) -> None:
    auth = _auth(world, ApiKeyRole.READ_ONLY)
    rows = client.get("/api/v1/waitlist-offers/", **auth).json()["results"]
    assert [row["id"] for row in rows] == [world.offer.pk]
    assert rows[0]["client_name"] == "OURS client" and rows[0]["status"] == "pending"
    assert rows[0]["start"] and "token_hash" not in rows[0]
    assert (
        client.get("/api/v1/waitlist-offers/", {"status": "claimed"}, **auth).json()["results"]
        == []
    )
    bad = client.get("/api/v1/waitlist-offers/", {"status": "lost"}, **auth)
    assert bad.status_code == 400 and "status" in bad.json()["errors"]


def test_inbound_rows_are_not_touched_by_reading_them(client: DjangoClient, world: World) -> None:
    client.get(f"/api/v1/appointments/{world.appointment.pk}/replies/", **_auth(world))
    with scope(tenant=world.business):
        assert InboundMessage.objects.get(pk=world.inbound.pk).handled_at is None
