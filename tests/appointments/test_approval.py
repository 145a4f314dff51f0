"""Staff approval of new clients' bookings: a request holds the time, is accepted or declined
by the business (or withdrawn by the client), and nothing else happens to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django_scopes import scope

from appointments.errors import InvalidTransition, SlotTaken
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    CancelledBy,
    EventKind,
    Service,
    Source,
    StaffMember,
)
from appointments.selectors import availability_for
from appointments.services import (
    Actor,
    appointment_accept,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_decline,
    appointment_reschedule,
    appointment_transition,
)
from appointments.services.approval import approval_required, client_is_known
from clients.models import Client
from hooks.events import WebhookEvent, event_for
from policies.choices import Consequence, DepositKind, DepositStatus, EntryKind
from policies.models import AppointmentTerms, LedgerEntry, PolicyDecision
from policies.services import policy_create
from reminders.models import MessageKind, MessageStatus, OutboundMessage
from reminders.services.dispatch import _why_not
from reminders.services.planning import reminder_rules_create_defaults
from tenants.models import Business, Location
from tests.factories import ClientFactory, LocationFactory, ServiceFactory, staff_offering

pytestmark = pytest.mark.django_db

S = AppointmentStatus
NOW = datetime(2026, 5, 25, 8, 0, tzinfo=UTC)  # a week before
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # Monday 10:00 in Madrid
DESK = Actor.api_key("front desk")
CLIENT = Actor.client("online")


@dataclass
class Desk:
    business: Business
    location: Location
    service: Service
    staff: StaffMember

    def book(
        self, *, client: Client | None = None, start: datetime = START, request: bool = True
    ) -> Appointment:
        return appointment_book(
            tenant=self.business,
            location=self.location,
            staff=self.staff,
            service=self.service,
            client=client or ClientFactory(tenant=self.business),
            start=start,
            source=Source.ONLINE,
            actor=CLIENT,
            now=NOW,
            as_request=request,
        )


@pytest.fixture
def desk(in_business: Business) -> Desk:
    in_business.approve_new_clients = True
    in_business.save()
    location = LocationFactory(tenant=in_business, timezone="Europe/Madrid")
    service = ServiceFactory(tenant=in_business, duration_minutes=30, price=Decimal("40.00"))
    staff = staff_offering(tenant=in_business, location=location, services=[service])
    reminder_rules_create_defaults(tenant=in_business)
    return Desk(in_business, location, service, staff)


def _events(appointment: Appointment) -> list[tuple[str, str, str]]:
    return list(
        AppointmentEvent.objects.filter(appointment=appointment)
        .order_by("at", "id")
        .values_list("kind", "from_status", "to_status")
    )


def _messages(appointment: Appointment) -> list[tuple[str, str]]:
    return list(
        OutboundMessage.objects.filter(appointment=appointment)
        .order_by("id")
        .values_list("kind", "status")
    )


# --- The request ---------------------------------------------------------------------------


def test_a_request_is_booked_requested_with_its_own_event(desk: Desk) -> None:
    request = desk.book()
    assert request.status == S.REQUESTED
    assert _events(request) == [(EventKind.CREATED, "", S.REQUESTED)]


def test_a_request_holds_its_time_availability_hides_it_and_a_booking_there_is_slot_taken(
    desk: Desk,
) -> None:
    def offered() -> set[datetime]:
        slots = availability_for(
            tenant=desk.business,
            service=desk.service,
            location=desk.location,
            start_date=date(2026, 6, 1),
            end_date=date(2026, 6, 1),
            staff=desk.staff,
            now=NOW,
        )
        return {slot.start for slot in slots}

    assert START in offered()
    desk.book()
    assert START not in offered()
    with pytest.raises(SlotTaken):
        desk.book(request=False)


def test_a_request_gets_only_the_request_received_notice_and_no_reminders(desk: Desk) -> None:
    request = desk.book()
    assert _messages(request) == [(MessageKind.REQUEST_RECEIVED, MessageStatus.PENDING)]


def test_a_request_stores_no_terms_and_asks_for_no_deposit(desk: Desk) -> None:
    _deposit_policy(desk.business)
    request = desk.book()
    assert not AppointmentTerms.objects.filter(pk=request.pk).exists()
    assert not LedgerEntry.objects.filter(appointment=request).exists()


# --- Accepting -----------------------------------------------------------------------------


def test_accepting_schedules_it_and_sends_the_booking_confirmation_and_plans_the_reminders(
    desk: Desk,
) -> None:
    request = desk.book()
    accepted = appointment_accept(appointment=request, actor=DESK, now=NOW + timedelta(hours=1))
    assert accepted.status == S.SCHEDULED
    assert accepted.version == request.version  # the client's link keeps working
    assert _events(accepted)[-1] == (EventKind.ACCEPTED, S.REQUESTED, S.SCHEDULED)
    kinds = [kind for kind, _status in _messages(accepted)]
    assert kinds.count(MessageKind.BOOKING_CONFIRMATION) == 1
    assert kinds.count(MessageKind.RULE) == 2  # the default rules, planned now


def test_accepting_asks_for_the_deposit_from_the_moment_of_acceptance(desk: Desk) -> None:
    _deposit_policy(desk.business)
    request = desk.book()
    accepted_at = NOW + timedelta(hours=5)
    appointment_accept(appointment=request, actor=DESK, now=accepted_at)
    terms = AppointmentTerms.objects.get(pk=request.pk)
    assert (terms.deposit_required, terms.deposit_status) == (
        Decimal("20.00"),
        DepositStatus.PENDING,
    )
    assert terms.deposit_due_at == accepted_at + timedelta(hours=24)
    assert list(LedgerEntry.objects.filter(appointment=request).values_list("kind", flat=True)) == [
        EntryKind.DEPOSIT_REQUESTED
    ]


def test_a_request_already_answered_or_past_cannot_be_accepted(desk: Desk) -> None:
    request = desk.book()
    appointment_accept(appointment=request, actor=DESK, now=NOW)
    with pytest.raises(InvalidTransition):
        appointment_accept(appointment=request, actor=DESK, now=NOW)
    with pytest.raises(InvalidTransition):
        appointment_decline(appointment=request, actor=DESK, now=NOW)
    late = desk.book(start=START + timedelta(hours=2))
    with pytest.raises(InvalidTransition):
        appointment_accept(appointment=late, actor=DESK, now=late.start)
    late.refresh_from_db()
    assert late.status == S.REQUESTED


def test_the_request_received_notice_not_sent_before_the_answer_is_not_sent_at_all(
    desk: Desk,
) -> None:
    request = desk.book()
    notice = OutboundMessage.objects.get(appointment=request, kind=MessageKind.REQUEST_RECEIVED)
    assert _why_not(notice, NOW) == ""
    appointment_accept(appointment=request, actor=DESK, now=NOW)
    notice.refresh_from_db()
    notice.appointment.refresh_from_db()
    assert _why_not(notice, NOW) == "answered"


# --- Declining -----------------------------------------------------------------------------


def test_declining_cancels_it_by_the_business_tells_the_client_and_frees_the_time(
    desk: Desk,
) -> None:
    request = desk.book()
    declined = appointment_decline(appointment=request, actor=DESK, now=NOW)
    assert (declined.status, declined.cancelled_by) == (S.CANCELLED, CancelledBy.STAFF)
    assert declined.cancellation_reason  # "Declined by the business." in its language
    assert _events(declined)[-1] == (EventKind.DECLINED, S.REQUESTED, S.CANCELLED)
    assert (MessageKind.REQUEST_DECLINED, MessageStatus.PENDING) in _messages(declined)
    assert not PolicyDecision.objects.filter(appointment=declined).exists()
    assert desk.book(request=False).status == S.SCHEDULED  # the time is free again


def test_a_decline_keeps_the_reason_written(desk: Desk) -> None:
    declined = appointment_decline(
        appointment=desk.book(), actor=DESK, reason="  We only treat children.  ", now=NOW
    )
    assert declined.cancellation_reason == "We only treat children."
    assert AppointmentEvent.objects.filter(appointment=declined).last().reason == (  # type: ignore[union-attr]
        "We only treat children."
    )


# --- Nothing else leaves "requested" -------------------------------------------------------


@pytest.mark.parametrize("to_status", [S.SCHEDULED, S.CONFIRMED, S.ATTENDED, S.NO_SHOW])
def test_a_request_cannot_be_moved_through_the_ordinary_workflow(
    desk: Desk, to_status: str
) -> None:
    request = desk.book()
    when = START + timedelta(hours=1) if to_status in (S.ATTENDED, S.NO_SHOW) else NOW
    with pytest.raises(InvalidTransition):
        appointment_transition(appointment=request, to_status=to_status, actor=DESK, now=when)
    request.refresh_from_db()
    assert request.status == S.REQUESTED
    assert len(_events(request)) == 1


def test_staff_cannot_cancel_a_request_they_decline_it(desk: Desk) -> None:
    request = desk.book()
    with pytest.raises(InvalidTransition):
        appointment_transition(
            appointment=request,
            to_status=S.CANCELLED,
            actor=DESK,
            cancelled_by=CancelledBy.STAFF,
            now=NOW,
        )
    request.refresh_from_db()
    assert request.status == S.REQUESTED


def test_a_request_cannot_be_checked_in_or_moved(desk: Desk) -> None:
    request = desk.book()
    with pytest.raises(InvalidTransition):
        appointment_check_in(appointment=request, actor=DESK, now=START)
    with pytest.raises(InvalidTransition):
        appointment_reschedule(
            appointment=request, start=START + timedelta(hours=1), actor=DESK, now=NOW
        )


def test_the_client_may_withdraw_their_request_and_it_costs_nothing(desk: Desk) -> None:
    _deposit_policy(desk.business)
    request = desk.book()
    withdrawn = appointment_cancel(
        appointment=request, actor=CLIENT, now=START - timedelta(hours=1)
    )
    assert (withdrawn.status, withdrawn.cancelled_by) == (S.CANCELLED, CancelledBy.CLIENT)
    assert _events(withdrawn)[-1] == (EventKind.STATUS, S.REQUESTED, S.CANCELLED)
    assert not PolicyDecision.objects.filter(appointment=withdrawn).exists()
    assert not LedgerEntry.objects.filter(appointment=withdrawn).exists()


# --- Who is new ----------------------------------------------------------------------------


def test_only_clients_with_a_real_booking_are_known(desk: Desk) -> None:
    newcomer = ClientFactory(tenant=desk.business)
    assert not client_is_known(tenant=desk.business, client=newcomer)
    assert approval_required(tenant=desk.business, client=newcomer)
    # A request, even declined, does not make a client known.
    appointment_decline(appointment=desk.book(client=newcomer), actor=DESK, now=NOW)
    desk.book(client=newcomer, start=START + timedelta(hours=1))
    assert approval_required(tenant=desk.business, client=newcomer)
    regular = ClientFactory(tenant=desk.business)
    desk.book(client=regular, start=START + timedelta(hours=2), request=False)
    assert not approval_required(tenant=desk.business, client=regular)


def test_no_approval_is_required_where_the_business_does_not_ask_for_it(desk: Desk) -> None:
    desk.business.approve_new_clients = False
    assert not approval_required(tenant=desk.business, client=ClientFactory(tenant=desk.business))


# --- Webhooks ------------------------------------------------------------------------------


def test_a_requests_events_are_its_own_webhook_events() -> None:
    assert event_for(EventKind.CREATED, S.REQUESTED) == WebhookEvent.APPOINTMENT_REQUESTED
    assert event_for(EventKind.CREATED, S.SCHEDULED) == WebhookEvent.APPOINTMENT_CREATED
    assert event_for(EventKind.ACCEPTED, S.SCHEDULED) == WebhookEvent.APPOINTMENT_ACCEPTED
    assert event_for(EventKind.DECLINED, S.CANCELLED) == WebhookEvent.APPOINTMENT_DECLINED
    assert event_for(EventKind.STATUS, S.CANCELLED) == WebhookEvent.APPOINTMENT_CANCELLED


def test_an_erased_clients_request_is_declined(desk: Desk) -> None:
    from clients.privacy import client_erase

    client = ClientFactory(tenant=desk.business)
    request = desk.book(client=client)
    with scope(tenant=desk.business):
        client_erase(client=client, actor=DESK, now=NOW)
    request.refresh_from_db()
    assert request.status == S.CANCELLED
    assert _events(request)[-1][0] == EventKind.DECLINED


def _deposit_policy(business: Business) -> None:
    policy_create(
        tenant=business,
        deposit_kind=DepositKind.FIXED,
        deposit_amount=Decimal("20.00"),
        deposit_deadline_hours=24,
        cancellation_window_hours=48,
        late_cancellation_consequence=Consequence.KEEP_DEPOSIT,
        credit_days=3,
    )


# --- Reports ---------------------------------------------------------------------------------


def test_reports_count_requests_only_once_accepted(desk: Desk) -> None:
    """A request waiting, declined or withdrawn was never booked: not an appointment, not a
    cancellation, no booked time. Accepted, it counts like any booking."""
    from reports.periods import Period
    from reports.selectors import report_build

    hour = timedelta(minutes=30)  # one after the other
    desk.book(start=START)  # still waiting
    appointment_decline(appointment=desk.book(start=START + hour), actor=DESK, now=NOW)
    appointment_cancel(appointment=desk.book(start=START + 2 * hour), actor=CLIENT, now=NOW)
    appointment_accept(appointment=desk.book(start=START + 3 * hour), actor=DESK, now=NOW)
    booked = desk.book(start=START + 4 * hour, request=False)
    appointment_cancel(appointment=booked, actor=CLIENT, now=NOW)  # a real cancellation
    report = report_build(
        tenant=desk.business, period=Period(date(2026, 6, 1), date(2026, 6, 7)), now=NOW
    )
    totals = report.totals
    assert (totals.appointments, totals.cancelled) == (2, 1)
    assert totals.booked_minutes == pytest.approx(30)  # the accepted request's half hour
