"""Booking online where the business approves new clients: a new client's booking is a
request, told so in plain words; returning clients book straight away; the client is told
when it is received, accepted or declined."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, AppointmentStatus, CancelledBy, Source
from appointments.services import (
    Actor,
    appointment_accept,
    appointment_book,
    appointment_decline,
)
from reminders.channels.sms import LocmemSMSBackend
from reminders.models import MessageKind, OutboundMessage
from reminders.services.dispatch import message_send, messages_claim_due
from tests.factories import ClientFactory
from tests.selfservice.conftest import NOW, Shop
from tests.selfservice.test_booking_page import FRIDAY_10, _appointments, _form

pytestmark = pytest.mark.usefixtures("frozen")

S = AppointmentStatus
DESK = Actor.api_key("front desk")
REQUESTED_WORDS = "Requested — the business will confirm it; we'll let you know."
REQUESTED_ESCAPED = REQUESTED_WORDS.replace("'", "&#x27;")


@pytest.fixture
def approving(shop: Shop) -> Shop:
    shop.business.approve_new_clients = True
    shop.business.save()
    return shop


def _book(client: DjangoClient, shop: Shop, **overrides: Any) -> tuple[Appointment, str]:
    response = client.post("/sonrisa/book/", _form(shop, **overrides))
    assert response.status_code == 303, response.content
    token = response["Location"].rstrip("/").rsplit("/", 1)[1]
    return _appointments(shop)[-1], token


def _send_due(now: datetime = NOW) -> list[str]:
    return [message_send(message_id=i, now=now) for i in messages_claim_due(now=now)]


def test_a_new_client_books_a_request_and_is_told_so_in_plain_words(
    client: DjangoClient, approving: Shop
) -> None:
    details = client.get(
        "/sonrisa/book/",
        {k: v for k, v in _form(approving).items() if k in ("service", "staff", "start")},
    )
    assert b"If this is your first booking with us, it is a request" in details.content
    appointment, token = _book(client, approving)
    assert appointment.status == S.REQUESTED
    page = client.get(f"/sonrisa/book/done/{token}/").content.decode()
    assert "Request sent" in page and REQUESTED_WORDS in page
    assert "Add to calendar" not in page and "once it is confirmed" in page
    assert client.get(f"/sonrisa/book/calendar/{token}/").status_code == 404
    status = client.get(f"/sonrisa/a/{token}/").content.decode()
    assert REQUESTED_ESCAPED in status
    assert "Withdraw my request" in status and "Confirm I'm coming" not in status
    assert "Change the time" not in status


def test_the_client_is_told_the_request_was_received(client: DjangoClient, approving: Shop) -> None:
    _book(client, approving, email_consent="on")
    assert _send_due() == ["sent"]
    [email] = mail.outbox
    assert "We received your request at Clínica Sonrisa" in email.subject
    assert "will confirm it" in email.body and "/sonrisa/a/" in email.body
    assert not email.attachments  # no calendar entry for a request


def test_accepted_the_client_gets_the_booking_confirmation_and_the_page_shows_it_booked(
    client: DjangoClient, approving: Shop
) -> None:
    appointment, token = _book(client, approving)  # SMS consent only: by SMS
    _send_due()
    with scope(tenant=approving.business):
        appointment_accept(appointment=appointment, actor=DESK, now=NOW + timedelta(minutes=5))
    assert _send_due(NOW + timedelta(minutes=5)) == ["sent"]
    received, booked = (sms.body for sms in LocmemSMSBackend.outbox)
    assert "we received your request" in received
    assert "booked Cleaning" in booked and "/sonrisa/a/" in booked
    status = client.get(f"/sonrisa/a/{token}/").content.decode()  # the same link still works
    assert "Not confirmed yet" in status and "Confirm I'm coming" in status
    assert client.get(f"/sonrisa/book/calendar/{token}/").status_code == 200


def test_declined_the_client_is_told_and_the_page_offers_another_time(
    client: DjangoClient, approving: Shop
) -> None:
    appointment, token = _book(client, approving)
    with scope(tenant=approving.business):
        appointment_decline(appointment=appointment, actor=DESK, now=NOW)
    # The "received" notice, answered before it went out, is skipped; the decline is sent.
    assert sorted(_send_due()) == ["sent", "skipped"]
    [sms] = LocmemSMSBackend.outbox
    assert "could not be accepted" in sms.body
    with scope(tenant=approving.business):
        assert set(
            OutboundMessage.objects.filter(appointment=appointment).values_list("kind", "status")
        ) == {
            (MessageKind.REQUEST_RECEIVED, "skipped"),
            (MessageKind.REQUEST_DECLINED, "sent"),
        }
    status = client.get(f"/sonrisa/a/{token}/").content.decode()
    assert "Not accepted" in status and "Book another time" in status


def test_the_client_withdraws_the_request_with_a_post_only(
    client: DjangoClient, approving: Shop
) -> None:
    appointment, token = _book(client, approving)
    client.get(f"/sonrisa/a/{token}/")
    client.head(f"/sonrisa/a/{token}/")
    appointment.refresh_from_db()
    assert appointment.status == S.REQUESTED
    page = client.post(f"/sonrisa/a/{token}/", {"action": "cancel"}, follow=True)
    assert "Your request is withdrawn." in page.content.decode()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_by) == (S.CANCELLED, CancelledBy.CLIENT)


def test_a_client_confirming_a_request_changes_nothing(
    client: DjangoClient, approving: Shop
) -> None:
    appointment, token = _book(client, approving)
    client.post(f"/sonrisa/a/{token}/", {"action": "confirm"})
    appointment.refresh_from_db()
    assert appointment.status == S.REQUESTED


def test_a_returning_client_books_straight_away(client: DjangoClient, approving: Shop) -> None:
    with scope(tenant=approving.business):
        known = ClientFactory(tenant=approving.business, phone="+34612345678", email="")
        appointment_book(
            tenant=approving.business,
            location=approving.location,
            staff=approving.ana,
            service=approving.service,
            client=known,
            start=FRIDAY_10 + timedelta(hours=3),
            source=Source.DASHBOARD,
            actor=Actor.system(),
        )
    appointment, token = _book(client, approving)
    assert appointment.client_id == known.pk and appointment.status == S.SCHEDULED
    assert "You are booked" in client.get(f"/sonrisa/book/done/{token}/").content.decode()


def test_without_the_setting_a_new_client_books_straight_away(
    client: DjangoClient, shop: Shop
) -> None:
    appointment, _token = _book(client, shop)
    assert appointment.status == S.SCHEDULED


def test_a_request_hides_its_time_from_the_next_client(
    client: DjangoClient, approving: Shop
) -> None:
    _book(client, approving, staff=str(approving.ana.pk))
    with time_machine.travel(NOW, tick=False):
        page = client.get(
            "/sonrisa/book/",
            {
                "service": str(approving.service.pk),
                "staff": str(approving.ana.pk),
                "day": "2026-05-29",
            },
        ).content.decode()
    assert ">10:00 AM<" not in page and ">10:30 AM<" in page
