"""The appointment page's money: the deposit required, paid and still to pay, the fee owed,
payments recorded at the desk, an admin's exceptions, and the decisions in words."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.services import Actor, appointment_cancel, appointment_mark_no_show
from policies.choices import DepositStatus, EntryKind
from policies.models import AppointmentTerms, LedgerEntry
from policies.selectors import appointment_fee_outstanding, client_balance
from tenants.models import Role
from tests.appointments.test_dashboard import HTMX, NOW, Clinic, _page, at, clinic, desk
from tests.conftest import login_member
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db

__all__ = ["clinic", "desk"]  # fixtures shared with the dashboard's tests

D = Decimal


@pytest.fixture
def deposit_and_fees(clinic: Clinic) -> None:
    with scope(tenant=clinic.business):
        PolicyFactory(
            tenant=clinic.business,
            deposit_kind="fixed",
            deposit_amount=D("20.00"),
            cancellation_window_hours=48,
            late_cancellation_consequence="keep_deposit",
            no_show_consequence="fixed_fee",
            no_show_fee_amount=D("25.00"),
        )


def _url(appointment: Any, suffix: str = "") -> str:
    return f"/dashboard/appointments/{appointment.pk}/{suffix}"


def _entries(clinic: Clinic, appointment: Any) -> list[tuple[str, Decimal, str, str]]:
    with scope(tenant=clinic.business):
        return list(
            LedgerEntry.objects.filter(appointment=appointment)
            .order_by("id")
            .values_list("kind", "amount", "method", "reference")
        )


def test_the_page_shows_the_deposit_still_to_pay_and_records_its_payment(
    desk: DjangoClient, clinic: Clinic, deposit_and_fees: None
) -> None:
    appointment = clinic.book(at(16))
    with time_machine.travel(NOW, tick=False):
        page = _page(desk.get(_url(appointment)))
        assert "Deposit to pay" in page and "Record the deposit as paid" in page
        assert "€20.00 · Waiting for payment" in page
        # Bad input: a method the desk cannot take, "other" without saying what.
        for bad in ({"method": "credit"}, {"method": "other", "reference": " "}):
            response = desk.post(_url(appointment, "payments/"), {"payment_for": "deposit", **bad})
            assert response.status_code == 302
        assert _entries(clinic, appointment) == [(EntryKind.DEPOSIT_REQUESTED, D("20.00"), "", "")]
        response = desk.post(
            _url(appointment, "payments/"),
            {"payment_for": "deposit", "method": "card", "reference": "TPV 0042"},
            **HTMX,
        )
        assert response.status_code == 204
        event = json.loads(response["HX-Trigger"])["showMessage"]
        assert event == {"text": "Deposit of €20.00 recorded as paid.", "level": "ok"}
        page = _page(desk.get(_url(appointment)))
    assert _entries(clinic, appointment)[-1] == (
        EntryKind.DEPOSIT_PAID,
        D("20.00"),
        "card",
        "TPV 0042",
    )
    with scope(tenant=clinic.business):
        assert AppointmentTerms.objects.get(pk=appointment.pk).deposit_status == DepositStatus.PAID
    assert "Record the deposit as paid" not in page and "Deposit paid" in page
    assert "TPV 0042" in page  # the payment in the history, with its reference


def test_a_no_show_shows_the_fee_and_the_desk_records_a_part_then_the_rest(
    desk: DjangoClient, clinic: Clinic, deposit_and_fees: None
) -> None:
    appointment = clinic.book(at(9))
    with time_machine.travel(at(9, 20), tick=False):
        response = desk.post(_url(appointment, "no-show/"), follow=True)
        assert "Under the client&#x27;s terms: Fee €25.00." in _page(response)
        page = _page(desk.get(_url(appointment)))
        assert "Record a fee payment (€25.00 owed)" in page
        assert "No-show</strong> · fee €25.00" in page
        url = _url(appointment, "payments/")
        for amount, error in (
            ("lots", "Give the amount as a number, e.g. 12.50."),
            ("30", "At most €25.00 is outstanding."),
            ("-1", "Give an amount above zero."),
        ):
            response = desk.post(
                url, {"payment_for": "fee", "method": "cash", "amount": amount}, **HTMX
            )
            assert json.loads(response["HX-Trigger"])["showMessage"] == {
                "text": error,
                "level": "error",
            }
        desk.post(url, {"payment_for": "fee", "method": "cash", "amount": "10,50"})
        with scope(tenant=clinic.business):
            assert appointment_fee_outstanding(appointment=appointment) == D("14.50")
        desk.post(url, {"payment_for": "fee", "method": "transfer", "reference": "SEPA 9"})
        with scope(tenant=clinic.business):
            assert appointment_fee_outstanding(appointment=appointment) == 0
        page = _page(desk.get(_url(appointment)))
    assert "Record a fee payment" not in page
    assert "Fee paid" in page and "SEPA 9" in page


def test_only_admins_keep_a_kept_deposit_as_credit_and_only_with_a_reason(
    client: DjangoClient, clinic: Clinic, deposit_and_fees: None
) -> None:
    with scope(tenant=clinic.business):
        PolicyFactory._meta.model.objects.filter(tenant=clinic.business).update(
            no_show_consequence="keep_deposit", no_show_fee_amount=0
        )
    appointment = clinic.book(at(9))
    with time_machine.travel(at(9, 20), tick=False):
        login_member(client, clinic.business, Role.RECEPTIONIST)
        client.post(_url(appointment, "payments/"), {"payment_for": "deposit", "method": "cash"})
        with scope(tenant=clinic.business):
            appointment_mark_no_show(appointment=appointment, actor=Actor.system())
        url = _url(appointment, "keep-credit/")
        assert client.post(url, {"reason": "Flood at home"}).status_code == 403
        assert "Keep it as credit" not in _page(client.get(_url(appointment)))

        login_member(client, clinic.business, Role.ADMIN)
        assert "Keep it as credit" in _page(client.get(_url(appointment)))
        missing = client.post(url, {"reason": "  "}, **HTMX)
        assert json.loads(missing["HX-Trigger"])["showMessage"]["level"] == "error"
        client.post(url, {"reason": "Flood at home"})
        page = _page(client.get(_url(appointment)))
        client_page = _page(client.get(f"/dashboard/clients/{clinic.ana.pk}/"))
    # Thirty days from the exception (the terms gave no credit days of their own).
    assert "€20.00 usable for bookings made until 1 Jul 2026" in client_page
    with scope(tenant=clinic.business):
        balance = client_balance(tenant=clinic.business, client_id=clinic.ana.pk, now=at(9, 20))
    assert balance.credit == D("20.00")
    assert "Credit kept" in page and "Reason: Flood at home" in page
    assert "Keep it as credit" not in page


def test_a_late_cancellation_and_its_waiver_are_in_the_history_with_the_reason(
    client: DjangoClient, clinic: Clinic
) -> None:
    with scope(tenant=clinic.business):
        PolicyFactory(
            tenant=clinic.business,
            cancellation_window_hours=48,
            late_cancellation_consequence="fixed_fee",
            late_cancellation_fee_amount=D("15.00"),
        )
    appointment = clinic.book(at(16))
    with time_machine.travel(NOW, tick=False):
        login_member(client, clinic.business, Role.ADMIN)
        client.post(
            _url(appointment, "cancel/"),
            {
                "by": "client",
                "reason": "Called at 10",
                "waive": "on",
                "waive_reason": "Her child is in hospital",
            },
        )
        page = _page(client.get(_url(appointment)))
    with scope(tenant=clinic.business):
        assert appointment_fee_outstanding(appointment=appointment) == 0
    assert "Cancelled by the client</strong> · fee €15.00" in page
    assert "Client told: “Cancelling now costs a €15.00 late-cancellation fee.”" in page
    assert "Fee waived" in page and "Her child is in hospital" in page


def test_a_business_without_policies_sees_no_money_forms(
    desk: DjangoClient, clinic: Clinic
) -> None:
    appointment = clinic.book(at(16))
    with scope(tenant=clinic.business):
        appointment_cancel(appointment=appointment, actor=Actor.client("online"), now=NOW)
    with time_machine.travel(NOW, tick=False):
        page = _page(desk.get(_url(appointment)))
    assert "Record the deposit" not in page and "Record a fee payment" not in page
    assert "Decisions" not in page
    response = desk.post(_url(appointment, "payments/"), {"payment_for": "fee", "method": "cash"})
    assert response.status_code == 302  # told there is nothing to pay; nothing written
    assert _entries(clinic, appointment) == []
