"""Money at the front desk, in Chromium: a no-show charged its fee and the fee paid at the
desk; a late cancellation whose fee an admin waives with a reason; a policy changed by an
admin, which keeps what an existing booking agreed to and applies to the next booking.
Screenshots land in var/screenshots/."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Appointment, AppointmentStatus, Service, Source, StaffMember
from appointments.services import Actor, appointment_book
from policies.choices import EntryKind
from policies.models import AppointmentTerms, LedgerEntry
from policies.selectors import appointment_fee_outstanding
from tenants.models import Business, Location, Role, User
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard import _htmx_is_installed, _log_in, _midday_zone, _open_menu
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    MembershipFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
    staff_offering,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["_htmx_is_installed"]  # the dashboard's autouse check applies here too


@dataclass
class Desk:
    business: Business
    location: Location
    service: Service
    herrera: StaffMember
    receptionist: User
    admin: User
    base: datetime  # now, local, on a five-minute mark

    def book(self, name: str, start: datetime, *, booked: datetime | None = None) -> Appointment:
        with scope(tenant=self.business):
            return appointment_book(
                tenant=self.business,
                location=self.location,
                staff=self.herrera,
                service=self.service,
                client=ClientFactory(tenant=self.business, name=name),
                start=start.astimezone(UTC),
                source=Source.DASHBOARD,
                actor=Actor.system(),
                now=booked or start - timedelta(days=3),
            )

    def policy(self, **fields: Any) -> None:
        with scope(tenant=self.business):
            PolicyFactory(tenant=self.business, **fields)


@pytest.fixture
def desk(transactional_db: None) -> Desk:
    zone_name = _midday_zone()
    zone = zoneinfo.ZoneInfo(zone_name)
    business = BusinessFactory(
        name="Clínica Dental Sonrisa", timezone=zone_name, language="en", currency="EUR"
    )
    now = timezone.now().astimezone(zone)
    base = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    with scope(tenant=business):
        location = LocationFactory(tenant=business, name="Sonrisa Centro", timezone=zone_name)
        service = ServiceFactory(
            tenant=business, name="Limpieza dental", duration_minutes=30, price=Decimal("60")
        )
        herrera = staff_offering(
            tenant=business,
            location=location,
            services=[service],
            hours=((time(0), time(23, 55)),),
            weekdays=range(7),
            display_name="Dra. Lucía Herrera",
        )
    receptionist = UserFactory(email="rita@sonrisa.test", full_name="Rita Recepción")
    MembershipFactory(tenant=business, user=receptionist, role=Role.RECEPTIONIST)
    admin = UserFactory(email="alba@sonrisa.test", full_name="Alba Admin")
    MembershipFactory(tenant=business, user=admin, role=Role.ADMIN)
    return Desk(business, location, service, herrera, receptionist, admin, base)


def _money(page: Page) -> Any:
    return page.locator("#money")


def test_a_no_show_charges_its_fee_and_the_receptionist_records_the_payment(
    page: Page, live_server: LiveServer, desk: Desk
) -> None:
    desk.policy(no_show_consequence="fixed_fee", no_show_fee_amount=Decimal("25.00"))
    missed = desk.book("Ana García", desk.base - timedelta(hours=1))
    _log_in(page, live_server, desk.receptionist)
    page.goto(f"{live_server.url}/dashboard/")
    block = page.locator(f"#appt-{missed.pk}")
    _open_menu(page, missed)
    block.get_by_role("button", name="No-show").click()
    expect(block).to_contain_text("No-show")
    expect(page.locator("#toast")).to_contain_text(
        "Ana García is marked as a no-show. Under the client's terms: Fee €25.00."
    )

    page.locator(f"#appt-{missed.pk} .appt-link").click()
    money = _money(page)
    expect(money).to_contain_text("Fee owed")
    expect(money).to_contain_text("Record a fee payment (€25.00 owed)")
    expect(money).to_contain_text("If you miss the appointment, a fee of €25.00 applies.")
    screenshot(page, "money-no-show-fee-owed")
    money.get_by_label("Paid by").select_option(label="Card")
    money.get_by_label("Reference (receipt, transaction)").fill("TPV 0042")
    money.get_by_role("button", name="Record the fee payment").click()
    expect(page.locator("#toast")).to_contain_text("Fee payment of €25.00 recorded.")
    expect(money.get_by_role("button", name="Record the fee payment")).to_have_count(0)
    expect(page.locator(".timeline")).to_contain_text("Fee paid")
    expect(page.locator(".timeline")).to_contain_text("TPV 0042")
    screenshot(page, "money-no-show-fee-paid")

    with scope(tenant=desk.business):
        assert appointment_fee_outstanding(appointment=missed) == 0
        paid = LedgerEntry.objects.get(appointment=missed, kind=EntryKind.FEE_PAID)
    assert (paid.amount, paid.method, paid.reference, paid.actor_label) == (
        Decimal("25.00"),
        "card",
        "TPV 0042",
        "rita@sonrisa.test",
    )


def test_a_late_cancellation_then_an_admin_waives_the_fee_with_a_reason(
    page: Page, live_server: LiveServer, desk: Desk
) -> None:
    desk.policy(
        cancellation_window_hours=48,
        late_cancellation_consequence="fixed_fee",
        late_cancellation_fee_amount=Decimal("15.00"),
    )
    later = desk.book("María López", desk.base + timedelta(minutes=90))
    _log_in(page, live_server, desk.admin)
    page.goto(f"{live_server.url}/dashboard/")
    _open_menu(page, later)
    page.locator(f"#appt-{later.pk}").get_by_role("link", name="Cancel…").click()
    panel = page.get_by_role("dialog")
    # What cancelling now means, before confirming: late, the fee, the client's own words.
    expect(panel).to_contain_text("Late: inside the cancellation window.")
    expect(panel).to_contain_text("Fee €15.00.")
    expect(panel).to_contain_text("Cancelling now costs a €15.00 late-cancellation fee.")
    panel.get_by_label("Reason", exact=True).fill("Called: her car broke down")
    screenshot(page, "money-late-cancel-panel")
    panel.get_by_role("button", name="Cancel the appointment").click()
    expect(panel).to_be_hidden()
    expect(page.locator(f"#appt-{later.pk}")).to_contain_text("Cancelled")

    page.goto(f"{live_server.url}/dashboard/appointments/{later.pk}/")
    money = _money(page)
    expect(money).to_contain_text("€15.00")
    expect(money).to_contain_text("Cancelled by the client")
    money.get_by_role("button", name="Waive the fee").click()
    expect(money.get_by_label("Reason for waiving the fee")).to_be_focused()  # required first
    money.get_by_label("Reason for waiving the fee").fill("Car accident: towing receipt seen")
    money.get_by_role("button", name="Waive the fee").click()
    expect(page.locator("#toast")).to_contain_text("The fee is waived.")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Fee waived")
    expect(timeline).to_contain_text("Car accident: towing receipt seen")
    expect(timeline).to_contain_text("alba@sonrisa.test")
    expect(money.get_by_role("button", name="Waive the fee")).to_have_count(0)
    screenshot(page, "money-fee-waived")

    with scope(tenant=desk.business):
        assert appointment_fee_outstanding(appointment=later) == 0
        assert Appointment.objects.get(pk=later.pk).status == AppointmentStatus.CANCELLED


def test_a_policy_change_keeps_a_booking_s_terms_and_applies_to_the_next_booking(
    page: Page, live_server: LiveServer, desk: Desk
) -> None:
    desk.policy(
        cancellation_window_hours=48,
        late_cancellation_consequence="fixed_fee",
        late_cancellation_fee_amount=Decimal("10.00"),
    )
    # Thirty hours ahead: late under 48 hours' notice, in time under 24.
    existing = desk.book(
        "Luis Pérez", desk.base + timedelta(hours=30), booked=desk.base - timedelta(days=1)
    )
    _log_in(page, live_server, desk.admin)
    page.goto(f"{live_server.url}/settings/policies/")
    page.get_by_role("link", name="Change the default policy").click()
    page.get_by_label("Cancellation window (hours)").fill("24")
    page.get_by_role("button", name="Save the policy").click()
    expect(page.get_by_text("The policy is saved. New bookings follow it.")).to_be_visible()

    # The existing booking keeps the 48 hours its client agreed to.
    page.goto(f"{live_server.url}/dashboard/appointments/{existing.pk}/")
    money = _money(page)
    expect(money).to_contain_text("Cancelling is free until 48 hours before the start")
    expect(money).to_contain_text("Late: inside the cancellation window.")
    expect(money).to_contain_text("Fee €10.00.")
    screenshot(page, "money-terms-kept")

    # A new booking shows, and stores, the new 24 hours.
    page.goto(f"{live_server.url}/dashboard/appointments/new/")
    expect(page.locator("#booking-slots")).to_contain_text(
        "Cancelling is free until 24 hours before the start"
    )
    page.get_by_label("Name", exact=True).fill("Lucía Sánchez")
    page.get_by_label("Phone", exact=True).fill("+34 612 345 678")
    page.wait_for_load_state("networkidle")
    page.locator("#booking-slots .times label").first.click()
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="Lucía Sánchez")).to_be_visible()
    expect(_money(page)).to_contain_text("Cancelling is free until 24 hours before the start")
    screenshot(page, "money-new-booking-new-terms")

    with scope(tenant=desk.business):
        new = Appointment.objects.get(client__name="Lucía Sánchez")
        windows = {
            row.pk: row.terms["cancellation_window_hours"]
            for row in AppointmentTerms.objects.filter(pk__in=[existing.pk, new.pk])
        }
    assert windows == {existing.pk: 48, new.pk: 24}


def test_a_client_reads_the_terms_and_what_cancelling_late_means_then_cancels(
    page: Page, live_server: LiveServer, desk: Desk
) -> None:
    from urllib.parse import urlsplit

    from policies.choices import PaymentMethod
    from policies.services import deposit_mark_paid
    from reminders.links import link_issue, link_url
    from reminders.models import AccessAction

    desk.policy(
        deposit_kind="fixed",
        deposit_amount=Decimal("20.00"),
        cancellation_window_hours=48,
        late_cancellation_consequence="keep_deposit",
        credit_days=3,
    )
    soon = desk.book("Ana García", desk.base + timedelta(hours=30), booked=desk.base)
    with scope(tenant=desk.business):
        deposit_mark_paid(appointment=soon, actor=Actor.api_key("desk"), method=PaymentMethod.CARD)
        path = urlsplit(
            link_url(
                appointment=soon, token=link_issue(appointment=soon, action=AccessAction.MANAGE)
            )
        ).path
    page.goto(f"{live_server.url}{path}")
    terms = page.get_by_role("region", name="Your booking terms")
    expect(terms).to_contain_text("A deposit of €20.00 holds this appointment.")
    expect(terms).to_contain_text("later, the deposit is kept.")
    expect(terms).to_contain_text("Your €20.00 deposit is paid.")
    page.get_by_text("Cancel the appointment").click()
    expect(page.locator("#cancel-policy")).to_contain_text(
        "Cancelling now keeps your €20.00 deposit; book again before"
    )
    screenshot(page, "client-page-terms-before-cancel")
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(
        page.get_by_text("Your appointment is cancelled. Cancelling now keeps your")
    ).to_be_visible()
    screenshot(page, "client-page-after-cancel")
    with scope(tenant=desk.business):
        assert AppointmentTerms.objects.get(pk=soon.pk).deposit_status == "credited"
