"""A client's personal data: an admin exports it (JSON) and erases it (anonymised, the
appointments kept for statistics, future ones cancelled through the appointment service)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventKind,
    Source,
)
from appointments.services import Actor, appointment_book, appointment_mark_attended
from appointments.services.common import record_event
from clients.models import Client, ClientEvent
from clients.privacy import AlreadyErased, client_erase, client_export
from policies.models import LedgerEntry
from reminders.models import (
    InboundMessage,
    MessageKind,
    MessageStatus,
    OutboundMessage,
)
from tenants.models import ApiKeyRole, Business, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.factories import ClientFactory, LocationFactory, ServiceFactory, staff_offering

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
PAST = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # a Monday
FUTURE = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # a Monday


class Story:
    """A client with a past visit, a future booking, messages both ways and a payment."""

    def __init__(self, business: Business) -> None:
        self.business = business
        with scope(tenant=business), time_machine.travel(PAST - timedelta(days=2), tick=False):
            location = LocationFactory(tenant=business)
            service = ServiceFactory(tenant=business, name="Haircut")
            staff = staff_offering(tenant=business, location=location, services=[service])
            self.client = ClientFactory(
                tenant=business,
                name="Ana Privada",
                phone="+34611222333",
                email="ana@example.com",
                notes="allergic to latex",
            )
            book: dict[str, Any] = {
                "tenant": business,
                "location": location,
                "staff": staff,
                "service": service,
                "client": self.client,
                "source": Source.DASHBOARD,
                "actor": Actor.system(),
            }
            self.past = appointment_book(start=PAST, notes="prefers the window seat", **book)
            self.future = appointment_book(start=FUTURE, notes="bring the x-rays", **book)
        with scope(tenant=business), time_machine.travel(PAST + timedelta(hours=1), tick=False):
            appointment_mark_attended(appointment=self.past, actor=Actor.system())
            record_event(
                appointment=self.past,
                kind=EventKind.NOTE,
                actor=Actor.system(),
                at=PAST + timedelta(hours=1),
                reason="mentioned her pregnancy",
            )
            OutboundMessage.objects.filter(appointment=self.past).update(
                status=MessageStatus.SENT, body="Hola Ana Privada", to="+34611222333"
            )
            InboundMessage.objects.create(
                tenant=business,
                provider_id="SM-privacy",
                from_number="+34611222333",
                body="Gracias, soy Ana",
                client=self.client,
                appointment=self.past,
                outcome=InboundMessage.Outcome.NEEDS_HUMAN,
            )
            LedgerEntry.objects.create(
                tenant=business,
                client=self.client,
                appointment=self.past,
                kind="deposit_paid",
                amount=Decimal("10.00"),
                currency="EUR",
                actor_type="system",
                channel="system",
            )


@pytest.fixture
def story(business: Business) -> Story:
    return Story(business)


def test_the_export_holds_everything_about_the_client_and_is_recorded(story: Story) -> None:
    with scope(tenant=story.business), time_machine.travel(NOW, tick=False):
        data = client_export(client=story.client, actor=Actor.system())
        events = list(
            ClientEvent.objects.filter(client=story.client).values_list("kind", flat=True)
        )
    json.dumps(data)  # JSON-ready as it is
    assert data["client"]["name"] == "Ana Privada"
    assert data["client"]["notes"] == "allergic to latex"
    assert [a["id"] for a in data["appointments"]] == [story.past.pk, story.future.pk]
    assert data["appointments"][0]["status"] == "attended"
    assert data["appointments"][0]["notes"] == "prefers the window seat"
    assert "mentioned her pregnancy" in [e["reason"] for e in data["appointments"][0]["events"]]
    assert {e["to_status"] for e in data["appointments"][0]["events"]} >= {"attended"}
    assert any(m["body"] == "Hola Ana Privada" for m in data["messages"]["sent"])
    assert data["messages"]["received"][0]["body"] == "Gracias, soy Ana"
    assert data["ledger"][0]["amount"] == "10.00"
    assert events == ["exported"]


def test_the_export_holds_nothing_of_another_client(story: Story) -> None:
    with scope(tenant=story.business):
        other = ClientFactory(tenant=story.business, name="Someone Else")
        data = client_export(client=other, actor=Actor.system())
    assert data["appointments"] == [] and data["ledger"] == []
    assert "Ana" not in json.dumps(data)


def test_erasing_anonymises_the_client_and_keeps_the_statistics(story: Story) -> None:
    with scope(tenant=story.business), time_machine.travel(NOW, tick=False):
        client_erase(client=story.client, actor=Actor.system())
        client = Client.objects.get(pk=story.client.pk)
        past = Appointment.objects.get(pk=story.past.pk)
        future = Appointment.objects.get(pk=story.future.pk)
        dump = json.dumps(client_export(client=client, actor=Actor.system()))
        messages = list(OutboundMessage.objects.filter(appointment__client=client))
        cancel_events = AppointmentEvent.objects.filter(
            appointment=future, to_status=AppointmentStatus.CANCELLED
        )
        recorded = ClientEvent.objects.get(client=client, kind="erased")
        ledger = LedgerEntry.objects.get(client=client)
    assert client.name == f"Erased client #{client.pk}"
    assert (client.phone, client.email, client.notes) == ("", "", "")
    assert not client.sms_consent and not client.email_consent
    assert client.erased_at == NOW
    # The past visit stays for the statistics, as it was.
    assert past.status == AppointmentStatus.ATTENDED and past.notes == ""
    # The future one is cancelled like any cancellation: an event, the slot freed.
    assert future.status == AppointmentStatus.CANCELLED
    assert cancel_events.count() == 1
    assert recorded.data == {"cancelled_appointments": [story.future.pk]}
    assert ledger.amount == Decimal("10.00")
    # Nothing left that names or reaches her, and nothing more will be sent to her.
    for needle in ("Ana", "ana@example.com", "611222333", "latex", "x-rays", "window", "pregnancy"):
        assert needle not in dump, needle
    assert all(m.to == "" and m.body == "" for m in messages)
    assert not [m for m in messages if m.status in (MessageStatus.PENDING, MessageStatus.QUEUED)]
    assert any(m.kind == MessageKind.CANCELLATION_NOTICE for m in messages)


def test_erasing_twice_is_refused_and_changes_nothing(story: Story) -> None:
    with scope(tenant=story.business), time_machine.travel(NOW, tick=False):
        client_erase(client=story.client, actor=Actor.system())
        with pytest.raises(AlreadyErased):
            client_erase(client=story.client, actor=Actor.system())
        assert ClientEvent.objects.filter(kind="erased").count() == 1


# --- The API ----------------------------------------------------------------------------


def _key(business: Business, role: str) -> dict[str, Any]:
    _api_key, raw = api_key_create(tenant=business, name=role, role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_an_admin_key_exports_and_erases_through_the_api(
    client: DjangoClient, story: Story
) -> None:
    auth = _key(story.business, ApiKeyRole.ADMIN)
    url = f"/api/v1/clients/{story.client.pk}/"
    with time_machine.travel(NOW, tick=False):
        exported = client.get(url + "export/", **auth)
        erased = client.post(url + "erase/", **auth)
        again = client.post(url + "erase/", **auth)
    assert exported.status_code == 200
    assert exported["Cache-Control"] == "no-store"
    assert exported.json()["client"]["email"] == "ana@example.com"
    assert erased.status_code == 200
    assert erased.json()["email"] == "" and erased.json()["erased_at"] is not None
    assert again.status_code == 409
    assert again.json()["code"] == "already_erased"


@pytest.mark.parametrize("role", [ApiKeyRole.RECEPTIONIST, ApiKeyRole.READ_ONLY])
def test_lower_keys_can_neither_export_nor_erase(
    client: DjangoClient, story: Story, role: str
) -> None:
    auth = _key(story.business, role)
    url = f"/api/v1/clients/{story.client.pk}/"
    assert client.get(url + "export/", **auth).status_code == 403
    assert client.post(url + "erase/", **auth).status_code == 403
    with scope(tenant=story.business):
        assert Client.objects.get(pk=story.client.pk).erased_at is None
        assert not ClientEvent.objects.exists()


# --- The dashboard ------------------------------------------------------------------------


def test_an_admin_downloads_and_erases_from_the_client_page(
    client: DjangoClient, story: Story
) -> None:
    login_member(client, story.business, Role.ADMIN)
    page = client.get(f"/dashboard/clients/{story.client.pk}/")
    assert b"Download the client" in page.content and b"Erase the client" in page.content
    download = client.post(f"/dashboard/clients/{story.client.pk}/export/")
    assert download.status_code == 200
    assert (
        download["Content-Disposition"] == f'attachment; filename="client-{story.client.pk}.json"'
    )
    assert json.loads(download.content)["client"]["name"] == "Ana Privada"
    assert client.get(f"/dashboard/clients/{story.client.pk}/export/").status_code == 405

    confirm = client.get(f"/dashboard/clients/{story.client.pk}/erase/")
    assert confirm.status_code == 200
    unconfirmed = client.post(f"/dashboard/clients/{story.client.pk}/erase/")
    assert unconfirmed.status_code == 400
    assert b"Tick the box" in unconfirmed.content
    with scope(tenant=story.business):
        assert Client.objects.get(pk=story.client.pk).erased_at is None
    with time_machine.travel(NOW, tick=False):
        done = client.post(f"/dashboard/clients/{story.client.pk}/erase/", {"confirm": "yes"})
    assert done.status_code == 302
    assert done["Location"] == f"/dashboard/clients/{story.client.pk}/"
    page = client.get(done["Location"])
    assert b"Ana" not in page.content
    assert b"personal data was erased" in page.content
    again = client.post(f"/dashboard/clients/{story.client.pk}/erase/", {"confirm": "yes"})
    assert again.status_code == 409


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.PROVIDER])
def test_lower_roles_do_not_see_or_reach_the_personal_data_actions(
    client: DjangoClient, story: Story, role: str
) -> None:
    login_member(client, story.business, role)
    page = client.get(f"/dashboard/clients/{story.client.pk}/")
    assert b"Erase the client" not in page.content
    assert client.post(f"/dashboard/clients/{story.client.pk}/export/").status_code == 403
    response = client.post(f"/dashboard/clients/{story.client.pk}/erase/", {"confirm": "yes"})
    assert response.status_code == 403
    with scope(tenant=story.business):
        assert Client.objects.get(pk=story.client.pk).erased_at is None
