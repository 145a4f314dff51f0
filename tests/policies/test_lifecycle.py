"""The policies wired into the appointments' lifecycle: booking stores the terms in force,
cancelling, no-shows and visits are decided and recorded under them, moves are checked
against them and counted. Every path goes through the appointment services, as every
channel does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from appointments.errors import InvalidTransition
from appointments.models import Appointment, AppointmentEvent, AppointmentStatus, EventKind
from appointments.services import (
    Actor,
    appointment_cancel,
    appointment_correct,
    appointment_mark_attended,
    appointment_mark_no_show,
    appointment_reschedule,
)
from policies.choices import (
    Action,
    Consequence,
    DepositOutcome,
    DepositStatus,
    EntryKind,
    Outcome,
    PaymentMethod,
)
from policies.models import AppointmentTerms, LedgerEntry, PolicyDecision
from policies.selectors import appointment_fee_outstanding, client_balance
from policies.services import deposit_mark_paid, policy_update
from policies.services.decisions import deposits_release_unpaid
from tests.factories import ClientFactory
from tests.policies.conftest import MONDAY_10, NOW, Shop
from tests.policies.test_services import deposit_policy

pytestmark = pytest.mark.django_db

D = Decimal
CLIENT = Actor.client("online")
DESK = Actor.api_key("front desk")


def decisions(appointment: Appointment) -> list[tuple[str, Decimal]]:
    return [
        (d.action, d.fee)
        for d in PolicyDecision.objects.filter(appointment=appointment).order_by("at", "id")
    ]


def kinds(appointment: Appointment) -> list[str]:
    return list(
        LedgerEntry.objects.filter(appointment=appointment)
        .order_by("id")
        .values_list("kind", flat=True)
    )


# --- Booking ---------------------------------------------------------------------------------


def test_booking_stores_the_terms_in_force_and_asks_for_the_deposit(shop: Shop) -> None:
    deposit_policy(shop)
    appointment = shop.book()
    terms = AppointmentTerms.objects.get(pk=appointment.pk)
    assert (terms.deposit_required, terms.deposit_status) == (D("20.00"), DepositStatus.PENDING)
    assert terms.deposit_due_at == NOW + timedelta(hours=24)
    assert terms.terms["cancellation_window_hours"] == 48
    assert kinds(appointment) == [EntryKind.DEPOSIT_REQUESTED]


def test_booking_without_a_policy_stores_nothing_and_reads_nothing_more(
    shop: Shop, django_assert_num_queries: Any
) -> None:
    shop.book()  # warm: the first booking of a business reads what later ones find cached
    with django_assert_num_queries(_booking_queries(shop, 1)) as captured:
        appointment = shop.book(start=shop.next_slot(1))
    assert not AppointmentTerms.objects.filter(pk=appointment.pk).exists()
    sql = " ".join(q["sql"] for q in captured)
    assert "policies_appointmentterms" not in sql
    # The booking's own savepoint (inside the test's transaction) and its release only.
    assert sql.upper().count("SAVEPOINT") == 2
    # The policy and the client's credit were read by the booking's one validation query.
    assert sum("policies_policy" in q["sql"] for q in captured) == 1


def _booking_queries(shop: Shop, days: int) -> int:
    """The statements of a booking without a policy (measured, then asserted by the callers)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        appointment = shop.book(start=shop.next_slot(days + 10))
    Appointment.objects.filter(pk=appointment.pk).delete()
    return len(captured)


def test_a_policy_costs_a_booking_its_read_and_one_insert_a_deposit_one_more(
    shop: Shop, django_assert_num_queries: Any
) -> None:
    shop.book()
    base = _booking_queries(shop, 1)
    policy = deposit_policy(shop, deposit_kind="none", deposit_amount=D("0"))
    # The policy row, the terms row; no savepoint, no second look for the policy.
    with django_assert_num_queries(base + 2):
        shop.book(start=shop.next_slot(2))
    policy_update(policy=policy, deposit_kind="fixed", deposit_amount=D("20.00"))
    # And the deposit's request in the client's ledger.
    with django_assert_num_queries(base + 3):
        shop.book(start=shop.next_slot(3))


def test_a_policy_changed_later_does_not_change_a_booking_already_made(shop: Shop) -> None:
    policy = deposit_policy(
        shop,
        deposit_kind="none",
        deposit_amount=D("0"),
        late_cancellation_consequence=Consequence.FIXED_FEE,
        late_cancellation_fee_amount=D("10.00"),
    )
    before = shop.book()
    policy_update(policy=policy, late_cancellation_fee_amount=D("30.00"))
    after = shop.book(start=shop.next_slot(1))
    for appointment in (before, after):
        appointment_cancel(
            appointment=appointment, actor=CLIENT, now=appointment.start - timedelta(hours=2)
        )
    assert decisions(before) == [(Action.CANCEL_BY_CLIENT, D("10.00"))]
    assert decisions(after) == [(Action.CANCEL_BY_CLIENT, D("30.00"))]


def test_a_service_s_own_policy_wins_at_booking(shop: Shop) -> None:
    deposit_policy(shop)  # the business's default: 20 €
    deposit_policy(shop, service=shop.service, deposit_amount=D("5.00"))
    appointment = shop.book()
    assert AppointmentTerms.objects.get(pk=appointment.pk).deposit_required == D("5.00")


def test_booking_again_in_time_uses_the_credit_even_where_no_policy_asks_for_a_deposit(
    shop: Shop,
) -> None:
    policy = deposit_policy(shop)
    first = shop.book()
    deposit_mark_paid(appointment=first, actor=DESK, method=PaymentMethod.CASH, now=NOW)
    late = MONDAY_10 - timedelta(hours=2)
    appointment_cancel(appointment=first, actor=CLIENT, now=late)
    assert client_balance(tenant=shop.business, client_id=shop.client.pk, now=late).credit == 20
    policy.delete()  # the business stops asking for deposits; the credit stays the client's
    again = shop.book(start=shop.next_slot(1), now=late)
    terms = AppointmentTerms.objects.get(pk=again.pk)
    assert (terms.deposit_paid, terms.policy_id) == (D("20.00"), None)
    assert client_balance(tenant=shop.business, client_id=shop.client.pk, now=late).credit == 0


# --- Cancel, no-show, attended ---------------------------------------------------------------


def test_a_client_s_late_cancellation_keeps_the_deposit_as_credit(shop: Shop) -> None:
    deposit_policy(shop)
    appointment = shop.book()
    deposit_mark_paid(appointment=appointment, actor=DESK, method=PaymentMethod.CASH, now=NOW)
    cancelled = appointment_cancel(
        appointment=appointment, actor=CLIENT, reason="Flu", now=MONDAY_10 - timedelta(hours=47)
    )
    assert cancelled.status == AppointmentStatus.CANCELLED
    [record] = PolicyDecision.objects.filter(appointment=appointment)
    assert (record.action, record.late, record.deposit_outcome, record.note) == (
        Action.CANCEL_BY_CLIENT,
        True,
        DepositOutcome.CREDIT,
        "Flu",
    )
    assert record.message.startswith("Cancelling now keeps your €20.00 deposit")
    terms = AppointmentTerms.objects.get(pk=appointment.pk)
    assert (terms.outcome, terms.deposit_status) == (Outcome.CANCELLED_LATE, DepositStatus.CREDITED)
    # The history: the status change, then the decision, as a note about the policy.
    events = list(AppointmentEvent.objects.filter(appointment=appointment).order_by("at", "id"))
    assert [e.kind for e in events][-2:] == [EventKind.STATUS, EventKind.NOTE]
    assert events[-1].data["policy"]["action"] == Action.CANCEL_BY_CLIENT


def test_a_cancellation_in_time_refunds_and_one_by_staff_never_charges(shop: Shop) -> None:
    deposit_policy(
        shop,
        late_cancellation_consequence=Consequence.FIXED_FEE,
        late_cancellation_fee_amount=D("15.00"),
    )
    in_time, by_staff = shop.book(), shop.book(start=shop.next_slot(1))
    for appointment in (in_time, by_staff):
        deposit_mark_paid(appointment=appointment, actor=DESK, method=PaymentMethod.CARD, now=NOW)
    appointment_cancel(appointment=in_time, actor=CLIENT, now=MONDAY_10 - timedelta(hours=48))
    appointment_cancel(appointment=by_staff, actor=DESK, now=by_staff.start - timedelta(hours=1))
    assert decisions(in_time) == [(Action.CANCEL_BY_CLIENT, 0)]
    assert decisions(by_staff) == [(Action.CANCEL_BY_STAFF, 0)]
    for appointment in (in_time, by_staff):
        assert kinds(appointment)[-1] == EntryKind.REFUNDED
        assert appointment_fee_outstanding(appointment=appointment) == 0


def test_a_no_show_charges_its_fee_and_a_visit_counts_the_deposit(shop: Shop) -> None:
    deposit_policy(
        shop,
        deposit_kind="none",
        deposit_amount=D("0"),
        no_show_consequence=Consequence.PERCENT_FEE,
        no_show_fee_percent=D("50"),
    )
    missed = shop.book()
    appointment_mark_no_show(appointment=missed, actor=DESK, now=MONDAY_10 + timedelta(minutes=20))
    assert decisions(missed) == [(Action.NO_SHOW, D("20.00"))]
    assert appointment_fee_outstanding(appointment=missed) == D("20.00")
    assert AppointmentTerms.objects.get(pk=missed.pk).outcome == Outcome.NO_SHOW

    policy_update(policy=_default(shop), deposit_kind="fixed", deposit_amount=D("10.00"))
    visit = shop.book(start=shop.next_slot(1))
    deposit_mark_paid(appointment=visit, actor=DESK, method=PaymentMethod.CASH, now=NOW)
    appointment_mark_attended(appointment=visit, actor=DESK, now=visit.start)
    assert decisions(visit) == [(Action.ATTEND, 0)]
    terms = AppointmentTerms.objects.get(pk=visit.pk)
    assert (terms.outcome, terms.deposit_status) == (Outcome.ATTENDED, DepositStatus.APPLIED)
    assert kinds(visit)[-1] == EntryKind.DEPOSIT_APPLIED


def _default(shop: Shop) -> Any:
    from policies.models import Policy

    return Policy.objects.get(tenant=shop.business, service__isnull=True)


def test_without_a_policy_an_outcome_is_kept_but_no_decision_fills_the_history(
    shop: Shop,
) -> None:
    appointment = shop.book()
    appointment_cancel(appointment=appointment, actor=CLIENT, now=MONDAY_10 - timedelta(days=3))
    assert AppointmentTerms.objects.get(pk=appointment.pk).outcome == Outcome.CANCELLED_ON_TIME
    assert decisions(appointment) == []
    assert list(
        AppointmentEvent.objects.filter(appointment=appointment).values_list("kind", flat=True)
    ) == [EventKind.CREATED, EventKind.STATUS]


def test_a_release_of_an_unpaid_booking_is_decided_once(shop: Shop) -> None:
    deposit_policy(shop)
    appointment = shop.book()
    released = deposits_release_unpaid(now=NOW + timedelta(hours=25))
    assert released == [appointment.pk]
    assert decisions(appointment) == [(Action.RELEASE_UNPAID, 0)]
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED


# --- Moves -----------------------------------------------------------------------------------


def test_a_client_moves_as_often_as_the_terms_allow_then_is_told_why_not(shop: Shop) -> None:
    deposit_policy(shop, reschedule_max=1)
    appointment = shop.book()
    moved = appointment_reschedule(
        appointment=appointment, start=shop.next_slot(1), actor=CLIENT, now=NOW
    )
    assert AppointmentTerms.objects.get(pk=appointment.pk).client_reschedules == 1
    assert decisions(appointment) == [(Action.RESCHEDULE_BY_CLIENT, 0)]
    with pytest.raises(InvalidTransition, match="moved as many times as allowed"):
        appointment_reschedule(appointment=moved, start=shop.next_slot(2), actor=CLIENT, now=NOW)
    assert Appointment.objects.get(pk=appointment.pk).start == shop.next_slot(1)
    assert AppointmentTerms.objects.get(pk=appointment.pk).client_reschedules == 1
    # The business may still move it; that is not the client's move.
    appointment_reschedule(appointment=moved, start=shop.next_slot(2), actor=DESK, now=NOW)
    terms = AppointmentTerms.objects.get(pk=appointment.pk)
    assert terms.client_reschedules == 1
    assert decisions(appointment)[-1] == (Action.RESCHEDULE_BY_STAFF, 0)


def test_too_close_to_the_start_a_client_cannot_move_it_even_to_a_later_day(shop: Shop) -> None:
    deposit_policy(shop, reschedule_until_hours=24)
    appointment = shop.book()
    with pytest.raises(InvalidTransition, match="until 24 hours before the start"):
        appointment_reschedule(
            appointment=appointment,
            start=shop.next_slot(3),
            actor=CLIENT,
            now=MONDAY_10 - timedelta(hours=23),
        )
    assert Appointment.objects.get(pk=appointment.pk).start == MONDAY_10
    # Exactly 24 hours before is still in time; the new start being soon does not matter.
    appointment_reschedule(
        appointment=appointment,
        start=shop.next_slot(3),
        actor=CLIENT,
        now=MONDAY_10 - timedelta(hours=24),
    )


def test_moving_earlier_keeps_an_unpaid_deposit_due_before_the_new_start(shop: Shop) -> None:
    deposit_policy(shop, deposit_deadline_hours=24 * 5)
    appointment = shop.book(start=shop.next_slot(7))
    earlier = MONDAY_10  # 4 days after booking: the 5-day deadline would fall after it
    appointment_reschedule(appointment=appointment, start=earlier, actor=DESK, now=NOW)
    assert AppointmentTerms.objects.get(pk=appointment.pk).deposit_due_at == earlier


def test_a_move_without_terms_records_nothing(shop: Shop) -> None:
    appointment = shop.book()
    appointment_reschedule(appointment=appointment, start=shop.next_slot(1), actor=CLIENT, now=NOW)
    assert not AppointmentTerms.objects.filter(pk=appointment.pk).exists()
    assert decisions(appointment) == []


def test_a_second_client_s_booking_is_not_touched_by_another_s_decisions(shop: Shop) -> None:
    deposit_policy(
        shop,
        deposit_kind="none",
        deposit_amount=D("0"),
        no_show_consequence=Consequence.FIXED_FEE,
        no_show_fee_amount=D("25.00"),
    )
    other = ClientFactory(tenant=shop.business)
    mine, theirs = shop.book(), shop.book(start=shop.next_slot(1), client=other)
    appointment_mark_no_show(appointment=mine, actor=DESK, now=MONDAY_10 + timedelta(hours=1))
    assert appointment_fee_outstanding(appointment=theirs) == 0
    assert client_balance(tenant=shop.business, client_id=other.pk, now=NOW).fees_owed == 0


# --- Corrections and deletions -----------------------------------------------------------------


def test_a_no_show_corrected_to_attended_takes_the_unpaid_fee_back_in_the_ledger(
    shop: Shop,
) -> None:
    deposit_policy(
        shop,
        deposit_kind="none",
        deposit_amount=D("0"),
        no_show_consequence=Consequence.FIXED_FEE,
        no_show_fee_amount=D("25.00"),
    )
    appointment = shop.book()
    appointment_mark_no_show(appointment=appointment, actor=DESK, now=MONDAY_10)
    assert appointment_fee_outstanding(appointment=appointment) == D("25.00")
    appointment_correct(
        appointment=appointment,
        to_status=AppointmentStatus.ATTENDED,
        actor=DESK,
        reason="She was in the waiting room",
        now=MONDAY_10 + timedelta(hours=1),
    )
    assert appointment_fee_outstanding(appointment=appointment) == 0
    # Nothing deleted: the charge stays, and a waiver that says why takes it back.
    assert kinds(appointment) == [EntryKind.FEE_CHARGED, EntryKind.FEE_WAIVED]
    waiver = LedgerEntry.objects.get(appointment=appointment, kind=EntryKind.FEE_WAIVED)
    assert waiver.reason == "No-show corrected to attended: She was in the waiting room"
    assert decisions(appointment) == [(Action.NO_SHOW, D("25.00")), (Action.WAIVE_FEE, 0)]
    assert AppointmentTerms.objects.get(pk=appointment.pk).outcome == Outcome.ATTENDED
    assert client_balance(tenant=shop.business, client_id=shop.client.pk, now=NOW).fees_owed == 0


def test_a_correction_without_a_fee_only_records_the_visit(shop: Shop) -> None:
    appointment = shop.book()
    appointment_mark_no_show(appointment=appointment, actor=DESK, now=MONDAY_10)
    appointment_correct(
        appointment=appointment,
        to_status=AppointmentStatus.ATTENDED,
        actor=DESK,
        reason="Came late",
        now=MONDAY_10 + timedelta(hours=1),
    )
    assert kinds(appointment) == [] and decisions(appointment) == []
    assert AppointmentTerms.objects.get(pk=appointment.pk).outcome == Outcome.ATTENDED


def test_deleting_a_policy_keeps_the_terms_of_bookings_made_under_it(shop: Shop) -> None:
    from policies.services import policy_delete

    policy = deposit_policy(shop)
    before = shop.book()
    policy_delete(policy=policy)
    after = shop.book(start=shop.next_slot(1))
    kept = AppointmentTerms.objects.get(pk=before.pk)
    assert (kept.policy_id, kept.deposit_required) == (None, D("20.00"))
    assert kept.terms["deposit_amount"] == "20.00"
    assert not AppointmentTerms.objects.filter(pk=after.pk).exists()
