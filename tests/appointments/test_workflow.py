"""The status workflow: what may follow what, recorded once, and refused changes change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django_scopes import scope

from appointments.errors import InvalidTransition, SlotTaken
from appointments.models import Appointment, AppointmentEvent, AppointmentStatus, EventKind, Source
from appointments.services import (
    Actor,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_correct,
    appointment_finish,
    appointment_reschedule,
    appointment_start,
    appointment_transition,
)
from appointments.workflow import TRANSITIONS, can_transition
from tenants.models import Business
from tests.factories import (
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    UserFactory,
    staff_offering,
)

pytestmark = pytest.mark.django_db

S = AppointmentStatus
Book = Callable[..., Appointment]
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # Monday 10:00 in Madrid
BEFORE = START - timedelta(days=2)
AFTER = START + timedelta(minutes=40)


@pytest.fixture
def book(in_business: Business) -> Book:
    location = LocationFactory(tenant=in_business, timezone="Europe/Madrid")
    service = ServiceFactory(tenant=in_business, duration_minutes=30)
    staff = staff_offering(tenant=in_business, location=location, services=[service])
    desk = Actor.staff(UserFactory())

    def _book(start: datetime = START) -> Appointment:
        return appointment_book(
            tenant=in_business,
            location=location,
            staff=staff,
            service=service,
            client=ClientFactory(tenant=in_business),
            start=start,
            source=Source.DASHBOARD,
            actor=desk,
            now=BEFORE,
        )

    return _book


def _reach(appointment: Appointment, status: str) -> Appointment:
    """Walk an appointment to `status` through the workflow itself."""
    desk = Actor.system()
    if status == S.SCHEDULED:
        return appointment
    if status == S.CONFIRMED:
        return appointment_transition(
            appointment=appointment, to_status=S.CONFIRMED, actor=desk, now=BEFORE
        )
    when = AFTER if status in (S.ATTENDED, S.NO_SHOW) else BEFORE
    return appointment_transition(appointment=appointment, to_status=status, actor=desk, now=when)


# A request is reached by booking one, not through the workflow: its changes are specified in
# test_approval.py (accepted, declined, withdrawn, nothing else).
ALL_PAIRS = [(a, b) for a in S.values for b in S.values if a != b and a != S.REQUESTED]


@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS)
def test_every_transition_follows_the_declared_map(
    book: Book, from_status: str, to_status: str
) -> None:
    appointment = _reach(book(), from_status)
    events_before = AppointmentEvent.objects.filter(appointment=appointment).count()
    when = AFTER if to_status in (S.ATTENDED, S.NO_SHOW) else BEFORE
    if can_transition(from_status, to_status):
        changed = appointment_transition(
            appointment=appointment, to_status=to_status, actor=Actor.system(), now=when
        )
        assert changed.status == to_status
        last = AppointmentEvent.objects.filter(appointment=appointment).last()
        assert last is not None and (last.from_status, last.to_status, last.at) == (
            from_status,
            to_status,
            when,
        )
    else:
        with pytest.raises(InvalidTransition):
            appointment_transition(
                appointment=appointment, to_status=to_status, actor=Actor.system(), now=when
            )
        appointment.refresh_from_db()
        assert appointment.status == from_status
        assert AppointmentEvent.objects.filter(appointment=appointment).count() == events_before


def test_the_map_is_the_one_the_product_describes() -> None:
    assert TRANSITIONS == {
        S.REQUESTED: {S.SCHEDULED, S.CANCELLED},
        S.SCHEDULED: {S.CONFIRMED, S.ATTENDED, S.NO_SHOW, S.CANCELLED},
        S.CONFIRMED: {S.ATTENDED, S.NO_SHOW, S.CANCELLED},
        S.ATTENDED: set(),
        S.NO_SHOW: set(),
        S.CANCELLED: set(),
    }


@pytest.mark.parametrize("outcome", [S.ATTENDED, S.NO_SHOW])
def test_outcomes_cannot_be_recorded_before_the_start(book: Book, outcome: str) -> None:
    appointment = book()
    with pytest.raises(InvalidTransition):
        appointment_transition(
            appointment=appointment,
            to_status=outcome,
            actor=Actor.system(),
            now=START - timedelta(seconds=1),
        )
    assert (
        appointment_transition(
            appointment=appointment, to_status=outcome, actor=Actor.system(), now=START
        ).status
        == outcome
    )


def test_a_cancellation_records_who_when_and_why(book: Book) -> None:
    appointment = appointment_cancel(
        appointment=book(), actor=Actor.client("sms"), reason="Sick", now=BEFORE
    )
    assert (
        appointment.cancelled_by,
        appointment.cancelled_at,
        appointment.cancellation_reason,
    ) == ("client", BEFORE, "Sick")
    event = appointment.events.last()
    assert event is not None
    assert (event.actor_type, event.channel, event.reason) == ("client", "sms", "Sick")


def test_arrival_start_and_finish_are_recorded_without_changing_the_status(book: Book) -> None:
    appointment = _reach(book(), S.CONFIRMED)
    desk = Actor.system()
    appointment = appointment_check_in(
        appointment=appointment, actor=desk, now=START - timedelta(minutes=5)
    )
    with pytest.raises(InvalidTransition):
        appointment_check_in(appointment=appointment, actor=desk, now=START)
    appointment = appointment_start(
        appointment=appointment, actor=desk, now=START + timedelta(minutes=3)
    )
    appointment = appointment_finish(
        appointment=appointment, actor=desk, now=START + timedelta(minutes=31)
    )
    assert appointment.status == S.CONFIRMED
    assert (appointment.arrived_at, appointment.started_at, appointment.finished_at) == (
        START - timedelta(minutes=5),
        START + timedelta(minutes=3),
        START + timedelta(minutes=31),
    )
    kinds = list(appointment.events.values_list("kind", flat=True))
    assert kinds == [
        EventKind.CREATED,
        EventKind.STATUS,
        EventKind.ARRIVED,
        EventKind.STARTED,
        EventKind.FINISHED,
    ]


def test_finishing_needs_a_start_and_a_cancelled_visit_cannot_check_in(book: Book) -> None:
    appointment = book()
    with pytest.raises(InvalidTransition):
        appointment_finish(appointment=appointment, actor=Actor.system(), now=START)
    cancelled = appointment_cancel(
        appointment=book(START + timedelta(hours=1)), actor=Actor.system(), now=BEFORE
    )
    with pytest.raises(InvalidTransition):
        appointment_check_in(appointment=cancelled, actor=Actor.system(), now=START)


def test_an_admin_may_correct_a_no_show_to_attended_with_a_reason(book: Book) -> None:
    appointment = _reach(book(), S.NO_SHOW)
    admin = Actor.staff(UserFactory())
    with pytest.raises(InvalidTransition):
        appointment_correct(
            appointment=appointment, to_status=S.ATTENDED, actor=admin, reason="  ", now=AFTER
        )
    corrected = appointment_correct(
        appointment=appointment,
        to_status=S.ATTENDED,
        actor=admin,
        reason="Came late, we saw her",
        now=AFTER,
    )
    assert corrected.status == S.ATTENDED
    event = corrected.events.last()
    assert event is not None
    assert (event.kind, event.from_status, event.to_status, event.reason) == (
        EventKind.CORRECTED,
        S.NO_SHOW,
        S.ATTENDED,
        "Came late, we saw her",
    )
    with pytest.raises(InvalidTransition):
        appointment_correct(
            appointment=corrected, to_status=S.NO_SHOW, actor=admin, reason="undo", now=AFTER
        )


def test_a_correction_cannot_take_back_time_given_to_someone_else(book: Book) -> None:
    no_show = _reach(book(), S.NO_SHOW)
    book()  # a walk-in took the freed time
    with pytest.raises(SlotTaken):
        appointment_correct(
            appointment=no_show,
            to_status=S.ATTENDED,
            actor=Actor.system(),
            reason="late",
            now=AFTER,
        )
    no_show.refresh_from_db()
    assert no_show.status == S.NO_SHOW


@pytest.mark.parametrize("status", [S.CANCELLED, S.ATTENDED, S.NO_SHOW])
def test_only_open_appointments_can_be_rescheduled(book: Book, status: str) -> None:
    appointment = _reach(book(), status)
    with pytest.raises(InvalidTransition):
        appointment_reschedule(
            appointment=appointment,
            start=START + timedelta(hours=2),
            actor=Actor.system(),
            now=BEFORE,
        )


def test_a_no_show_frees_the_rest_of_the_slot_and_a_cancellation_frees_all_of_it(
    book: Book,
) -> None:
    _reach(book(), S.NO_SHOW)
    assert book().status == S.SCHEDULED  # the walk-in
    cancelled_later = _reach(book(START + timedelta(hours=2)), S.CANCELLED)
    assert book(cancelled_later.start).status == S.SCHEDULED


def test_scopes_keep_appointments_of_other_businesses_out_of_reach(
    book, in_business: Business
) -> None:
    mine = book()
    from tests.factories import BusinessFactory

    with scope(tenant=BusinessFactory()):
        assert not Appointment.objects.filter(pk=mine.pk).exists()
