"""Twilio refusing a send with 21610 (the number replied STOP) is an opt-out, as a STOP reply is.

A client may have replied STOP at Twilio without Puntual hearing it (to a number another
business shares, or before the webhook was set up): the first refused send teaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django_scopes import scope

from clients.models import Client
from reminders.channels.sms import TransportError
from reminders.models import MessageStatus, OutboundMessage, RuleChannel
from reminders.services.dispatch import message_send, messages_claim_due
from tests.fake_twilio import FakeTwilio, Outcome
from tests.fakes import ScriptedEmailBackend, ScriptedSMSBackend
from tests.reminders.conftest import Clinic

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
MONDAY_10 = datetime(2026, 6, 8, 10, 0, tzinfo=MADRID)
TUESDAY_10 = MONDAY_10 + timedelta(days=1)
REMINDER_DUE = MONDAY_10 - timedelta(hours=24)

OPTED_OUT = TransportError(
    "Attempt to send to unsubscribed recipient", permanent=True, code="21610"
)


def _only_the_sms_reminders() -> None:
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()


def _send_due(now: datetime) -> list[str]:
    return [message_send(message_id=i, now=now) for i in messages_claim_due(now=now)]


def _consent(client: Client) -> bool:
    client.refresh_from_db(fields=["sms_consent"])
    return client.sms_consent


def test_a_send_refused_with_21610_records_the_opt_out_and_no_sms_is_tried_again(
    clinic: Clinic,
) -> None:
    clinic.book(MONDAY_10)
    clinic.book(TUESDAY_10)
    _only_the_sms_reminders()
    ScriptedSMSBackend.reset([OPTED_OUT])

    assert _send_due(REMINDER_DUE) == ["failed"]
    assert _consent(clinic.client) is False

    # Tuesday's reminder: the provider is not even asked.
    assert _send_due(TUESDAY_10 - timedelta(hours=24)) == ["skipped"]
    assert ScriptedSMSBackend.calls == 1
    tuesday = OutboundMessage.objects.get(appointment__start=TUESDAY_10)
    assert (tuesday.status, tuesday.status_reason) == (MessageStatus.SKIPPED, "no_sms_consent")


def test_with_sms_then_email_the_opt_out_is_recorded_and_the_email_still_goes(
    clinic: Clinic,
) -> None:
    reminder_rule = clinic.rules[1]
    reminder_rule.channel = RuleChannel.SMS_THEN_EMAIL
    reminder_rule.save()
    clinic.book(MONDAY_10)
    _only_the_sms_reminders()
    ScriptedSMSBackend.reset([OPTED_OUT])

    assert _send_due(REMINDER_DUE) == ["sent"]
    reminder = OutboundMessage.objects.get()
    assert (reminder.channel, reminder.status_reason) == (
        "email",
        "SMS failed (21610); sent by email",
    )
    assert len(ScriptedEmailBackend.sent) == 1
    assert _consent(clinic.client) is False


def test_other_permanent_errors_are_not_an_opt_out(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    _only_the_sms_reminders()
    ScriptedSMSBackend.reset([TransportError("invalid number", permanent=True, code="21211")])

    assert _send_due(REMINDER_DUE) == ["failed"]
    assert _consent(clinic.client) is True


def test_the_opt_out_is_the_business_s_own(clinic: Clinic) -> None:
    """The same person, a client of another business, keeps getting that business's SMS."""
    other = Clinic()  # enters its own scope; the clinic's is back when it leaves
    other.scope.__exit__(None, None, None)
    twin = other.client
    assert twin.phone == clinic.client.phone
    clinic.book(MONDAY_10)
    _only_the_sms_reminders()
    ScriptedSMSBackend.reset([OPTED_OUT])

    _send_due(REMINDER_DUE)

    assert _consent(clinic.client) is False
    with scope(tenant=other.business):
        assert _consent(twin) is True


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with (
        FakeTwilio() as fake,
        override_settings(
            SMS_BACKEND="reminders.channels.sms.TwilioSMSBackend",
            TWILIO_API_BASE_URL=fake.url,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="token",
            TWILIO_FROM_NUMBER="+34911000000",
            TWILIO_MESSAGING_SERVICE_SID="",
        ),
    ):
        yield fake


def test_twilio_answering_21610_over_http_records_the_opt_out(
    clinic: Clinic, fake_twilio: FakeTwilio
) -> None:
    clinic.book(MONDAY_10)
    _only_the_sms_reminders()
    fake_twilio.script(clinic.client.phone, [Outcome.OPTED_OUT])

    assert _send_due(REMINDER_DUE) == ["failed"]

    [request] = fake_twilio.requests
    assert request.to == clinic.client.phone
    assert OutboundMessage.objects.get().status_reason.startswith("21610")
    assert _consent(clinic.client) is False
