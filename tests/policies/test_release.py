"""Unpaid deposits: after the deadline the booking is released, the client told, the slot freed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled
from time_machine import TimeMachineFixture

from appointments.models import Appointment, AppointmentStatus, CancelledBy
from appointments.services import Actor, appointment_cancel
from policies.choices import Action, DepositKind, DepositStatus, EntryKind, Outcome
from policies.models import AppointmentTerms, LedgerEntry, Policy, PolicyDecision
from policies.services import (
    deposit_mark_paid,
    deposits_release_unpaid,
    policy_create,
    policy_terms_snapshot,
)
from policies.tasks import release_unpaid_deposits
from reminders.models import MessageKind, OutboundMessage
from tests.policies.conftest import NOW, Shop

pytestmark = pytest.mark.django_db

DUE = NOW + timedelta(hours=24)
SECOND = timedelta(seconds=1)


def _unpaid(shop: Shop, *, days: int = 0) -> Appointment:
    """A booking of `shop` made at NOW whose 20 € deposit is due 24 hours later."""
    with scope(tenant=shop.business):
        if not Policy.objects.filter(tenant=shop.business).exists():
            policy_create(
                tenant=shop.business,
                deposit_kind=DepositKind.FIXED,
                deposit_amount=Decimal("20.00"),
                deposit_deadline_hours=24,
            )
        appointment = shop.book(start=shop.next_slot(days))
        policy_terms_snapshot(appointment, now=NOW)
        return appointment


def _status(appointment: Appointment) -> str:
    with scopes_disabled():
        return Appointment.objects.get(pk=appointment.pk).status


def test_an_unpaid_booking_is_released_one_second_after_its_deadline(shop: Shop) -> None:
    appointment = _unpaid(shop)
    assert deposits_release_unpaid(now=DUE) == []  # exactly at the deadline: still in time
    assert _status(appointment) == AppointmentStatus.SCHEDULED

    assert deposits_release_unpaid(now=DUE + SECOND) == [appointment.pk]

    with scope(tenant=shop.business):
        cancelled = Appointment.objects.get(pk=appointment.pk)
        assert cancelled.status == AppointmentStatus.CANCELLED
        assert cancelled.cancelled_by == CancelledBy.SYSTEM
        assert cancelled.cancellation_reason == "The deposit was not paid in time."
        terms = AppointmentTerms.objects.get(pk=appointment.pk)
        assert (terms.outcome, terms.deposit_status) == (Outcome.RELEASED, DepositStatus.WITHDRAWN)
        assert list(
            LedgerEntry.objects.filter(appointment=appointment).values_list("kind", flat=True)
        ) == [EntryKind.DEPOSIT_REQUESTED, EntryKind.DEPOSIT_WITHDRAWN]
        decision = PolicyDecision.objects.get(appointment=appointment)
        assert decision.action == Action.RELEASE_UNPAID
        assert decision.message == (
            "Your booking was released because the deposit was not paid in time."
        )
        # The client is told, through the same cancellation notice as any cancellation.
        assert OutboundMessage.objects.filter(
            appointment=appointment, kind=MessageKind.CANCELLATION_NOTICE
        ).exists()
        # The slot is free again.
        shop.book(start=shop.next_slot(0), now=DUE + SECOND)


def test_releasing_twice_releases_once(shop: Shop) -> None:
    appointment = _unpaid(shop)
    assert deposits_release_unpaid(now=DUE + SECOND) == [appointment.pk]
    assert deposits_release_unpaid(now=DUE + timedelta(minutes=1)) == []
    with scope(tenant=shop.business):
        assert PolicyDecision.objects.filter(appointment=appointment).count() == 1


def test_a_paid_or_cancelled_booking_stays(shop: Shop) -> None:
    paid = _unpaid(shop)
    with scope(tenant=shop.business):
        deposit_mark_paid(appointment=paid, actor=Actor.system(), method="cash", now=DUE)
    cancelled = _unpaid(shop, days=1)
    with scope(tenant=shop.business):
        appointment_cancel(appointment=cancelled, actor=Actor.system(), now=NOW)
    assert deposits_release_unpaid(now=DUE + timedelta(hours=1)) == []
    assert _status(paid) == AppointmentStatus.SCHEDULED


def test_every_business_is_released_under_its_own_scope(shop: Shop, other_shop: Shop) -> None:
    ours, theirs = _unpaid(shop), _unpaid(other_shop)
    assert sorted(deposits_release_unpaid(now=DUE + SECOND)) == sorted([ours.pk, theirs.pk])
    assert _status(ours) == _status(theirs) == AppointmentStatus.CANCELLED


def test_the_beat_task_releases_what_is_due(shop: Shop, time_machine: TimeMachineFixture) -> None:
    appointment = _unpaid(shop)
    time_machine.move_to(DUE + SECOND, tick=False)
    assert release_unpaid_deposits() == 1
    assert release_unpaid_deposits() == 0
    assert _status(appointment) == AppointmentStatus.CANCELLED
