"""What clients are told of their terms: on their page before they act and after, in the SMS
answer to a cancelling reply, in the booking confirmation and the cancellation notice. The
same engine and services decide for every channel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, AppointmentStatus, Source
from appointments.services import Actor, appointment_book, appointment_cancel
from policies.choices import Action, DepositStatus, PaymentMethod
from policies.models import AppointmentTerms, PolicyDecision
from policies.services import deposit_mark_paid
from reminders.links import link_issue
from reminders.models import AccessAction, MessageKind, OutboundMessage
from reminders.services.dispatch import message_send, messages_claim_due
from tests.factories import PolicyFactory
from tests.fakes import ScriptedEmailBackend, ScriptedSMSBackend
from tests.reminders.conftest import BOOKED_AT, Clinic
from tests.reminders.test_client_links import NOW, START, Booked, book, post
from tests.reminders.webhook_helpers import TWILIO_TOKEN, make_shop, new_sid, post_twilio

pytestmark = pytest.mark.django_db

D = Decimal
KEEP_AS_CREDIT: dict[str, Any] = {
    "deposit_kind": "fixed",
    "deposit_amount": D("20.00"),
    "cancellation_window_hours": 48,
    "late_cancellation_consequence": "keep_deposit",
    "credit_days": 3,
}


def booked_under(**policy: Any) -> Booked:
    """`book()` of the client-link tests, with a policy in force when the client books."""
    booked = book()
    with scope(tenant=booked.business):
        PolicyFactory(tenant=booked.business, **policy)
        first = booked.appointment
        appointment_cancel(appointment=first, actor=Actor.api_key("setup"), now=NOW)
        appointment = appointment_book(
            tenant=booked.business,
            location=first.location,
            staff=first.staff,
            service=first.service,
            client=first.client,
            start=START,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
    return Booked(business=booked.business, appointment=appointment)


def pay_deposit(booked: Booked) -> None:
    with scope(tenant=booked.business):
        deposit_mark_paid(
            appointment=booked.appointment,
            actor=Actor.api_key("desk"),
            method=PaymentMethod.CARD,
            now=NOW,
        )


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


# --- The client's page ---------------------------------------------------------------------


def test_the_page_states_the_terms_and_what_cancelling_now_means_before_acting() -> None:
    booked = booked_under(**KEEP_AS_CREDIT)
    pay_deposit(booked)
    url = booked.url(booked.token())
    page = DjangoClient().get(url).content.decode()
    assert "Your booking terms" in page
    assert "Cancelling is free until 48 hours before the start; later, the deposit is kept." in page
    assert "Your €20.00 deposit is paid." in page
    # Five days ahead: in time, the deposit comes back.
    assert "Cancelling now is free: your €20.00 deposit will be refunded." in page

    with time_machine.travel(START - timedelta(hours=47), tick=False):
        late = DjangoClient().get(url).content.decode()
        assert (
            "Cancelling now keeps your €20.00 deposit; book again before June 6 to use it"
            " as credit." in late
        )
        http = DjangoClient()
        response = post(http, url, action="cancel")
        assert response.status_code == 303
        after = http.get(url).content.decode()
    assert "Your appointment is cancelled. Cancelling now keeps your €20.00 deposit" in after
    with scope(tenant=booked.business):
        terms = AppointmentTerms.objects.get(pk=booked.appointment.pk)
        assert terms.deposit_status == DepositStatus.CREDITED
        [decision] = PolicyDecision.objects.filter(appointment=booked.appointment)
    assert (decision.action, decision.actor_type, decision.channel) == (
        Action.CANCEL_BY_CLIENT,
        "client",
        "online",
    )


def test_the_page_speaks_the_language_the_client_chose() -> None:
    booked = booked_under(**KEEP_AS_CREDIT)
    http = DjangoClient()
    http.cookies["django_language"] = "es"
    page = http.get(booked.url(booked.token())).content.decode()
    assert "20,00\xa0€" in page  # Spanish money, in the terms and the cancel sentence


def test_without_a_policy_the_page_says_nothing_of_terms() -> None:
    booked = book()
    page = DjangoClient().get(booked.url(booked.token())).content.decode()
    assert "Your booking terms" not in page and 'id="cancel-policy"' not in page


def test_a_move_the_terms_no_longer_allow_is_not_offered_and_the_page_says_why() -> None:
    booked = booked_under(reschedule_until_hours=24)
    url = booked.url(booked.token())
    assert 'value="reschedule"' in DjangoClient().get(url).content.decode()
    with time_machine.travel(START - timedelta(hours=23), tick=False):
        http = DjangoClient()
        page = http.get(url).content.decode()
        assert 'value="reschedule"' not in page
        assert "Changes are possible until 24 hours before the start" in page
        # A form kept open from earlier is answered with the reason, and nothing moves.
        response = post(
            http, url, action="reschedule_to", start=(START + timedelta(days=1)).isoformat()
        )
        assert response.status_code == 303
        assert "Changes are possible until 24 hours" in http.get(url).content.decode()
    assert booked.fresh().start == START


def test_moving_as_often_as_allowed_then_the_page_says_so() -> None:
    booked = booked_under(reschedule_max=1)
    http = DjangoClient()
    url = booked.url(booked.token())
    slots = post(http, url, action="reschedule").content.decode()
    first_free = re.findall(r'name="start" value="([^"]+)"', slots)[0]
    moved = post(http, url, action="reschedule_to", start=first_free)
    assert moved.status_code == 303
    new_url = moved["Location"]
    with scope(tenant=booked.business):
        assert AppointmentTerms.objects.get(pk=booked.appointment.pk).client_reschedules == 1
    page = http.get(new_url).content.decode()
    assert 'value="reschedule"' not in page
    assert "moved as many times as allowed; you can still cancel it." in page


# --- An SMS reply ----------------------------------------------------------------------------


def test_an_sms_cancel_reply_tells_the_client_the_outcome(
    client: DjangoClient, settings: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.PUNTUAL_BASE_URL = "https://puntual.example.com"
    shop = make_shop(client_language="en")
    with scope(tenant=shop.business):
        PolicyFactory(
            tenant=shop.business,
            cancellation_window_hours=48,
            late_cancellation_consequence="fixed_fee",
            late_cancellation_fee_amount=D("15.00"),
        )
        old = shop.appointment
        appointment_cancel(appointment=old, actor=Actor.api_key("setup"), now=NOW)
        soon = appointment_book(
            tenant=shop.business,
            location=old.location,
            staff=old.staff,
            service=old.service,
            client=shop.client,
            start=NOW + timedelta(hours=26),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW - timedelta(days=2),
        )
    params = {
        "MessageSid": new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": shop.client.phone,
        "To": "+34900000000",
        "Body": "2",
    }
    response = post_twilio(client, f"/webhooks/{shop.business.slug}/twilio/inbound/", params)
    answer = re.findall(r"<Message>(.*?)</Message>", response.content.decode(), re.S)[0]
    assert "is cancelled" in answer
    assert answer.endswith("Cancelling now costs a €15.00 late-cancellation fee.")
    with scope(tenant=shop.business):
        assert Appointment.objects.get(pk=soon.pk).status == AppointmentStatus.CANCELLED
        [decision] = PolicyDecision.objects.filter(appointment=soon)
    assert (decision.action, decision.fee, decision.channel) == (
        Action.CANCEL_BY_CLIENT,
        D("15.00"),
        "sms",
    )


# --- Notices ---------------------------------------------------------------------------------


def _send_booking_notices(clinic: Clinic) -> None:
    for message_id in messages_claim_due(now=BOOKED_AT):
        message_send(message_id=message_id, now=BOOKED_AT)


def test_the_booking_confirmation_states_the_terms_and_an_sms_the_deposit_to_pay(
    clinic: Clinic,
) -> None:
    PolicyFactory(tenant=clinic.business, deposit_deadline_hours=24, **KEEP_AS_CREDIT)
    appointment = clinic.book(BOOKED_AT + timedelta(days=5))
    _send_booking_notices(clinic)
    email = ScriptedEmailBackend.sent[0]
    assert (
        "A deposit of €20.00 holds this appointment; pay it within 24 hours of booking or the"
        " booking is released." in email.body
    )
    assert "later, the deposit is kept." in email.body

    clinic.client.email = ""
    clinic.client.save()
    OutboundMessage.objects.all().delete()
    ScriptedSMSBackend.reset()
    other = clinic.book(BOOKED_AT + timedelta(days=6))
    _send_booking_notices(clinic)
    sms = ScriptedSMSBackend.sent[0].body
    assert sms.endswith("pay it within 24 hours of booking or the booking is released.")
    assert "Cancelling" not in sms  # an SMS carries only what the client must act on
    assert appointment.pk != other.pk


def test_without_a_policy_the_confirmation_is_as_it_was(clinic: Clinic) -> None:
    clinic.book(BOOKED_AT + timedelta(days=5))
    _send_booking_notices(clinic)
    assert "deposit" not in ScriptedEmailBackend.sent[0].body.lower()


def test_the_cancellation_notice_says_what_the_terms_decided(clinic: Clinic) -> None:
    PolicyFactory(
        tenant=clinic.business,
        cancellation_window_hours=48,
        late_cancellation_consequence="fixed_fee",
        late_cancellation_fee_amount=D("12.00"),
    )
    appointment = clinic.book(BOOKED_AT + timedelta(days=1))
    _send_booking_notices(clinic)
    appointment_cancel(appointment=appointment, actor=Actor.client("online"), now=BOOKED_AT)
    _send_booking_notices(clinic)
    notice = OutboundMessage.objects.get(kind=MessageKind.CANCELLATION_NOTICE)
    assert (notice.status, notice.channel) == ("sent", "email")
    assert ScriptedEmailBackend.sent[-1].body.endswith(
        "Cancelling now costs a €12.00 late-cancellation fee."
    )


def test_a_link_issued_for_cancelling_shows_the_cancel_sentence(db: None) -> None:
    booked = booked_under(
        cancellation_window_hours=48,
        late_cancellation_consequence="fixed_fee",
        late_cancellation_fee_amount=D("10.00"),
    )
    with scope(tenant=booked.business):
        token = link_issue(appointment=booked.appointment, action=AccessAction.CANCEL)
    with time_machine.travel(START - timedelta(hours=3), tick=False):
        page = DjangoClient().get(booked.url(token)).content.decode()
    assert "Cancelling now costs a €10.00 late-cancellation fee." in page
