"""Booking, rescheduling and cancelling plan an appointment's messages in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appointments.errors import SlotTaken
from appointments.services import (
    Actor,
    appointment_cancel,
    appointment_confirm,
    appointment_reschedule,
)
from reminders.models import MessageKind, MessageStatus, OutboundMessage
from reminders.services.planning import quiet_hours_adjusted
from tests.reminders.conftest import BOOKED_AT, Clinic

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
MONDAY_10 = datetime(2026, 6, 8, 10, 0, tzinfo=MADRID)


def _rows(clinic: Clinic) -> dict[str, OutboundMessage]:
    return {m.dedupe_key: m for m in OutboundMessage.objects.all()}


def _by_rule(clinic: Clinic) -> dict[str, OutboundMessage]:
    rows = OutboundMessage.objects.filter(kind=MessageKind.RULE).select_related("rule")
    return {m.rule.name: m for m in rows if m.rule is not None}


def test_a_booking_plans_each_rule_once_and_the_booking_confirmation_now(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    rows = _by_rule(clinic)
    assert rows["Confirmation request, 48 h"].send_at == MONDAY_10 - timedelta(hours=48)
    assert rows["Reminder, 24 h"].send_at == MONDAY_10 - timedelta(hours=24)
    assert {m.status for m in rows.values()} == {MessageStatus.PENDING}
    booking = OutboundMessage.objects.get(kind=MessageKind.BOOKING_CONFIRMATION)
    assert (booking.send_at, booking.status, booking.appointment_id) == (
        BOOKED_AT,
        MessageStatus.PENDING,
        appointment.pk,
    )
    assert OutboundMessage.objects.count() == 3


def test_a_rule_whose_time_has_passed_at_booking_is_skipped_not_sent_late(clinic: Clinic) -> None:
    clinic.book(BOOKED_AT + timedelta(hours=30))  # Thursday 16:00 Madrid: 48 h is already past
    rows = _by_rule(clinic)
    assert (
        rows["Confirmation request, 48 h"].status,
        rows["Confirmation request, 48 h"].status_reason,
    ) == (
        MessageStatus.SKIPPED,
        "too_late",
    )
    assert rows["Reminder, 24 h"].status == MessageStatus.PENDING
    assert (
        OutboundMessage.objects.get(kind=MessageKind.BOOKING_CONFIRMATION).status
        == MessageStatus.PENDING
    )


def test_a_refused_booking_plans_nothing(clinic: Clinic) -> None:
    clinic.book(MONDAY_10)
    with pytest.raises(SlotTaken):
        clinic.book(MONDAY_10)
    assert OutboundMessage.objects.count() == 3


def test_rescheduling_moves_planned_messages_and_announces_the_new_time(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    later = BOOKED_AT + timedelta(hours=1)
    appointment_reschedule(
        appointment=appointment,
        start=MONDAY_10 + timedelta(days=1),
        actor=Actor.system(),
        now=later,
    )
    rows = _by_rule(clinic)
    assert rows["Reminder, 24 h"].send_at == MONDAY_10  # 24 h before Tuesday 10:00
    assert rows["Reminder, 24 h"].appointment_version == 2
    notices = OutboundMessage.objects.filter(kind=MessageKind.RESCHEDULE_NOTICE)
    assert [(n.dedupe_key, n.send_at) for n in notices] == [("reschedule:v2", later)]


def test_rescheduling_leaves_messages_already_sent_alone(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    OutboundMessage.objects.filter(rule__name="Reminder, 24 h").update(status=MessageStatus.SENT)
    appointment_reschedule(
        appointment=appointment,
        start=MONDAY_10 + timedelta(days=1),
        actor=Actor.system(),
        now=BOOKED_AT,
    )
    sent = OutboundMessage.objects.get(rule__name="Reminder, 24 h")
    assert (sent.status, sent.send_at) == (MessageStatus.SENT, MONDAY_10 - timedelta(hours=24))


def test_a_message_skipped_as_too_late_comes_back_when_the_appointment_moves_later(
    clinic: Clinic,
) -> None:
    appointment = clinic.book(BOOKED_AT + timedelta(hours=30))
    appointment_reschedule(
        appointment=appointment, start=MONDAY_10, actor=Actor.system(), now=BOOKED_AT
    )
    assert _by_rule(clinic)["Confirmation request, 48 h"].status == MessageStatus.PENDING


def test_cancelling_skips_what_is_planned_and_sends_a_cancellation_notice(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    appointment_cancel(appointment=appointment, actor=Actor.client("sms"), now=BOOKED_AT)
    rows = _by_rule(clinic)
    assert {(m.status, m.status_reason) for m in rows.values()} == {
        (MessageStatus.SKIPPED, "cancelled")
    }
    assert (
        OutboundMessage.objects.filter(
            kind=MessageKind.CANCELLATION_NOTICE, status=MessageStatus.PENDING
        ).count()
        == 1
    )


def test_confirming_skips_the_rules_meant_only_for_unconfirmed_appointments(clinic: Clinic) -> None:
    appointment = clinic.book(MONDAY_10)
    appointment_confirm(appointment=appointment, actor=Actor.client("email"), now=BOOKED_AT)
    rows = _by_rule(clinic)
    assert (
        rows["Confirmation request, 48 h"].status,
        rows["Confirmation request, 48 h"].status_reason,
    ) == (
        MessageStatus.SKIPPED,
        "confirmed",
    )
    assert rows["Reminder, 24 h"].status == MessageStatus.PENDING


def test_an_sms_due_in_quiet_hours_waits_for_the_morning(clinic: Clinic) -> None:
    clinic.book(datetime(2026, 6, 9, 7, 30, tzinfo=MADRID))  # 24 h before is Monday 07:30
    assert _by_rule(clinic)["Reminder, 24 h"].send_at == datetime(2026, 6, 8, 8, 0, tzinfo=MADRID)


QUIET = {"quiet_start": time(21), "quiet_end": time(8)}


@pytest.mark.parametrize(
    ("send_local", "appointment_local", "expected_local"),
    [
        ("2026-06-08 07:30", "2026-06-08 08:30", "2026-06-08 08:00"),  # ends before the visit
        (
            "2026-06-08 06:45",
            "2026-06-08 07:45",
            "2026-06-07 20:59",
        ),  # too late: the evening before
        ("2026-06-07 23:00", "2026-06-08 12:00", "2026-06-08 08:00"),  # after midnight's wrap
        ("2026-06-08 20:59", "2026-06-09 10:00", "2026-06-08 20:59"),  # just before: unchanged
        ("2026-06-08 08:00", "2026-06-09 10:00", "2026-06-08 08:00"),  # the end is not quiet
        # Spring forward in Madrid (02:00 -> 03:00 on 29 March): the morning is still 08:00.
        ("2026-03-29 05:00", "2026-03-29 10:00", "2026-03-29 08:00"),
        # Fall back (03:00 -> 02:00 on 25 October): 02:30 happens twice; both are quiet.
        ("2026-10-25 02:30", "2026-10-25 10:00", "2026-10-25 08:00"),
    ],
)
def test_quiet_hours_keep_their_wall_clock_times_every_day_of_the_year(
    send_local: str, appointment_local: str, expected_local: str
) -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=MADRID)

    result = quiet_hours_adjusted(
        at(send_local), appointment_start=at(appointment_local), tz=MADRID, **QUIET
    )
    assert result.astimezone(MADRID).strftime("%Y-%m-%d %H:%M") == expected_local
    assert result.tzinfo is not None


def test_both_instances_of_the_repeated_hour_are_quiet() -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    for moment in (first, second):
        adjusted = quiet_hours_adjusted(
            moment, appointment_start=moment + timedelta(hours=10), tz=MADRID, **QUIET
        )
        assert adjusted.astimezone(MADRID).strftime("%H:%M") == "08:00"


def test_no_quiet_hours_when_start_equals_end() -> None:
    moment = datetime(2026, 6, 8, 1, 0, tzinfo=UTC)
    assert (
        quiet_hours_adjusted(
            moment,
            appointment_start=moment + timedelta(days=1),
            tz=MADRID,
            quiet_start=time(0),
            quiet_end=time(0),
        )
        == moment
    )
