"""The real Twilio backend against the fake Twilio server: how each answer is classified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from reminders.channels.sms import TransportError, TwilioSMSBackend
from tenants.fields import validate_sms_sender
from tests.fake_twilio import FakeTwilio, Outcome

TO = "+34600000001"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with (
        FakeTwilio(hang_seconds=2.0) as fake,
        override_settings(
            TWILIO_API_BASE_URL=fake.url,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="token",
            TWILIO_FROM_NUMBER="+34911000000",
            TWILIO_MESSAGING_SERVICE_SID="",
            TWILIO_READ_TIMEOUT=0.5,
        ),
    ):
        yield fake


def test_an_accepted_message_returns_twilios_sid_and_sends_the_callback(
    twilio: FakeTwilio,
) -> None:
    sid = TwilioSMSBackend().send(
        to=TO, body="Hola", status_callback="https://puntual.example/cb/1/"
    )

    [request] = twilio.requests
    assert request.sid == sid and sid.startswith("SM")
    assert request.form == {
        "To": TO,
        "Body": "Hola",
        "StatusCallback": "https://puntual.example/cb/1/",
        "From": "+34911000000",
    }


@pytest.mark.parametrize(
    ("sender", "field"),
    [("MG" + "a" * 32, "MessagingServiceSid"), ("+34911222333", "From")],
)
def test_the_business_sender_wins_over_the_platform_default(
    twilio: FakeTwilio, sender: str, field: str
) -> None:
    TwilioSMSBackend().send(to=TO, body="Hola", sender=sender)

    [request] = twilio.requests
    assert request.form[field] == sender
    assert set(request.form) == {"To", "Body", field}


@pytest.mark.parametrize(
    ("outcome", "code", "permanent", "unknown"),
    [
        (Outcome.RATE_LIMITED, "20429", False, False),
        (Outcome.SERVER_ERROR, "20500", False, True),
        (Outcome.INVALID_NUMBER, "21211", True, False),
        (Outcome.OPTED_OUT, "21610", True, False),
        (Outcome.HANG, "timeout", False, True),
        (Outcome.CLOSE, "timeout", False, True),
    ],
)
def test_each_failure_is_classified(
    twilio: FakeTwilio, outcome: Outcome, code: str, permanent: bool, unknown: bool
) -> None:
    twilio.script(TO, [outcome])

    with pytest.raises(TransportError) as raised:
        TwilioSMSBackend().send(to=TO, body="Hola")

    assert (raised.value.code, raised.value.permanent, raised.value.unknown) == (
        code,
        permanent,
        unknown,
    )


def test_an_unreachable_provider_is_a_retryable_connect_error() -> None:
    with FakeTwilio() as fake:
        url = fake.url  # the port is free again once the server stops
    with (
        override_settings(
            TWILIO_API_BASE_URL=url,
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="token",
            TWILIO_FROM_NUMBER="+34911000000",
        ),
        pytest.raises(TransportError) as raised,
    ):
        TwilioSMSBackend().send(to=TO, body="Hola")
    assert (raised.value.code, raised.value.permanent, raised.value.unknown) == (
        "connect",
        False,
        False,
    )


@pytest.mark.parametrize("value", ["MG" + "0123456789abcdef" * 2, "+34911234567", "+14155552671"])
def test_valid_senders(value: str) -> None:
    validate_sms_sender(value)


@pytest.mark.parametrize(
    "value", ["MG123", "911234567", "+34 911 234 567", "+3491", "PUNTUAL", "MG" + "g" * 32]
)
def test_invalid_senders_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_sms_sender(value)
