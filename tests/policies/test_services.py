"""The policies' services on the real database: policies, the terms stored at booking, decisions
and the ledger they write, payments, staff's exceptions, and balances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from appointments.models import Appointment, AppointmentEvent, EventKind
from appointments.services import Actor, appointment_cancel
from policies.choices import (
    Action,
    Consequence,
    DepositAppliesTo,
    DepositKind,
    DepositStatus,
    EntryKind,
    Outcome,
    PaymentMethod,
)
from policies.errors import AlreadyDecided, NothingToDo
from policies.models import AppointmentTerms, LedgerEntry, Policy, PolicyDecision
from policies.selectors import balances_for, client_balance, effective_policy
from policies.services import (
    client_flag,
    credit_keep,
    decide_and_record,
    deposit_mark_paid,
    fee_mark_paid,
    fee_waive,
    policy_create,
    policy_decide,
    policy_terms_snapshot,
    policy_update,
)
from tests.factories import ClientFactory, ServiceFactory, UserFactory
from tests.policies.conftest import MONDAY_10, NOW, Shop

pytestmark = pytest.mark.django_db

D = Decimal
MADRID = ZoneInfo("Europe/Madrid")
STAFF = Actor.system()


def kinds(appointment: Appointment) -> list[tuple[str, Decimal]]:
    return [
        (e.kind, e.amount)
        for e in LedgerEntry.objects.filter(appointment=appointment).order_by("id")
    ]


def deposit_policy(shop: Shop, **overrides: Any) -> Policy:
    fields: dict[str, Any] = {
        "deposit_kind": DepositKind.FIXED,
        "deposit_amount": D("20.00"),
        "deposit_deadline_hours": 24,
        "cancellation_window_hours": 48,
        "late_cancellation_consequence": Consequence.KEEP_DEPOSIT,
        "credit_days": 3,
    }
    fields.update(overrides)
    return policy_create(tenant=shop.business, **fields)


def booked_and_paid(shop: Shop, start: datetime = MONDAY_10) -> Appointment:
    appointment = shop.book(start)
    policy_terms_snapshot(appointment, now=NOW)
    deposit_mark_paid(appointment=appointment, actor=STAFF, method=PaymentMethod.CASH, now=NOW)
    return appointment


# --- Policies -------------------------------------------------------------------------------


def test_a_service_policy_replaces_the_business_default(shop: Shop) -> None:
    default = deposit_policy(shop)
    assert effective_policy(tenant=shop.business, service=shop.service) == default
    own = policy_create(tenant=shop.business, service=shop.service)
    assert effective_policy(tenant=shop.business, service=shop.service) == own
    other = ServiceFactory(tenant=shop.business)
    assert effective_policy(tenant=shop.business, service=other) == default
    assert effective_policy(tenant=shop.business, service=None) == default


def test_switching_kinds_clears_the_values_the_new_kind_does_not_use(shop: Shop) -> None:
    policy = deposit_policy(
        shop,
        late_cancellation_consequence=Consequence.FIXED_FEE,
        late_cancellation_fee_amount=D("10"),
    )
    policy = policy_update(
        policy=policy,
        deposit_kind=DepositKind.PERCENT,
        deposit_percent=D("25"),
        late_cancellation_consequence=Consequence.NOTHING,
    )
    policy.refresh_from_db()
    assert (policy.deposit_amount, policy.deposit_percent) == (D("0"), D("25"))
    assert policy.late_cancellation_fee_amount == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"deposit_kind": DepositKind.FIXED, "deposit_amount": D("0")}, "deposit_amount"),
        ({"deposit_kind": DepositKind.FIXED, "deposit_amount": D("-5")}, "deposit_amount"),
        ({"deposit_kind": DepositKind.FIXED, "deposit_amount": D("10.005")}, "deposit_amount"),
        ({"deposit_kind": DepositKind.PERCENT, "deposit_percent": D("100.5")}, "deposit_percent"),
        (
            {"no_show_consequence": Consequence.FIXED_FEE, "no_show_fee_amount": D("-1")},
            "no_show_fee_amount",
        ),
        (
            {"late_cancellation_consequence": Consequence.PERCENT_FEE},
            "late_cancellation_fee_percent",
        ),
        ({"cancellation_window_hours": 30 * 24 + 1}, "cancellation_window_hours"),
        ({"reschedule_until_hours": 31 * 24}, "reschedule_until_hours"),
        ({"deposit_deadline_hours": 31 * 24}, "deposit_deadline_hours"),
        ({"reliability_threshold": 0}, "reliability_threshold"),
        ({"reliability_window_months": 61}, "reliability_window_months"),
        ({"credit_days": 400}, "credit_days"),
        ({"deposit_kind": "gold"}, "deposit_kind"),
    ],
)
def test_bad_policies_are_refused_with_a_field_error_and_nothing_saved(
    shop: Shop, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        policy_create(tenant=shop.business, **fields)
    assert field in refused.value.message_dict
    assert not Policy.objects.exists()


def test_the_window_fits_the_business_maximum_advance_exactly(shop: Shop) -> None:
    policy = policy_create(tenant=shop.business, cancellation_window_hours=30 * 24)
    assert policy.cancellation_window_hours == 720


def test_a_service_policy_never_asks_more_than_the_price(shop: Shop) -> None:
    with pytest.raises(ValidationError) as refused:
        policy_create(
            tenant=shop.business,
            service=shop.service,
            deposit_kind=DepositKind.FIXED,
            deposit_amount=D("40.01"),
            no_show_consequence=Consequence.FIXED_FEE,
            no_show_fee_amount=D("41"),
        )
    assert set(refused.value.message_dict) == {"deposit_amount", "no_show_fee_amount"}
    assert "€40.00" in refused.value.message_dict["deposit_amount"][0]


def test_a_service_with_its_own_maximum_advance_bounds_its_policy(shop: Shop) -> None:
    shop.service.max_advance_days = 1
    shop.service.save()
    with pytest.raises(ValidationError) as refused:
        policy_create(tenant=shop.business, service=shop.service, cancellation_window_hours=25)
    assert "24 hours" in refused.value.message_dict["cancellation_window_hours"][0]


def test_one_default_per_business_and_one_policy_per_service(shop: Shop) -> None:
    policy_create(tenant=shop.business)
    policy_create(tenant=shop.business, service=shop.service)
    for service in (None, shop.service):
        with pytest.raises(ValidationError) as refused:
            policy_create(tenant=shop.business, service=service)
        assert "service" in refused.value.message_dict
    assert Policy.objects.count() == 2


def test_amounts_follow_the_currency_exponent(shop: Shop) -> None:
    shop.business.currency = "JPY"
    shop.business.save()
    with pytest.raises(ValidationError) as refused:
        policy_create(tenant=shop.business, deposit_kind=DepositKind.FIXED, deposit_amount=D("5.5"))
    assert "JPY" in refused.value.message_dict["deposit_amount"][0]
    assert policy_create(
        tenant=shop.business, deposit_kind=DepositKind.FIXED, deposit_amount=D("500")
    ).deposit_amount == D("500")


@pytest.mark.parametrize(
    "fields",
    [
        {"deposit_amount": D("-1")},
        {"deposit_percent": D("101")},
        {"deposit_kind": DepositKind.FIXED, "deposit_amount": D("0")},
        {"deposit_kind": DepositKind.NONE, "deposit_amount": D("5")},
        {"no_show_consequence": Consequence.PERCENT_FEE, "no_show_fee_percent": D("0")},
        {"late_cancellation_fee_amount": D("-3")},
        {"cancellation_window_hours": 367 * 24},
        {"reliability_threshold": 0},
        {"reliability_window_months": 0},
    ],
)
def test_the_database_refuses_what_validation_would(shop: Shop, fields: dict[str, Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Policy.objects.create(tenant=shop.business, **fields)


def test_the_database_refuses_negative_money_in_the_ledger_and_terms(shop: Shop) -> None:
    appointment = shop.book()
    for amount in (D("0"), D("-1")):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(
                tenant=shop.business,
                client=shop.client,
                kind=EntryKind.FEE_CHARGED,
                amount=amount,
                currency="EUR",
                actor_type="system",
                channel="system",
            )
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentTerms.objects.create(
            tenant=shop.business,
            appointment=appointment,
            terms={},
            currency="EUR",
            deposit_paid=D("-1"),
        )


# --- The terms stored at booking ------------------------------------------------------------


def test_booking_stores_the_terms_and_asks_for_the_deposit(shop: Shop) -> None:
    deposit_policy(shop)
    appointment = shop.book()
    terms = policy_terms_snapshot(appointment, now=NOW)
    assert terms.deposit_required == D("20.00")
    assert terms.deposit_status == DepositStatus.PENDING
    assert terms.deposit_due_at == NOW + timedelta(hours=24)
    assert terms.deposit_reason == DepositAppliesTo.EVERYONE
    assert terms.terms["late_cancellation"]["kind"] == Consequence.KEEP_DEPOSIT
    assert kinds(appointment) == [(EntryKind.DEPOSIT_REQUESTED, D("20.00"))]
    # A second call changes nothing.
    assert policy_terms_snapshot(appointment, now=NOW + timedelta(hours=1)) == terms
    assert LedgerEntry.objects.count() == 1


def test_a_later_policy_change_never_changes_what_the_client_agreed_to(shop: Shop) -> None:
    policy = deposit_policy(shop)
    appointment = booked_and_paid(shop)
    policy_update(
        policy=policy,
        late_cancellation_consequence=Consequence.FIXED_FEE,
        late_cancellation_fee_amount=D("40"),
        cancellation_window_hours=200,
    )
    three_days_before = MONDAY_10 - timedelta(days=3)
    decision = policy_decide(
        appointment=appointment, action=Action.CANCEL_BY_CLIENT, now=three_days_before
    )
    assert not decision.late and decision.fee == 0 and decision.deposit_refunded == D("20.00")


def test_without_a_policy_nothing_is_asked_or_charged(shop: Shop) -> None:
    appointment = shop.book()
    terms = policy_terms_snapshot(appointment, now=NOW)
    assert terms.policy is None and terms.deposit_status == DepositStatus.NOT_REQUIRED
    decision = decide_and_record(
        appointment=appointment, action=Action.NO_SHOW, actor=STAFF, now=MONDAY_10
    )
    assert decision.fee == 0 and kinds(appointment) == []


def test_new_clients_pay_and_returning_ones_do_not(shop: Shop) -> None:
    deposit_policy(shop, deposit_applies_to=DepositAppliesTo.NEW_CLIENTS)
    first = shop.book(now=NOW - timedelta(days=20), start=MONDAY_10 - timedelta(days=14))
    assert policy_terms_snapshot(first, now=NOW - timedelta(days=20)).deposit_required == D("20.00")
    Appointment.objects.filter(pk=first.pk).update(status="attended")
    second = shop.book()
    assert policy_terms_snapshot(second, now=NOW).deposit_required == 0


def test_unreliable_and_flagged_clients_pay(shop: Shop) -> None:
    deposit_policy(
        shop,
        deposit_applies_to=DepositAppliesTo.UNRELIABLE,
        reliability_threshold=2,
        reliability_window_months=6,
    )
    for weeks in (3, 5):
        old = shop.book(start=MONDAY_10 - timedelta(weeks=weeks), now=NOW - timedelta(weeks=8))
        Appointment.objects.filter(pk=old.pk).update(status="no_show")
    unreliable = shop.book()
    assert policy_terms_snapshot(unreliable, now=NOW).deposit_reason == "unreliable"

    newcomer = ClientFactory(tenant=shop.business)
    assert (
        policy_terms_snapshot(
            shop.book(client=newcomer, start=shop.next_slot(1)), now=NOW
        ).deposit_required
        == 0
    )
    client_flag(client=newcomer, actor=STAFF, reason="Two unannounced absences elsewhere")
    flagged = policy_terms_snapshot(shop.book(client=newcomer, start=shop.next_slot(2)), now=NOW)
    assert flagged.deposit_reason == "flagged" and flagged.deposit_required == D("20.00")


def test_strikes_older_than_the_window_are_forgiven(shop: Shop) -> None:
    deposit_policy(
        shop, deposit_applies_to=DepositAppliesTo.UNRELIABLE, reliability_window_months=6
    )
    for days in (200, 210):
        old = shop.book(start=MONDAY_10 - timedelta(days=days), now=NOW - timedelta(days=220))
        Appointment.objects.filter(pk=old.pk).update(status="no_show")
    assert policy_terms_snapshot(shop.book(), now=NOW).deposit_required == 0


# --- Decisions and the ledger ---------------------------------------------------------------


def test_a_late_cancellation_keeps_the_deposit_as_credit_and_says_so(shop: Shop) -> None:
    deposit_policy(shop)
    appointment = booked_and_paid(shop)
    late = MONDAY_10 - timedelta(hours=47)
    appointment_cancel(appointment=appointment, actor=Actor.client("online"), now=late)
    decision = PolicyDecision.objects.get(appointment=appointment)
    assert decision.action == Action.CANCEL_BY_CLIENT and decision.late
    assert decision.message == (
        "Cancelling now keeps your €20.00 deposit; book again before March 13 to use it as credit."
    )
    assert kinds(appointment)[-2:] == [
        (EntryKind.KEPT, D("20.00")),
        (EntryKind.CREDIT_ISSUED, D("20.00")),
    ]
    terms = AppointmentTerms.objects.get(pk=appointment.pk)
    assert (terms.outcome, terms.deposit_status) == (Outcome.CANCELLED_LATE, DepositStatus.CREDITED)
    record = PolicyDecision.objects.get(appointment=appointment)
    assert record.credit_expires_at == datetime(2026, 3, 13, 0, 0, tzinfo=MADRID)
    event = AppointmentEvent.objects.filter(appointment=appointment, kind=EventKind.NOTE).last()
    assert event is not None and event.data["policy"]["decision"] == record.pk
    balance = client_balance(tenant=shop.business, client_id=shop.client.pk, now=late)
    assert (balance.deposits_held, balance.fees_owed, balance.credit) == (0, 0, D("20.00"))
    # Once the credit expires it is no longer there to use.
    after = client_balance(
        tenant=shop.business, client_id=shop.client.pk, now=record.credit_expires_at
    )
    assert after.credit == 0


def test_booking_again_in_time_uses_the_credit_as_the_new_deposit(shop: Shop) -> None:
    deposit_policy(shop)
    original = booked_and_paid(shop)
    late = MONDAY_10 - timedelta(hours=2)
    decide_and_record(appointment=original, action=Action.CANCEL_BY_CLIENT, actor=STAFF, now=late)
    again = shop.book(start=shop.next_slot(2), now=late)
    terms = policy_terms_snapshot(again, now=late)
    assert terms.deposit_paid == D("20.00") and terms.deposit_status == DepositStatus.PAID
    assert kinds(again) == [
        (EntryKind.DEPOSIT_REQUESTED, D("20.00")),
        (EntryKind.CREDIT_USED, D("20.00")),
        (EntryKind.DEPOSIT_PAID, D("20.00")),
    ]
    assert PolicyDecision.objects.get(appointment=again).action == Action.REBOOK
    balance = client_balance(tenant=shop.business, client_id=shop.client.pk, now=late)
    assert (balance.deposits_held, balance.credit) == (D("20.00"), 0)


def test_booking_again_too_late_finds_no_credit(shop: Shop) -> None:
    deposit_policy(shop)
    original = booked_and_paid(shop)
    decide_and_record(
        appointment=original,
        action=Action.CANCEL_BY_CLIENT,
        actor=STAFF,
        now=MONDAY_10 - timedelta(hours=2),
    )
    too_late = datetime(2026, 3, 13, 0, 0, tzinfo=MADRID)
    again = shop.book(start=shop.next_slot(7), now=too_late)
    terms = policy_terms_snapshot(again, now=too_late)
    assert terms.deposit_paid == 0 and terms.deposit_status == DepositStatus.PENDING


def test_a_late_fee_is_taken_from_the_deposit_and_the_rest_refunded(shop: Shop) -> None:
    deposit_policy(
        shop,
        late_cancellation_consequence=Consequence.FIXED_FEE,
        late_cancellation_fee_amount=D("15.00"),
    )
    appointment = booked_and_paid(shop)
    decide_and_record(
        appointment=appointment, action=Action.CANCEL_BY_CLIENT, actor=STAFF, now=MONDAY_10
    )
    assert kinds(appointment)[2:] == [
        (EntryKind.FEE_CHARGED, D("15.00")),
        (EntryKind.KEPT, D("15.00")),
        (EntryKind.FEE_PAID, D("15.00")),
        (EntryKind.REFUNDED, D("5.00")),
    ]
    balance = client_balance(tenant=shop.business, client_id=shop.client.pk, now=MONDAY_10)
    assert (balance.deposits_held, balance.fees_owed, balance.credit) == (0, 0, 0)


def test_a_staff_cancellation_refunds_everything(shop: Shop) -> None:
    deposit_policy(
        shop,
        late_cancellation_consequence=Consequence.FIXED_FEE,
        late_cancellation_fee_amount=D("40"),
    )
    appointment = booked_and_paid(shop)
    decision = decide_and_record(
        appointment=appointment, action=Action.CANCEL_BY_STAFF, actor=STAFF, now=MONDAY_10
    )
    assert decision.fee == 0
    assert kinds(appointment)[-1] == (EntryKind.REFUNDED, D("20.00"))
    assert AppointmentTerms.objects.get(pk=appointment.pk).outcome == Outcome.CANCELLED_BY_STAFF


def test_a_final_decision_is_taken_once(shop: Shop) -> None:
    deposit_policy(shop)
    appointment = booked_and_paid(shop)
    decide_and_record(appointment=appointment, action=Action.NO_SHOW, actor=STAFF, now=MONDAY_10)
    before = LedgerEntry.objects.count()
    with pytest.raises(AlreadyDecided):
        decide_and_record(
            appointment=appointment, action=Action.CANCEL_BY_CLIENT, actor=STAFF, now=MONDAY_10
        )
    assert LedgerEntry.objects.count() == before


def test_a_refused_move_writes_nothing_and_an_allowed_one_is_counted(shop: Shop) -> None:
    deposit_policy(shop, reschedule_max=1, reschedule_until_hours=24)
    appointment = booked_and_paid(shop)
    moved = decide_and_record(
        appointment=appointment, action=Action.RESCHEDULE_BY_CLIENT, actor=STAFF, now=NOW
    )
    assert moved.allowed
    assert AppointmentTerms.objects.get(pk=appointment.pk).client_reschedules == 1
    decisions = PolicyDecision.objects.count()
    refused = decide_and_record(
        appointment=appointment, action=Action.RESCHEDULE_BY_CLIENT, actor=STAFF, now=NOW
    )
    assert not refused.allowed and PolicyDecision.objects.count() == decisions


def test_an_appointment_booked_before_any_terms_gets_neutral_ones(shop: Shop) -> None:
    deposit_policy(shop, no_show_consequence=Consequence.FIXED_FEE, no_show_fee_amount=D("30"))
    appointment = shop.book()
    AppointmentTerms.objects.filter(pk=appointment.pk).delete()  # as booked before this feature
    decision = decide_and_record(
        appointment=appointment, action=Action.NO_SHOW, actor=STAFF, now=MONDAY_10
    )
    assert decision.fee == 0
    assert AppointmentTerms.objects.get(pk=appointment.pk).outcome == Outcome.NO_SHOW


def test_only_the_engines_actions_are_recorded(shop: Shop) -> None:
    with pytest.raises(ValueError, match="does not apply"):
        decide_and_record(appointment=shop.book(), action=Action.WAIVE_FEE, actor=STAFF)


# --- Payments and exceptions ----------------------------------------------------------------


def test_staff_record_a_deposit_payment_with_method_and_reference(shop: Shop) -> None:
    deposit_policy(shop)
    appointment = shop.book()
    policy_terms_snapshot(appointment, now=NOW)
    user = UserFactory()
    entry = deposit_mark_paid(
        appointment=appointment,
        actor=Actor.staff(user),
        method=PaymentMethod.CARD,
        reference=" TPV-0042 ",
        now=NOW,
    )
    assert (entry.kind, entry.amount, entry.provider, entry.method, entry.reference) == (
        EntryKind.DEPOSIT_PAID,
        D("20.00"),
        "staff",
        "card",
        "TPV-0042",
    )
    assert entry.actor_user == user
    assert AppointmentTerms.objects.get(pk=appointment.pk).deposit_status == DepositStatus.PAID
    with pytest.raises(NothingToDo):
        deposit_mark_paid(appointment=appointment, actor=STAFF, method=PaymentMethod.CASH)


@pytest.mark.parametrize(
    ("method", "reference", "field"),
    [("deposit", "", "method"), ("bitcoin", "", "method"), ("other", "  ", "reference")],
)
def test_a_payment_says_how_it_was_made(
    shop: Shop, method: str, reference: str, field: str
) -> None:
    deposit_policy(shop)
    appointment = shop.book()
    policy_terms_snapshot(appointment, now=NOW)
    with pytest.raises(ValidationError) as refused:
        deposit_mark_paid(appointment=appointment, actor=STAFF, method=method, reference=reference)
    assert field in refused.value.message_dict
    assert AppointmentTerms.objects.get(pk=appointment.pk).deposit_paid == 0


def _no_show_with_fee(shop: Shop, fee: str = "30.00") -> Appointment:
    policy_create(
        tenant=shop.business, no_show_consequence=Consequence.FIXED_FEE, no_show_fee_amount=D(fee)
    )
    appointment = shop.book()
    policy_terms_snapshot(appointment, now=NOW)
    decide_and_record(appointment=appointment, action=Action.NO_SHOW, actor=STAFF, now=MONDAY_10)
    return appointment


def test_a_fee_is_paid_in_parts_never_beyond_what_is_owed(shop: Shop) -> None:
    appointment = _no_show_with_fee(shop)
    fee_mark_paid(appointment=appointment, actor=STAFF, method="cash", amount=D("10"))
    with pytest.raises(ValidationError) as refused:
        fee_mark_paid(appointment=appointment, actor=STAFF, method="cash", amount=D("20.01"))
    assert "amount" in refused.value.message_dict
    fee_mark_paid(appointment=appointment, actor=STAFF, method="transfer", reference="SEPA 1")
    balance = client_balance(tenant=shop.business, client_id=shop.client.pk, now=MONDAY_10)
    assert balance.fees_owed == 0
    with pytest.raises(NothingToDo):
        fee_mark_paid(appointment=appointment, actor=STAFF, method="cash")


def test_waiving_a_fee_needs_a_reason_and_is_in_the_appointments_events(shop: Shop) -> None:
    appointment = _no_show_with_fee(shop)
    with pytest.raises(ValidationError) as refused:
        fee_waive(appointment=appointment, actor=STAFF, reason="  ")
    assert "reason" in refused.value.message_dict
    record = fee_waive(appointment=appointment, actor=STAFF, reason="Hospital emergency")
    assert (record.action, record.amount, record.note) == (
        Action.WAIVE_FEE,
        D("30.00"),
        "Hospital emergency",
    )
    assert record.message == "The €30.00 fee has been waived."
    assert kinds(appointment)[-1] == (EntryKind.FEE_WAIVED, D("30.00"))
    event = AppointmentEvent.objects.filter(appointment=appointment).last()
    assert event is not None and event.reason == "Hospital emergency"
    assert event.data["policy"]["what"] == "fee_waived"
    assert client_balance(tenant=shop.business, client_id=shop.client.pk, now=NOW).fees_owed == 0
    with pytest.raises(NothingToDo):
        fee_waive(appointment=appointment, actor=STAFF, reason="again")


def test_keeping_a_credit_turns_a_kept_deposit_into_credit_from_today(shop: Shop) -> None:
    deposit_policy(shop, no_show_consequence=Consequence.KEEP_DEPOSIT, credit_days=0)
    appointment = booked_and_paid(shop)
    with pytest.raises(NothingToDo):
        credit_keep(appointment=appointment, actor=STAFF, reason="Flooded street")
    decide_and_record(appointment=appointment, action=Action.NO_SHOW, actor=STAFF, now=MONDAY_10)
    later = MONDAY_10 + timedelta(days=1)
    record = credit_keep(
        appointment=appointment, actor=STAFF, reason="Flooded street", days=7, now=later
    )
    assert record.credit_expires_at == datetime(2026, 3, 18, 0, 0, tzinfo=MADRID)
    assert client_balance(tenant=shop.business, client_id=shop.client.pk, now=later).credit == D(
        "20.00"
    )
    with pytest.raises(NothingToDo):
        credit_keep(appointment=appointment, actor=STAFF, reason="twice")


def test_balances_of_many_clients_are_one_query(shop: Shop, django_assert_num_queries: Any) -> None:
    _no_show_with_fee(shop)
    others = [ClientFactory(tenant=shop.business).pk for _ in range(5)]
    with django_assert_num_queries(1):
        balances = balances_for(tenant=shop.business, client_ids=[shop.client.pk, *others], now=NOW)
    assert balances[shop.client.pk].fees_owed == D("30.00")
    assert all(balances[pk].fees_owed == 0 for pk in others)


def test_another_business_ledger_is_not_counted(shop: Shop, other_shop: Shop) -> None:
    _no_show_with_fee(shop)
    assert (
        client_balance(
            tenant=other_shop.business, client_id=shop.client.pk, now=datetime.now(UTC)
        ).fees_owed
        == 0
    )


def test_storing_the_terms_at_booking_costs_a_handful_of_queries(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    """It runs on every booking: the row check, the policy, the insert, the credits (and,
    with a deposit, its request), plus the savepoint around the writes."""
    appointment = shop.book()
    with django_assert_max_num_queries(6):
        policy_terms_snapshot(appointment, now=NOW)
    deposit_policy(shop)
    appointment = shop.book(start=shop.next_slot(1))
    with django_assert_max_num_queries(7):
        policy_terms_snapshot(appointment, now=NOW)
