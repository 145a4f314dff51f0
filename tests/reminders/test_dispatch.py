"""The dispatcher sends each due message at most once, and every one ends sent, failed,
skipped or unknown. The transports are scripted at the backend seam (the network edge)."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from anymail.exceptions import AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives
from django_scopes import scopes_disabled

from appointments.services import Actor, appointment_cancel, appointment_confirm
from reminders.channels.sms import TransportError
from reminders.links import link_resolve
from reminders.models import MessageKind, MessageStatus, OutboundMessage
from reminders.services.dispatch import (
    RETRY_DELAYS,
    UNKNOWN_AFTER,
    message_send,
    messages_claim_due,
    messages_reap,
)
from reminders.texts import TWILIO_OPT_OUT_WORDS, default_text, validate_sms, validate_template
from tests.fakes import ScriptedEmailBackend, ScriptedSMSBackend
from tests.reminders.conftest import BOOKED_AT, Clinic

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
MONDAY_10 = datetime(2026, 6, 8, 10, 0, tzinfo=MADRID)
REMINDER_DUE = MONDAY_10 - timedelta(hours=24)


def _reminder() -> OutboundMessage:
    return OutboundMessage.objects.get(rule__name="Reminder, 24 h")


def _send_due(now: datetime) -> list[str]:
    return [message_send(message_id=i, now=now) for i in messages_claim_due(now=now)]


def test_nothing_is_claimed_before_its_time(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.filter(kind=MessageKind.BOOKING_CONFIRMATION).delete()
    assert messages_claim_due(now=REMINDER_DUE - timedelta(minutes=48 * 60)) == []


def test_a_due_reminder_is_sent_once_even_when_ticks_and_tasks_run_twice(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    first = messages_claim_due(now=REMINDER_DUE)
    second = messages_claim_due(now=REMINDER_DUE)  # a duplicated scheduler tick
    assert len(first) == 1 and second == []
    assert message_send(message_id=first[0], now=REMINDER_DUE) == "sent"
    assert (
        message_send(message_id=first[0], now=REMINDER_DUE) == "not_taken"
    )  # the task delivered twice
    assert len(ScriptedSMSBackend.sent) == 1
    reminder = _reminder()
    assert (reminder.status, reminder.attempts, reminder.channel, reminder.to) == (
        "sent",
        1,
        "sms",
        "+34600111222",
    )
    assert reminder.provider_id == ScriptedSMSBackend.sent[0].provider_id


def test_the_sms_names_the_local_time_and_zone_and_links_to_the_appointment(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    _send_due(REMINDER_DUE)
    body = ScriptedSMSBackend.sent[0].body
    assert "Monday, June 8, 2026 at 10:00 (Spain (Madrid) Time)" in body
    token = body.split("/a/")[1].split("/")[0]
    access = link_resolve(token=token, now=REMINDER_DUE)
    assert access is not None and access.appointment_id == appointment.pk
    assert len(body) <= 320  # two SMS segments at most


def test_texts_follow_the_clients_language(clinic: Clinic) -> None:
    clinic.client.language = "es"
    clinic.client.save()
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    _send_due(REMINDER_DUE)
    body = ScriptedSMSBackend.sent[0].body
    assert (
        "te recordamos tu cita el lunes, 8 de junio de 2026 a las 10:00 (hora de España (Madrid))"
        in body
    )


def test_the_booking_confirmation_goes_by_email_with_a_calendar_file(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    assert _send_due(BOOKED_AT) == ["sent"]
    email = ScriptedEmailBackend.sent[0]
    assert email.to == ["lucia@example.com"]
    assert "is booked" in str(email.subject)
    name, content, mimetype = email.attachments[0]
    assert (name, mimetype) == ("appointment.ics", "text/calendar")
    assert "DTSTART:20260608T080000Z" in content and "STATUS:CONFIRMED" in content
    assert isinstance(email, EmailMultiAlternatives)
    assert "<a href=" in str(email.alternatives[0][0])


def test_a_transient_error_is_retried_later_and_then_sent_once(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    ScriptedSMSBackend.reset([TransportError("429 Too Many Requests", code="429")])
    assert _send_due(REMINDER_DUE) == ["pending"]
    reminder = _reminder()
    assert (reminder.status, reminder.attempts, reminder.send_at) == (
        "pending",
        1,
        REMINDER_DUE + RETRY_DELAYS[0],
    )
    assert _send_due(REMINDER_DUE) == []  # not before its backoff
    assert _send_due(REMINDER_DUE + RETRY_DELAYS[0]) == ["sent"]
    assert len(ScriptedSMSBackend.sent) == 1 and _reminder().attempts == 2


def test_transient_errors_end_in_failed_after_the_last_retry(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    ScriptedSMSBackend.reset([TransportError("timeout connecting", code="connect")] * 10)
    now = REMINDER_DUE
    outcomes = []
    for _ in range(len(RETRY_DELAYS) + 1):
        outcomes += _send_due(now)
        now = _reminder().send_at
    assert outcomes == ["pending"] * len(RETRY_DELAYS) + ["failed"]
    assert "gave up after 5 attempts" in _reminder().status_reason


def test_an_unclear_answer_is_unknown_and_never_resent(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    ScriptedSMSBackend.reset([TransportError("read timeout", unknown=True, code="timeout")])
    assert _send_due(REMINDER_DUE) == ["unknown"]
    assert _send_due(REMINDER_DUE + timedelta(hours=1)) == []
    assert ScriptedSMSBackend.calls == 1


def test_a_permanent_error_fails_with_the_reason(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    ScriptedSMSBackend.reset(
        [TransportError("The message To number is opted out", permanent=True, code="21610")]
    )
    assert _send_due(REMINDER_DUE) == ["failed"]
    assert _reminder().status_reason.startswith("21610")


def test_sms_falls_back_to_email_when_the_rule_says_so(clinic: Clinic) -> None:
    from reminders.models import RuleChannel

    clinic.rules[1].channel = RuleChannel.SMS_THEN_EMAIL
    clinic.rules[1].save()
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    ScriptedSMSBackend.reset([TransportError("invalid number", permanent=True, code="21211")])
    assert _send_due(REMINDER_DUE) == ["sent"]
    reminder = _reminder()
    assert (reminder.channel, reminder.to) == ("email", "lucia@example.com")
    assert "sent by email" in reminder.status_reason
    assert len(ScriptedEmailBackend.sent) == 1


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (AnymailRecipientsRefused("refused"), "failed"),
        (smtplib.SMTPServerDisconnected("gone"), "unknown"),
        (smtplib.SMTPResponseException(451, b"greylisted"), "pending"),
    ],
)
def test_email_errors_map_to_outcomes(clinic: Clinic, error: BaseException, status: str) -> None:
    clinic.book(MONDAY_10)
    ScriptedEmailBackend.reset([error])
    assert _send_due(BOOKED_AT) == [status]


def test_nothing_is_sent_for_a_cancelled_appointment_even_if_already_queued(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    claimed = messages_claim_due(now=REMINDER_DUE)
    appointment_cancel(appointment=appointment, actor=Actor.system(), now=REMINDER_DUE)
    assert message_send(message_id=claimed[0], now=REMINDER_DUE) == "not_taken"
    assert (_reminder().status, _reminder().status_reason) == ("skipped", "cancelled")
    assert ScriptedSMSBackend.calls == 0


def test_nothing_is_sent_without_consent(clinic: Clinic) -> None:
    clinic.client.sms_consent = False
    clinic.client.save()
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    assert _send_due(REMINDER_DUE) == ["skipped"]
    assert _reminder().status_reason == "no_sms_consent"
    assert ScriptedSMSBackend.calls == 0


def test_a_confirmation_request_is_not_sent_to_a_client_who_confirmed(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    claimed = messages_claim_due(now=MONDAY_10 - timedelta(hours=48))
    with scopes_disabled():
        queued = OutboundMessage.objects.get(
            pk__in=claimed, rule__name="Confirmation request, 48 h"
        )
    OutboundMessage.objects.filter(pk=queued.pk).update(status=MessageStatus.QUEUED)
    appointment_confirm(appointment=appointment, actor=Actor.client("sms"), now=BOOKED_AT)
    assert message_send(message_id=queued.pk, now=BOOKED_AT) == "not_taken"


def test_a_worker_that_died_while_sending_leaves_an_unknown_message_never_a_second_send(
    clinic: Clinic,
) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    claimed = messages_claim_due(now=REMINDER_DUE)
    # The worker took the row and died before it could record anything.
    OutboundMessage.objects.filter(pk=claimed[0]).update(
        status=MessageStatus.SENDING, claimed_at=REMINDER_DUE
    )
    assert messages_reap(now=REMINDER_DUE + UNKNOWN_AFTER - timedelta(seconds=1)) == []
    assert _reminder().status == MessageStatus.SENDING
    messages_reap(now=REMINDER_DUE + UNKNOWN_AFTER + timedelta(seconds=1))
    assert (_reminder().status, _reminder().status_reason) == (
        "unknown",
        "interrupted while sending",
    )
    assert message_send(message_id=claimed[0], now=REMINDER_DUE + UNKNOWN_AFTER) == "not_taken"


def test_a_queued_message_whose_task_was_lost_is_enqueued_again_and_sent_once(
    clinic: Clinic,
) -> None:
    clinic.book(MONDAY_10)
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    claimed = messages_claim_due(now=REMINDER_DUE)  # the broker lost the task
    assert messages_reap(now=REMINDER_DUE + timedelta(minutes=1)) == []
    again = messages_reap(now=REMINDER_DUE + timedelta(minutes=6))
    assert again == claimed
    assert message_send(message_id=again[0], now=REMINDER_DUE + timedelta(minutes=6)) == "sent"
    assert (
        message_send(message_id=claimed[0], now=REMINDER_DUE + timedelta(minutes=6)) == "not_taken"
    )
    assert len(ScriptedSMSBackend.sent) == 1


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("kind", [k.value for k in MessageKind])
@pytest.mark.parametrize("purpose", ["reminder", "confirmation_request", "survey"])
def test_default_texts_are_valid_and_never_invite_an_opt_out_reply(
    language: str, kind: str, purpose: str
) -> None:
    text = default_text(kind=kind, purpose=purpose, language=language)
    for template in (text.subject, text.body, text.sms):
        validate_template(template)
    validate_sms(text.sms)
    assert not TWILIO_OPT_OUT_WORDS & {w.strip(".,:?!()").upper() for w in text.sms.split()}


def test_a_business_text_with_an_unknown_or_dangerous_placeholder_is_refused() -> None:
    from django.core.exceptions import ValidationError

    for template in (
        "{client_name.__class__}",
        "{nope}",
        "{client_name!r}",
        "{client_name:>99}",
        "{",
    ):
        with pytest.raises(ValidationError):
            validate_template(template)
    with pytest.raises(ValidationError):
        validate_sms("Reply CANCEL to cancel")


def test_email_helper_headers_carry_the_message_id(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    _send_due(BOOKED_AT)
    email = ScriptedEmailBackend.sent[0]
    assert email.extra_headers["X-Puntual-Message"] == str(
        OutboundMessage.objects.get(kind="booking_confirmation").pk
    )
