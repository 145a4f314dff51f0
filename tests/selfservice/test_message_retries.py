"""Waitlist offers and surveys go out at most once, and a passing provider failure is tried
again later, as reminders are: Twilio (faked over HTTP at the network edge) answering 429 or
not reachable is retried with backoff up to a limit; an invalid number fails with its reason;
an unclear answer (a 5xx) is "unknown", never resent; a worker dying in flight never sends
twice. An offer is never retried once it expired or its time was taken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django_scopes import scope, scopes_disabled

from appointments.models import Appointment, Source
from appointments.services import (
    Actor,
    appointment_book,
    appointment_cancel,
    appointment_mark_attended,
)
from clients.models import Client
from reminders.models import Purpose, RuleChannel
from reminders.services.dispatch import RETRY_DELAYS, UNKNOWN_AFTER
from reminders.services.rules import reminder_rule_create
from selfservice.models import OfferStatus, SurveyInvitation, WaitlistOffer, WaitlistSource
from selfservice.services.messaging import take
from selfservice.services.outgoing import selfservice_send_due
from selfservice.services.survey import surveys_plan
from selfservice.services.waitlist import (
    offer_by_token,
    waitlist_join,
    waitlist_offer_claim,
    waitlist_slot_freed,
)
from tests.factories import ClientFactory
from tests.fake_twilio import FakeTwilio, Outcome
from tests.fakes import ScriptedEmailBackend
from tests.selfservice.conftest import NOW, Shop

VISIT = datetime(2026, 5, 28, 10, 0, tzinfo=UTC)
SURVEY_AT = VISIT + timedelta(minutes=30 + 120)
FRIDAY_10 = datetime(2026, 5, 29, 8, 0, tzinfo=UTC)
PHONE = "+34600123456"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    ScriptedEmailBackend.reset()
    with (
        FakeTwilio() as fake,
        override_settings(
            SMS_BACKEND="reminders.channels.sms.TwilioSMSBackend",
            EMAIL_BACKEND="tests.fakes.ScriptedEmailBackend",
            TWILIO_API_BASE_URL=fake.url,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="token",
            TWILIO_FROM_NUMBER="+34911000000",
            TWILIO_MESSAGING_SERVICE_SID="",
        ),
    ):
        yield fake


def _survey_rule(shop: Shop, channel: str = RuleChannel.SMS) -> None:
    with scope(tenant=shop.business):
        reminder_rule_create(
            tenant=shop.business,
            name="Survey",
            purpose=Purpose.SURVEY,
            channel=channel,
            offset_minutes=120,
            now=NOW,
        )


def _attended(shop: Shop, **client_fields: Any) -> Appointment:
    with scope(tenant=shop.business):
        appointment = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.ana,
            service=shop.service,
            client=ClientFactory(tenant=shop.business, phone=PHONE, **client_fields),
            start=VISIT,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        return appointment_mark_attended(
            appointment=appointment, actor=Actor.system(), now=VISIT + timedelta(minutes=31)
        )


def _survey() -> SurveyInvitation:
    with scopes_disabled():
        return SurveyInvitation.objects.get()


# --- Surveys -------------------------------------------------------------------------------


def test_a_rate_limited_survey_is_retried_later_and_then_sent_once(
    shop: Shop, twilio: FakeTwilio
) -> None:
    _survey_rule(shop)
    _attended(shop)
    twilio.script(PHONE, [Outcome.RATE_LIMITED, Outcome.OK])

    assert selfservice_send_due(now=SURVEY_AT)["sent"] == 0
    survey = _survey()
    assert (survey.status, survey.attempts) == (OfferStatus.PENDING, 1)
    assert survey.status_reason == "retrying: 20429"
    assert survey.send_at == SURVEY_AT + RETRY_DELAYS[0]

    # Not before its new time; then once, however many ticks run.
    assert selfservice_send_due(now=SURVEY_AT + timedelta(seconds=30))["sent"] == 0
    assert selfservice_send_due(now=survey.send_at)["sent"] == 1
    assert selfservice_send_due(now=survey.send_at + timedelta(hours=2))["sent"] == 0
    survey = _survey()
    assert (survey.status, survey.attempts, survey.status_reason) == (OfferStatus.SENT, 2, "")
    assert [r.outcome for r in twilio.requests] == [Outcome.RATE_LIMITED, Outcome.OK]


def test_a_survey_that_never_gets_through_fails_after_the_last_retry(
    shop: Shop, twilio: FakeTwilio
) -> None:
    _survey_rule(shop)
    _attended(shop)
    twilio.default = Outcome.RATE_LIMITED

    now = SURVEY_AT
    for _retry in range(len(RETRY_DELAYS) + 3):
        selfservice_send_due(now=now)
        now += timedelta(hours=2)
    survey = _survey()
    tries = len(RETRY_DELAYS) + 1
    assert (survey.status, survey.attempts) == (OfferStatus.FAILED, tries)
    assert survey.status_reason == f"gave up after {tries} attempts: 20429"
    assert len(twilio.requests) == tries


def test_an_invalid_number_fails_at_once_with_the_reason(shop: Shop, twilio: FakeTwilio) -> None:
    _survey_rule(shop)
    _attended(shop)
    twilio.script(PHONE, [Outcome.INVALID_NUMBER])

    selfservice_send_due(now=SURVEY_AT)
    selfservice_send_due(now=SURVEY_AT + timedelta(hours=2))
    survey = _survey()
    assert survey.status == OfferStatus.FAILED and survey.status_reason.startswith("21211: ")
    assert len(twilio.requests) == 1


def test_sms_then_email_falls_back_to_email_when_the_number_is_refused(
    shop: Shop, twilio: FakeTwilio
) -> None:
    _survey_rule(shop, channel=RuleChannel.SMS_THEN_EMAIL)
    _attended(shop, email="olga@example.com")
    twilio.script(PHONE, [Outcome.OPTED_OUT])

    assert selfservice_send_due(now=SURVEY_AT)["sent"] == 1
    survey = _survey()
    assert (survey.channel, survey.status_reason) == ("email", "SMS failed (21610); sent by email")
    assert len(ScriptedEmailBackend.sent) == 1
    with scopes_disabled():
        assert Client.objects.get(phone=PHONE).sms_consent is False  # as a STOP reply


def test_an_unclear_answer_is_unknown_and_never_resent(shop: Shop, twilio: FakeTwilio) -> None:
    _survey_rule(shop)
    _attended(shop)
    twilio.script(PHONE, [Outcome.SERVER_ERROR])

    selfservice_send_due(now=SURVEY_AT)
    selfservice_send_due(now=SURVEY_AT + timedelta(hours=2))
    assert _survey().status == OfferStatus.UNKNOWN
    assert len(twilio.requests) == 1


def test_a_transient_email_error_is_retried_too(shop: Shop, twilio: FakeTwilio) -> None:
    _survey_rule(shop, channel=RuleChannel.EMAIL)
    _attended(shop, email="olga@example.com")
    ScriptedEmailBackend.reset([ConnectionRefusedError("no SMTP server")])

    selfservice_send_due(now=SURVEY_AT)
    assert (_survey().status, _survey().status_reason) == (OfferStatus.PENDING, "retrying: connect")
    selfservice_send_due(now=SURVEY_AT + RETRY_DELAYS[0])
    assert _survey().status == OfferStatus.SENT and len(ScriptedEmailBackend.sent) == 1


def test_a_worker_dying_in_flight_leaves_an_unknown_survey_never_a_second_send(
    shop: Shop, twilio: FakeTwilio
) -> None:
    _survey_rule(shop)
    _attended(shop)
    surveys_plan(now=SURVEY_AT)
    # A worker takes the row, then dies before (or during) the provider call.
    with scopes_disabled():
        assert take(SurveyInvitation, _survey().pk, now=SURVEY_AT)

    assert selfservice_send_due(now=SURVEY_AT + timedelta(minutes=1))["sent"] == 0
    assert _survey().status == OfferStatus.SENDING  # its call could still be running
    selfservice_send_due(now=SURVEY_AT + UNKNOWN_AFTER + timedelta(minutes=1))
    survey = _survey()
    assert (survey.status, survey.status_reason) == (
        OfferStatus.UNKNOWN,
        "interrupted while sending",
    )
    assert twilio.requests == []


def test_a_second_take_of_the_same_row_finds_nothing(shop: Shop, twilio: FakeTwilio) -> None:
    _survey_rule(shop)
    _attended(shop)
    surveys_plan(now=SURVEY_AT)
    pk = _survey().pk
    with scopes_disabled():
        assert take(SurveyInvitation, pk, now=SURVEY_AT) is True
        assert take(SurveyInvitation, pk, now=SURVEY_AT) is False


# --- Waitlist offers ---------------------------------------------------------------------------


def _offers(shop: Shop, *phones: str) -> list[Client]:
    """Clients waiting with `phones`, and the offers a cancellation makes them (not sent yet)."""
    with scope(tenant=shop.business):
        clients: list[Client] = [
            ClientFactory(tenant=shop.business, phone=phone) for phone in phones
        ]
        for client in clients:
            waitlist_join(
                tenant=shop.business,
                client=client,
                service=shop.service,
                source=WaitlistSource.STAFF,
                now=NOW,
            )
        appointment = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.ana,
            service=shop.service,
            client=ClientFactory(tenant=shop.business, phone="+34600999999"),
            start=FRIDAY_10,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        appointment_cancel(appointment=appointment, actor=Actor.system(), now=NOW)
        waitlist_slot_freed(appointment_id=appointment.pk, now=NOW)
    return clients


def _offer_to(client: Client) -> WaitlistOffer:
    with scopes_disabled():
        return WaitlistOffer.objects.get(entry__client=client)


def test_a_rate_limited_offer_is_retried_and_sent_once(shop: Shop, twilio: FakeTwilio) -> None:
    [client] = _offers(shop, PHONE)
    twilio.script(PHONE, [Outcome.RATE_LIMITED])

    selfservice_send_due(now=NOW)
    offer = _offer_to(client)
    assert (offer.status, offer.attempts) == (OfferStatus.PENDING, 1)
    assert selfservice_send_due(now=offer.send_at)["sent"] == 1
    assert selfservice_send_due(now=offer.send_at + timedelta(minutes=5))["sent"] == 0
    assert _offer_to(client).status == OfferStatus.SENT
    assert [r.outcome for r in twilio.requests] == [Outcome.RATE_LIMITED, Outcome.OK]


def test_an_offer_is_not_retried_past_its_expiry(
    shop: Shop, twilio: FakeTwilio, settings: Any
) -> None:
    settings.SELFSERVICE_OFFER_HOURS = 0.05  # 3 minutes: room for the first retry only
    [client] = _offers(shop, PHONE)
    twilio.default = Outcome.RATE_LIMITED

    selfservice_send_due(now=NOW)
    assert _offer_to(client).status == OfferStatus.PENDING
    selfservice_send_due(now=NOW + RETRY_DELAYS[0])
    offer = _offer_to(client)
    assert offer.status == OfferStatus.FAILED
    assert offer.status_reason == "expired before it could be sent: 20429"
    selfservice_send_due(now=NOW + timedelta(hours=1))
    assert len(twilio.requests) == 2


def test_an_offer_whose_time_was_taken_meanwhile_is_not_retried(
    shop: Shop, twilio: FakeTwilio
) -> None:
    slow, _quick = _offers(shop, PHONE, "+34600654321")
    twilio.script(PHONE, [Outcome.RATE_LIMITED])

    selfservice_send_due(now=NOW)
    assert _offer_to(slow).status == OfferStatus.PENDING
    [accepted] = [r for r in twilio.requests if r.outcome == Outcome.OK]
    token = accepted.form["Body"].split("/waitlist/offer/")[1].split("/")[0]
    with scope(tenant=shop.business):
        offer = offer_by_token(token=token)
        assert offer is not None
        waitlist_offer_claim(offer=offer, now=NOW + timedelta(seconds=30))

    selfservice_send_due(now=NOW + RETRY_DELAYS[0])
    offer = _offer_to(slow)
    assert (offer.status, offer.status_reason) == (OfferStatus.FAILED, "no_longer_free")
    assert [r.to for r in twilio.requests] == [PHONE, "+34600654321"]
