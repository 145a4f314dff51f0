"""Money is recorded once however requests race: real threads on real PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled

from appointments.models import Appointment, AppointmentStatus
from appointments.services import Actor
from policies.choices import Action, Consequence, DepositKind, EntryKind
from policies.errors import AlreadyDecided, NothingToDo
from policies.models import LedgerEntry, PolicyDecision
from policies.services import (
    decide_and_record,
    deposit_mark_paid,
    deposits_release_unpaid,
    policy_create,
    policy_terms_snapshot,
)
from tenants.models import Business
from tests.policies.conftest import MONDAY_10, NOW, Shop

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREAD_TIMEOUT = 60.0


def _race(tenant: Business, work: Callable[[int], Any], *, threads: int) -> list[Any]:
    """`work(i)` in `threads` threads released together; each one's result or exception."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(i: int) -> None:
        try:
            with scope(tenant=tenant):
                connection.ensure_connection()
                barrier.wait(timeout=THREAD_TIMEOUT)
                results[i] = work(i)
        except BaseException as exc:  # every outcome is the test's to judge
            results[i] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in pool), "a racing thread hung"
    return results


def _outcomes(results: list[Any]) -> Counter[str]:
    return Counter(type(r).__name__ for r in results)


def _unpaid(shop: Shop) -> Appointment:
    policy_create(
        tenant=shop.business,
        deposit_kind=DepositKind.FIXED,
        deposit_amount=Decimal("20.00"),
        deposit_deadline_hours=24,
        no_show_consequence=Consequence.FIXED_FEE,
        no_show_fee_amount=Decimal("30.00"),
    )
    appointment = shop.book()
    policy_terms_snapshot(appointment, now=NOW)
    return appointment


def test_racing_payments_of_one_deposit_record_it_once(shop: Shop) -> None:
    appointment = _unpaid(shop)
    results = _race(
        shop.business,
        lambda i: deposit_mark_paid(
            appointment=appointment, actor=Actor.system(), method="cash", reference=f"desk {i}"
        ),
        threads=8,
    )
    assert _outcomes(results) == Counter({"LedgerEntry": 1, "NothingToDo": 7}), results
    assert LedgerEntry.objects.filter(kind=EntryKind.DEPOSIT_PAID).count() == 1


def test_racing_no_shows_charge_once(shop: Shop) -> None:
    appointment = _unpaid(shop)
    results = _race(
        shop.business,
        lambda i: decide_and_record(
            appointment=appointment, action=Action.NO_SHOW, actor=Actor.system(), now=MONDAY_10
        ),
        threads=8,
    )
    assert sum(isinstance(r, AlreadyDecided) for r in results) == 7, results
    assert LedgerEntry.objects.filter(kind=EntryKind.FEE_CHARGED).count() == 1
    assert PolicyDecision.objects.count() == 1


def test_a_payment_racing_the_release_either_pays_or_releases_never_both(shop: Shop) -> None:
    appointment = _unpaid(shop)
    past_due = NOW + timedelta(hours=24, seconds=1)

    def work(i: int) -> Any:
        if i == 0:
            return deposits_release_unpaid(now=past_due)
        return deposit_mark_paid(
            appointment=appointment, actor=Actor.system(), method="cash", now=past_due
        )

    results = _race(shop.business, work, threads=2)
    with scopes_disabled():
        status = Appointment.objects.get(pk=appointment.pk).status
        paid = LedgerEntry.objects.filter(kind=EntryKind.DEPOSIT_PAID).count()
    if status == AppointmentStatus.CANCELLED:
        assert results[0] == [appointment.pk] and isinstance(results[1], NothingToDo)
        assert paid == 0
    else:
        assert results[0] == [] and paid == 1


def test_a_client_s_cancel_racing_a_no_show_and_a_payment_settles_once(shop: Shop) -> None:
    """Through the appointment services, as the channels call them: the status change and
    its decision are one, so whichever wins, the other is refused and money moves once."""
    from appointments.errors import InvalidTransition
    from appointments.services import appointment_cancel, appointment_mark_no_show

    appointment = _unpaid(shop)
    deposit_mark_paid(appointment=appointment, actor=Actor.system(), method="cash", now=NOW)
    moment = MONDAY_10 + timedelta(minutes=5)

    def work(i: int) -> Any:
        if i % 3 == 0:
            return appointment_cancel(
                appointment=appointment, actor=Actor.client("sms"), now=moment
            )
        if i % 3 == 1:
            return appointment_mark_no_show(
                appointment=appointment, actor=Actor.api_key("desk"), now=moment
            )
        return deposit_mark_paid(
            appointment=appointment, actor=Actor.system(), method="cash", now=moment
        )

    results = _race(shop.business, work, threads=6)
    outcomes = _outcomes(results)
    assert outcomes["Appointment"] == 1, results  # one status change won
    assert outcomes["InvalidTransition"] == 3 and outcomes["NothingToDo"] == 2, results
    assert not [
        r
        for r in results
        if isinstance(r, Exception) and not isinstance(r, InvalidTransition | NothingToDo)
    ]
    with scopes_disabled():
        final = PolicyDecision.objects.filter(appointment=appointment)
        assert final.count() == 1
        assert LedgerEntry.objects.filter(kind=EntryKind.DEPOSIT_PAID).count() == 1
