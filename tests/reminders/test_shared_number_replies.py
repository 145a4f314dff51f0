"""Replies to a number several businesses share reach the business they answer, and only it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope, scopes_disabled

from appointments.models import AppointmentStatus
from clients.models import Client
from reminders.models import InboundMessage, MessageStatus
from tests.reminders.webhook_helpers import (
    BASE_URL,
    NOW,
    TWILIO_TOKEN,
    Shop,
    make_shop,
    new_sid,
    post_twilio,
    sign,
)

pytestmark = pytest.mark.django_db

PATH = "/webhooks/twilio/inbound/"
PLATFORM_NUMBER = "+34900000000"
OWN_NUMBER = "+34911000111"
PHONE = "+34600999888"


@pytest.fixture(autouse=True)
def _twilio(settings: Any) -> Iterator[None]:
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.PUNTUAL_BASE_URL = BASE_URL
    with time_machine.travel(NOW, tick=False):
        yield


def shop_for(name: str, **kwargs: Any) -> Shop:
    """A business whose client has PHONE: the same person is a client of every shop here."""
    shop = make_shop(name=name, **kwargs)
    with scope(tenant=shop.business):
        Client.objects.filter(pk=shop.client.pk).update(phone=PHONE)
    return shop.reload()


def sms_sent(shop: Shop, hours_ago: int, **kwargs: Any) -> None:
    shop.outbound(**{"to": PHONE, "sent_at": NOW - timedelta(hours=hours_ago), **kwargs})


def reply(http: DjangoClient, body: str, *, to: str = PLATFORM_NUMBER, sid: str = "") -> Any:
    params = {
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": PHONE,
        "To": to,
        "Body": body,
    }
    response = post_twilio(http, PATH, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return response


def answer(response: Any) -> str:
    found = re.findall(r"<Message>(.*?)</Message>", response.content.decode(), re.S)
    return found[0] if found else ""


def inbound(shop: Shop) -> list[InboundMessage]:
    with scope(tenant=shop.business):
        return list(InboundMessage.objects.all())


def every_inbound() -> int:
    with scopes_disabled():
        return InboundMessage.objects.count()


@pytest.fixture
def sol() -> Shop:
    return shop_for("Peluquería Sol")


@pytest.fixture
def luna() -> Shop:
    return shop_for("Clínica Luna")


# --- Signatures ------------------------------------------------------------------------


def test_it_refuses_an_unsigned_reply_and_stores_nothing(
    client: DjangoClient, sol: Shop, luna: Shop
) -> None:
    sms_sent(sol, hours_ago=1)
    params = {"MessageSid": new_sid(), "From": PHONE, "To": PLATFORM_NUMBER, "Body": "1"}
    assert client.post(PATH, params).status_code == 403
    bad = sign(PATH, params, token="another-token")
    assert post_twilio(client, PATH, params, signature=bad).status_code == 403
    assert every_inbound() == 0
    assert sol.reload().appointment.status == AppointmentStatus.SCHEDULED


def test_a_malformed_sid_is_a_400_and_get_is_a_405(client: DjangoClient, sol: Shop) -> None:
    sms_sent(sol, hours_ago=1)
    params = {"MessageSid": "x" * 80, "From": PHONE, "To": PLATFORM_NUMBER, "Body": "1"}
    assert post_twilio(client, PATH, params).status_code == 400
    assert client.get(PATH).status_code == 405
    assert every_inbound() == 0


# --- Routing ---------------------------------------------------------------------------


def test_a_client_of_two_businesses_answers_the_one_that_wrote_last(
    client: DjangoClient, sol: Shop, luna: Shop
) -> None:
    sms_sent(sol, hours_ago=3)
    sms_sent(luna, hours_ago=1)

    response = reply(client, "1")

    assert luna.reload().appointment.status == AppointmentStatus.CONFIRMED
    assert sol.reload().appointment.status == AppointmentStatus.SCHEDULED
    (message,) = inbound(luna)
    assert (message.client_id, message.appointment_id) == (luna.client.pk, luna.appointment.pk)
    assert inbound(sol) == []
    assert "Clínica Luna" in answer(response) and "Sol" not in answer(response)


def test_when_the_other_business_writes_later_the_next_reply_is_theirs(
    client: DjangoClient, sol: Shop, luna: Shop
) -> None:
    sms_sent(sol, hours_ago=3)
    sms_sent(luna, hours_ago=2)
    reply(client, "1")
    sms_sent(sol, hours_ago=1)

    reply(client, "No puedo")

    assert sol.reload().appointment.status == AppointmentStatus.CANCELLED
    assert luna.reload().appointment.status == AppointmentStatus.CONFIRMED
    assert [m.outcome for m in inbound(sol)] == [InboundMessage.Outcome.CANCELLED]


def test_a_business_s_own_number_routes_to_it_whoever_wrote_last(
    client: DjangoClient, sol: Shop
) -> None:
    own = shop_for("Óptica Mar", sms_sender=OWN_NUMBER)
    sms_sent(own, hours_ago=5)
    sms_sent(sol, hours_ago=1)

    reply(client, "1", to=OWN_NUMBER)

    assert own.reload().appointment.status == AppointmentStatus.CONFIRMED
    assert sol.reload().appointment.status == AppointmentStatus.SCHEDULED


def test_a_business_with_its_own_number_never_gets_replies_to_the_shared_one(
    client: DjangoClient, sol: Shop
) -> None:
    own = shop_for("Óptica Mar", sms_sender=OWN_NUMBER)
    sms_sent(sol, hours_ago=5)
    sms_sent(own, hours_ago=1)  # sent from its own number, not the shared one

    reply(client, "1")

    assert sol.reload().appointment.status == AppointmentStatus.CONFIRMED
    assert own.reload().appointment.status == AppointmentStatus.SCHEDULED
    assert inbound(own) == []


def test_two_businesses_that_entered_the_same_number_share_it(
    client: DjangoClient,
) -> None:
    first = shop_for("Peluquería Sol", sms_sender=OWN_NUMBER)
    second = shop_for("Clínica Luna", sms_sender=OWN_NUMBER)
    sms_sent(first, hours_ago=1)
    sms_sent(second, hours_ago=4)

    reply(client, "1", to=OWN_NUMBER)

    assert first.reload().appointment.status == AppointmentStatus.CONFIRMED
    assert second.reload().appointment.status == AppointmentStatus.SCHEDULED


def test_only_sms_that_left_count(client: DjangoClient, sol: Shop, luna: Shop) -> None:
    sms_sent(sol, hours_ago=3)
    sms_sent(luna, hours_ago=1, status=MessageStatus.FAILED)
    sms_sent(luna, hours_ago=1, status=MessageStatus.PENDING, sent_at=None)
    sms_sent(luna, hours_ago=1, channel="email", to="someone@example.com")

    reply(client, "1")

    assert sol.reload().appointment.status == AppointmentStatus.CONFIRMED
    assert inbound(luna) == []


def test_a_reply_nobody_wrote_to_gets_no_answer_and_is_stored_nowhere(
    client: DjangoClient, sol: Shop
) -> None:
    response = reply(client, "1")  # sol exists, but never sent an SMS to this number

    assert answer(response) == ""
    assert every_inbound() == 0
    assert sol.reload().appointment.status == AppointmentStatus.SCHEDULED


def test_a_retried_reply_is_stored_and_acted_on_once(
    client: DjangoClient, sol: Shop, luna: Shop
) -> None:
    sms_sent(luna, hours_ago=1)
    sid = new_sid()
    reply(client, "2", sid=sid)
    again = reply(client, "2", sid=sid)

    assert answer(again) == ""
    assert len(inbound(luna)) == 1 and inbound(sol) == []


def test_an_opt_out_to_the_shared_number_is_recorded_by_the_business_it_answers(
    client: DjangoClient, sol: Shop, luna: Shop
) -> None:
    """Twilio stops every SMS from the shared number to that phone; the other business learns
    it at its next send (error 21610)."""
    sms_sent(sol, hours_ago=3)
    sms_sent(luna, hours_ago=1)

    reply(client, "STOP")

    assert luna.reload().client.sms_consent is False
    assert sol.reload().client.sms_consent is True
    assert [m.outcome for m in inbound(luna)] == [InboundMessage.Outcome.OPTED_OUT]
