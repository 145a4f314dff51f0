"""Requests on real PostgreSQL: the exclusion constraint covers them, and an answer racing
the client's withdrawal leaves exactly one of them done."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django_scopes import scope

from appointments.errors import InvalidTransition, SlotTaken
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventKind,
    Source,
)
from appointments.services import (
    Actor,
    appointment_accept,
    appointment_book,
    appointment_cancel,
    appointment_decline,
)
from reminders.models import MessageKind, OutboundMessage
from tenants.models import Business
from tests.appointments.test_booking_concurrency import _race
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = AppointmentStatus
NOW = datetime(2026, 5, 25, 8, 0, tzinfo=UTC)
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
DESK = Actor.api_key("front desk")


@pytest.fixture
def world() -> Iterator[tuple[Business, Callable[..., Appointment]]]:
    business = BusinessFactory(approve_new_clients=True)
    with scope(tenant=business):
        location = LocationFactory(tenant=business, timezone="Europe/Madrid")
        service = ServiceFactory(tenant=business, duration_minutes=30)
        staff = staff_offering(tenant=business, location=location, services=[service])

        def book(start: datetime = START, *, request: bool = True) -> Appointment:
            return appointment_book(
                tenant=business,
                location=location,
                staff=staff,
                service=service,
                client=ClientFactory(tenant=business),
                start=start,
                source=Source.ONLINE,
                actor=Actor.client("online"),
                now=NOW,
                as_request=request,
            )

        yield business, book


def test_the_exclusion_constraint_covers_requests(
    world: tuple[Business, Callable[..., Appointment]],
) -> None:
    business, book = world
    with scope(tenant=business):
        request = book()
        twin = Appointment.objects.get(pk=request.pk)
        twin.pk = None
        twin.status = S.SCHEDULED
        with pytest.raises(IntegrityError, match="appointment_no_overlap"), transaction.atomic():
            twin.save(force_insert=True)
        with pytest.raises(SlotTaken):
            book(request=False)


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_an_answer_racing_the_clients_withdrawal_is_serialised(
    world: tuple[Business, Callable[..., Appointment]], answer: str
) -> None:
    """Whichever locks the request first wins; the other sees the result. Accepted first, the
    withdrawal then cancels a booking; withdrawn first, the answer is refused. A decline and a
    withdrawal never both happen. Either way the history is one chain of statuses."""
    business, book = world
    with scope(tenant=business):
        current = [book()]

    def work(i: int) -> str:
        appointment = Appointment.objects.get(pk=current[0].pk)
        if i == 0:
            if answer == "accept":
                appointment_accept(appointment=appointment, actor=DESK, now=NOW)
            else:
                appointment_decline(appointment=appointment, actor=DESK, now=NOW)
            return answer
        appointment_cancel(appointment=appointment, actor=Actor.client("online"), now=NOW)
        return "withdrawn"

    for round_ in range(4):
        results = _race(business, work, threads=2)
        assert all(isinstance(r, str | InvalidTransition) for r in results), results
        done = [r for r in results if isinstance(r, str)]
        with scope(tenant=business):
            fresh = Appointment.objects.get(pk=current[0].pk)
            chain = list(
                AppointmentEvent.objects.filter(appointment=fresh)
                .order_by("id")
                .values_list("kind", "from_status", "to_status")
            )
            assert all(later[1] == earlier[2] for earlier, later in itertools.pairwise(chain)), (
                chain
            )
            assert fresh.status == S.CANCELLED == chain[-1][2]
            kinds = set(
                OutboundMessage.objects.filter(appointment=fresh).values_list("kind", flat=True)
            )
            if done == ["withdrawn"]:  # the answer came too late
                assert [c[0] for c in chain] == [EventKind.CREATED, EventKind.STATUS]
                assert MessageKind.BOOKING_CONFIRMATION not in kinds
            elif answer == "decline":
                assert done == ["decline"], results
                assert [c[0] for c in chain] == [EventKind.CREATED, EventKind.DECLINED]
                assert MessageKind.REQUEST_DECLINED in kinds
            else:
                assert sorted(done) == ["accept", "withdrawn"], results
                assert [c[0] for c in chain] == [
                    EventKind.CREATED,
                    EventKind.ACCEPTED,
                    EventKind.STATUS,
                ]
                assert {MessageKind.BOOKING_CONFIRMATION, MessageKind.CANCELLATION_NOTICE} <= kinds
            # The next round races on a fresh request.
            current[0] = book(START + timedelta(minutes=30 * (round_ + 1)))
