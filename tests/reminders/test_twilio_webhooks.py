"""Twilio's webhooks: signed or refused, replies acted on once, delivery reports never backward."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope, scopes_disabled

from appointments.errors import InvalidTransition
from appointments.models import AppointmentEvent, AppointmentStatus, CancelledBy
from reminders.models import AccessAction, InboundMessage, MessageStatus, OutboundMessage
from reminders.replies import TWILIO_OPT_OUT
from reminders.services.inbound import reply_templates
from reminders.texts import validate_sms
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

Outcome = InboundMessage.Outcome

# Every answer any test here received, scanned at the end for opt-out words.
ANSWERS: list[str] = []


@pytest.fixture(autouse=True)
def _twilio(settings: Any) -> Iterator[None]:
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.PUNTUAL_BASE_URL = BASE_URL
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def inbound_path(shop: Shop) -> str:
    return f"/webhooks/{shop.business.slug}/twilio/inbound/"


def reply(http: DjangoClient, shop: Shop, body: str, *, sid: str = "", **extra: str) -> Any:
    params = {
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": shop.client.phone,
        "To": "+34900000000",
        "Body": body,
        **extra,
    }
    response = post_twilio(http, inbound_path(shop), params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    ANSWERS.extend(re.findall(r"<Message>(.*?)</Message>", response.content.decode(), re.S))
    return response


def answer(response: Any) -> str:
    found = re.findall(r"<Message>(.*?)</Message>", response.content.decode(), re.S)
    return found[0] if found else ""


def stored(shop: Shop) -> list[InboundMessage]:
    with scope(tenant=shop.business):
        return list(InboundMessage.objects.order_by("id"))


# --- Signatures ------------------------------------------------------------------------


def test_it_refuses_an_unsigned_reply_and_stores_nothing(client: DjangoClient, shop: Shop) -> None:
    params = {"MessageSid": new_sid(), "From": shop.client.phone, "Body": "1"}
    response = client.post(inbound_path(shop), params)
    assert response.status_code == 403
    assert stored(shop) == []
    assert shop.reload().appointment.status == AppointmentStatus.SCHEDULED


@pytest.mark.parametrize(
    "signature",
    [
        "not-a-signature",
        "",
        # signed with another account's token
        sign("/x/", {}, token="another-token"),
    ],
)
def test_it_refuses_a_badly_signed_reply(client: DjangoClient, shop: Shop, signature: str) -> None:
    params = {"MessageSid": new_sid(), "From": shop.client.phone, "Body": "1"}
    if signature.startswith("sig:"):
        signature = signature.removeprefix("sig:")
    response = post_twilio(client, inbound_path(shop), params, signature=signature)
    assert response.status_code == 403
    assert stored(shop) == []


def test_it_refuses_a_signature_for_other_parameters(client: DjangoClient, shop: Shop) -> None:
    params = {"MessageSid": new_sid(), "From": shop.client.phone, "Body": "1"}
    signature = sign(inbound_path(shop), {**params, "Body": "2"})
    response = post_twilio(client, inbound_path(shop), params, signature=signature)
    assert response.status_code == 403
    assert stored(shop) == []


def test_it_checks_the_signature_against_the_public_url(client: DjangoClient, shop: Shop) -> None:
    """Behind a proxy the request reaches Django as http://testserver; Twilio signed the public URL."""
    params = {"MessageSid": new_sid(), "From": shop.client.phone, "Body": "1"}
    internal = sign(inbound_path(shop), params, base="http://testserver")
    assert post_twilio(client, inbound_path(shop), params, signature=internal).status_code == 403
    assert post_twilio(client, inbound_path(shop), params).status_code == 200


def test_without_an_auth_token_it_refuses_everything(
    client: DjangoClient, shop: Shop, settings: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    params = {"MessageSid": new_sid(), "From": shop.client.phone, "Body": "1"}
    response = post_twilio(
        client, inbound_path(shop), params, signature=sign(inbound_path(shop), params, token="")
    )
    assert response.status_code == 403
    assert stored(shop) == []


def test_it_answers_get_with_405(client: DjangoClient, shop: Shop) -> None:
    assert client.get(inbound_path(shop)).status_code == 405


def test_a_malformed_message_sid_is_a_400(client: DjangoClient, shop: Shop) -> None:
    params = {"MessageSid": "x" * 200, "From": shop.client.phone, "Body": "1"}
    assert post_twilio(client, inbound_path(shop), params).status_code == 400
    assert stored(shop) == []


def test_an_unknown_business_is_a_404(client: DjangoClient) -> None:
    path = "/webhooks/no-such-business/twilio/inbound/"
    params = {"MessageSid": new_sid(), "Body": "1"}
    assert post_twilio(client, path, params).status_code == 404


# --- Replies ---------------------------------------------------------------------------


def test_1_confirms_the_next_appointment_as_the_client_by_sms(
    client: DjangoClient, shop: Shop
) -> None:
    response = reply(client, shop, "1")
    assert shop.reload().appointment.status == AppointmentStatus.CONFIRMED
    (message,) = stored(shop)
    assert message.outcome == Outcome.CONFIRMED
    assert message.client_id == shop.client.pk and message.appointment_id == shop.appointment.pk
    with scope(tenant=shop.business):
        event = AppointmentEvent.objects.filter(to_status="confirmed").get()
    assert (event.actor_type, event.channel) == ("client", "sms")
    assert "confirmada" in answer(response)  # the business speaks Spanish


def test_a_retried_reply_is_stored_and_acted_on_once(client: DjangoClient, shop: Shop) -> None:
    sid = new_sid()
    reply(client, shop, "2", sid=sid)
    again = reply(client, shop, "2", sid=sid)
    assert answer(again) == ""
    assert len(stored(shop)) == 1
    with scope(tenant=shop.business):
        assert AppointmentEvent.objects.filter(to_status="cancelled").count() == 1


def test_no_cancels_as_the_client(client: DjangoClient, shop: Shop) -> None:
    response = reply(client, shop, "No puedo")
    appointment = shop.reload().appointment
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_by == CancelledBy.CLIENT
    assert stored(shop)[0].outcome == Outcome.CANCELLED
    assert "cancelada" in answer(response)


def test_the_client_s_language_wins_over_the_business_s(client: DjangoClient) -> None:
    shop = make_shop(client_language="en")
    assert "confirmed" in answer(reply(client, shop, "yes"))


def test_confirming_a_confirmed_appointment_is_still_confirmed(
    client: DjangoClient, shop: Shop
) -> None:
    reply(client, shop, "1")
    reply(client, shop, "Sí")
    assert [m.outcome for m in stored(shop)] == [Outcome.CONFIRMED, Outcome.CONFIRMED]
    with scope(tenant=shop.business):
        assert AppointmentEvent.objects.filter(to_status="confirmed").count() == 1


def test_a_change_the_workflow_refuses_goes_to_a_person(
    client: DjangoClient, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise InvalidTransition

    monkeypatch.setattr("reminders.services.inbound.appointment_cancel", refuse)
    response = reply(client, shop, "2")
    assert stored(shop)[0].outcome == Outcome.NEEDS_HUMAN
    assert shop.reload().appointment.status == AppointmentStatus.SCHEDULED
    assert f"{BASE_URL}/{shop.business.slug}/a/" in answer(response)


def test_a_reply_it_cannot_read_goes_to_a_person_with_the_manage_link(
    client: DjangoClient, shop: Shop
) -> None:
    response = reply(client, shop, "¿Puedo ir a las 5?")
    (message,) = stored(shop)
    assert message.outcome == Outcome.NEEDS_HUMAN and message.handled_at is None
    assert message.body == "¿Puedo ir a las 5?"
    text = answer(response)
    assert "equipo" in text
    token = text.rsplit("/a/", 1)[1].strip().rstrip("/")
    with scope(tenant=shop.business):
        from reminders.links import link_resolve

        access = link_resolve(token=token)
    assert access is not None and access.action == AccessAction.MANAGE
    assert access.appointment_id == shop.appointment.pk
    assert shop.reload().appointment.status == AppointmentStatus.SCHEDULED


def test_an_unknown_sender_reaches_a_person_and_gets_the_business_phone(
    client: DjangoClient, shop: Shop
) -> None:
    params = {"MessageSid": new_sid(), "From": "+34699000111", "Body": "1"}
    response = post_twilio(client, inbound_path(shop), params)
    (message,) = stored(shop)
    assert message.outcome == Outcome.NEEDS_HUMAN
    assert message.client is None and message.appointment is None
    assert message.from_number == "+34699000111"
    assert "+34911222333" in answer(response)
    ANSWERS.append(answer(response))


def test_an_unreadable_sender_is_stored_as_sent(client: DjangoClient, shop: Shop) -> None:
    params = {"MessageSid": new_sid(), "From": "Vodafone", "Body": "Hola"}
    assert post_twilio(client, inbound_path(shop), params).status_code == 200
    assert stored(shop)[0].from_number == "Vodafone"


def test_a_reply_without_an_upcoming_appointment_goes_to_a_person(
    client: DjangoClient, shop: Shop
) -> None:
    reply(client, shop, "2")
    reply(client, shop, "1")  # the only appointment is cancelled now
    assert [m.outcome for m in stored(shop)] == [Outcome.CANCELLED, Outcome.NEEDS_HUMAN]
    assert shop.reload().appointment.status == AppointmentStatus.CANCELLED


def test_another_business_s_client_with_the_same_phone_is_untouched(
    client: DjangoClient, shop: Shop
) -> None:
    other = make_shop(name="Otro")
    with scope(tenant=other.business):
        other.client.phone = shop.client.phone
        other.client.save()
    reply(client, shop, "STOP")
    reply(client, shop, "2")
    assert other.reload().client.sms_consent is True
    assert other.appointment.status == AppointmentStatus.SCHEDULED
    assert stored(other) == []


# --- Opting out and in -----------------------------------------------------------------


@pytest.mark.parametrize("word", sorted(TWILIO_OPT_OUT - {"CANCEL"}))
def test_twilio_s_opt_out_words_are_recorded_and_answered_by_twilio_alone(
    client: DjangoClient, shop: Shop, word: str
) -> None:
    response = reply(client, shop, word.lower())
    assert answer(response) == ""
    assert shop.reload().client.sms_consent is False
    assert stored(shop)[0].outcome == Outcome.OPTED_OUT
    assert shop.appointment.status == AppointmentStatus.SCHEDULED


def test_cancel_opts_out_and_a_person_asks_about_the_appointment(
    client: DjangoClient, shop: Shop
) -> None:
    response = reply(client, shop, "Cancel")
    assert answer(response) == ""
    assert shop.reload().client.sms_consent is False
    assert shop.appointment.status == AppointmentStatus.SCHEDULED
    assert stored(shop)[0].outcome == Outcome.NEEDS_HUMAN


def test_an_opt_out_twilio_does_not_know_is_respected_and_confirmed(
    client: DjangoClient, shop: Shop
) -> None:
    response = reply(client, shop, "Baja, por favor")
    assert shop.reload().client.sms_consent is False
    assert stored(shop)[0].outcome == Outcome.OPTED_OUT
    assert "no recibirás" in answer(response).lower() or "no volverás" in answer(response).lower()


def test_start_opts_back_in(client: DjangoClient, shop: Shop) -> None:
    reply(client, shop, "STOP")
    response = reply(client, shop, "start")
    assert answer(response) == ""  # Twilio answers its own keyword
    assert shop.reload().client.sms_consent is True
    assert stored(shop)[1].outcome == Outcome.OPTED_IN


def test_help_gets_the_business_s_contact(client: DjangoClient, shop: Shop) -> None:
    response = reply(client, shop, "AYUDA")
    assert "+34911222333" in answer(response)
    assert stored(shop)[0].outcome == Outcome.NEEDS_HUMAN


def test_help_without_a_phone_gives_the_email(client: DjangoClient) -> None:
    shop = make_shop(phone="", email="hola@sol.example")
    assert "hola@sol.example" in answer(reply(client, shop, "help"))


def _words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).upper()
    return set(re.findall(r"[A-Z]+", plain))


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_answer_ever_contains_an_opt_out_word(language: str) -> None:
    templates = reply_templates(language)
    assert len(templates) >= 9
    for key, template in templates.items():
        assert not _words(template) & TWILIO_OPT_OUT, (language, key, template)
        validate_sms(template)


def test_no_answer_sent_in_these_tests_contains_an_opt_out_word() -> None:
    # Runs after the tests above in this module (pytest keeps file order).
    assert ANSWERS, "the reply tests should have collected answers"
    for text in ANSWERS:
        assert not _words(text) & TWILIO_OPT_OUT, text


# --- Status callbacks ------------------------------------------------------------------


def status_path(shop: Shop, message: OutboundMessage) -> str:
    return f"/webhooks/{shop.business.slug}/twilio/status/{message.pk}/"


def report(
    http: DjangoClient, shop: Shop, message: OutboundMessage, status: str, **extra: str
) -> OutboundMessage:
    params = {
        "MessageSid": message.provider_id,
        "MessageStatus": status,
        "AccountSid": "AC" + "0" * 32,
        "To": message.to,
        **extra,
    }
    response = post_twilio(http, status_path(shop, message), params)
    assert response.status_code == 200
    with scope(tenant=shop.business):
        message.refresh_from_db()
    return message


def test_a_status_callback_must_be_signed(client: DjangoClient, shop: Shop) -> None:
    message = shop.outbound()
    params = {"MessageSid": message.provider_id, "MessageStatus": "delivered"}
    response = client.post(status_path(shop, message), params)
    assert response.status_code == 403
    with scope(tenant=shop.business):
        message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.delivered_at is None


def test_delivered_is_recorded(client: DjangoClient, shop: Shop) -> None:
    message = report(client, shop, shop.outbound(), "delivered")
    assert message.status == MessageStatus.DELIVERED and message.delivered_at == NOW


def test_reports_out_of_order_never_move_backwards(client: DjangoClient, shop: Shop) -> None:
    message = shop.outbound(status=MessageStatus.SENDING, sent_at=None)
    report(client, shop, message, "delivered")
    for late in ("queued", "sending", "sent", "undelivered", "failed", "delivered"):
        report(client, shop, message, late, ErrorCode="30003")
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at == NOW and message.status_reason == ""


def test_a_repeated_report_changes_nothing(client: DjangoClient, shop: Shop) -> None:
    message = shop.outbound()
    report(client, shop, message, "delivered")
    with time_machine.travel(NOW.replace(hour=9), tick=False):
        report(client, shop, message, "delivered")
    assert message.delivered_at == NOW


def test_the_reports_move_a_message_forward_step_by_step(client: DjangoClient, shop: Shop) -> None:
    message = shop.outbound(status=MessageStatus.SENDING, sent_at=None)
    assert report(client, shop, message, "queued").status == MessageStatus.SENT
    assert message.sent_at == NOW
    assert report(client, shop, message, "sent").status == MessageStatus.SENT
    assert report(client, shop, message, "delivered").status == MessageStatus.DELIVERED


def test_a_report_resolves_an_unknown_message(client: DjangoClient, shop: Shop) -> None:
    message = shop.outbound(status=MessageStatus.UNKNOWN, sent_at=None)
    assert report(client, shop, message, "sent").status == MessageStatus.SENT


def test_a_failure_keeps_twilio_s_error_code(client: DjangoClient, shop: Shop) -> None:
    message = report(client, shop, shop.outbound(), "undelivered", ErrorCode="30003")
    assert message.status == MessageStatus.FAILED
    assert "30003" in message.status_reason
    report(client, shop, message, "delivered")
    assert message.status == MessageStatus.FAILED


def test_error_21610_records_the_opt_out(client: DjangoClient, shop: Shop) -> None:
    report(client, shop, shop.outbound(), "failed", ErrorCode="21610")
    assert shop.reload().client.sms_consent is False


def test_a_report_for_another_provider_id_changes_nothing(client: DjangoClient, shop: Shop) -> None:
    message = shop.outbound()
    params = {"MessageSid": new_sid(), "MessageStatus": "failed", "ErrorCode": "21610"}
    assert post_twilio(client, status_path(shop, message), params).status_code == 200
    with scope(tenant=shop.business):
        message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert shop.reload().client.sms_consent is True


def test_a_report_for_another_business_s_message_changes_nothing(
    client: DjangoClient, shop: Shop
) -> None:
    other = make_shop(name="Otro")
    theirs = other.outbound()
    path = f"/webhooks/{shop.business.slug}/twilio/status/{theirs.pk}/"
    params = {"MessageSid": theirs.provider_id, "MessageStatus": "failed"}
    assert post_twilio(client, path, params).status_code == 200
    with scopes_disabled():
        theirs.refresh_from_db()
    assert theirs.status == MessageStatus.SENT


def test_a_report_for_an_unknown_message_is_accepted_and_ignored(
    client: DjangoClient, shop: Shop
) -> None:
    path = f"/webhooks/{shop.business.slug}/twilio/status/999999/"
    params = {"MessageSid": new_sid(), "MessageStatus": "delivered"}
    assert post_twilio(client, path, params).status_code == 200


def test_an_unknown_status_is_ignored(client: DjangoClient, shop: Shop) -> None:
    message = report(client, shop, shop.outbound(), "teleported")
    assert message.status == MessageStatus.SENT
