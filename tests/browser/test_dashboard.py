"""A receptionist's day in Chromium: log in, confirm, check in, mark attended, mark a no-show,
cancel with a reason, book a new client into a free slot, switch language; the same actions
without JavaScript; the board on a tablet. Screenshots land in var/screenshots/."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Appointment, AppointmentStatus, CancelledBy, Source
from appointments.services import Actor, appointment_book, appointment_confirm
from clients.models import Client
from tenants.models import Business, Role, User
from tests.browser.conftest import screenshot
from tests.factories import (
    DEFAULT_PASSWORD,
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
    staff_offering,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _htmx_is_installed() -> None:
    """htmx comes from npm (`make install` copies it): say so rather than fail obscurely."""
    built = Path(settings.BASE_DIR) / "static" / "vendor" / "htmx.min.js"
    assert built.exists(), "static/vendor/htmx.min.js is missing: run `make dev-install` (npm ci)"


# The live server runs on the real clock. The business is put in whichever of these zones is
# nearest midday now, so that "an hour ago" and "in two hours" are the same day, in hours.
ZONES = (
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/Mexico_City",
    "America/New_York",
    "America/Sao_Paulo",
    "Atlantic/Azores",
    "Europe/Madrid",
    "Europe/Athens",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def _midday_zone() -> str:
    now = timezone.now()

    def distance(name: str) -> float:
        local = now.astimezone(zoneinfo.ZoneInfo(name))
        return abs(local.hour + local.minute / 60 - 12)

    return min(ZONES, key=distance)


@dataclass
class Day:
    business: Business
    receptionist: User
    missed: Appointment  # started an hour ago, nobody came
    arriving: Appointment  # started half an hour ago, confirmed
    later: Appointment  # in an hour and a half, not confirmed


def _label(appointment: Appointment) -> str:
    zone = zoneinfo.ZoneInfo(appointment.tenant.timezone)
    return f"Actions for {appointment.client.name} at {appointment.start.astimezone(zone):%H:%M}"


@pytest.fixture
def day(transactional_db: None) -> Day:
    zone_name = _midday_zone()
    zone = zoneinfo.ZoneInfo(zone_name)
    business = BusinessFactory(name="Clínica Dental Sonrisa", timezone=zone_name, language="en")
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
            hours=((time(7), time(21)),),
            weekdays=range(7),
            display_name="Dra. Lucía Herrera",
        )
        ruiz = staff_offering(
            tenant=business,
            location=location,
            services=[service],
            hours=((time(7), time(21)),),
            weekdays=range(7),
            display_name="Dr. Martín Ruiz",
            color="#b0567a",
        )

        def book(name: str, start: datetime, staff: object) -> Appointment:
            return appointment_book(
                tenant=business,
                location=location,
                staff=staff,  # type: ignore[arg-type]
                service=service,
                client=ClientFactory(tenant=business, name=name),
                start=start.astimezone(UTC),
                source=Source.DASHBOARD,
                actor=Actor.system(),
                now=start - timedelta(days=2),
            )

        missed = book("Ana García", base - timedelta(hours=1), herrera)
        arriving = book("Carlos Martín", base - timedelta(minutes=30), ruiz)
        later = book("María López", base + timedelta(minutes=90), herrera)
        appointment_confirm(
            appointment=arriving, actor=Actor.system(), now=base - timedelta(days=1)
        )
    receptionist = UserFactory(email="rita@sonrisa.test", full_name="Rita Recepción")
    MembershipFactory(tenant=business, user=receptionist, role=Role.RECEPTIONIST)
    return Day(business, receptionist, missed, arriving, later)


def _status(appointment: Appointment) -> Appointment:
    with scope(tenant=appointment.tenant):
        return Appointment.objects.get(pk=appointment.pk)


def _number(page: Page, label: str) -> Locator:
    """One of today's numbers above the board."""
    return (
        page.locator("#numbers > div").filter(has=page.get_by_text(label, exact=True)).locator("dd")
    )


def _open_menu(page: Page, appointment: Appointment) -> None:
    page.get_by_label(_label(appointment), exact=True).click()


def test_a_receptionist_works_through_the_day(
    page: Page, live_server: LiveServer, day: Day
) -> None:
    page.set_viewport_size({"width": 1280, "height": 1300})  # a desktop screen: most of a day
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_label("Email").fill("rita@sonrisa.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_role("heading", name="Dra. Lucía Herrera")).to_be_visible()
    expect(page.locator(".now-label")).to_be_visible()
    expect(_number(page, "Not confirmed yet")).to_have_text("2")
    screenshot(page, "dashboard-day")

    # Confirm: two clicks, the block changes in place and the numbers follow.
    later = page.locator(f"#appt-{day.later.pk}")
    _open_menu(page, day.later)
    later.get_by_role("button", name="Confirm").click()
    expect(later).to_contain_text("Confirmed")
    expect(_number(page, "Not confirmed yet")).to_have_text("1")
    expect(page.locator("#toast")).to_contain_text("María López's appointment is confirmed.")

    # Check in, then attended.
    arriving = page.locator(f"#appt-{day.arriving.pk}")
    _open_menu(page, day.arriving)
    arriving.get_by_role("button", name="Check in").click()
    expect(arriving).to_contain_text("Waiting")
    expect(_number(page, "Waiting")).to_have_text("1")
    _open_menu(page, day.arriving)
    arriving.get_by_role("button", name="Attended").click()
    expect(arriving).to_contain_text("Attended")

    # A no-show, an hour after the start.
    missed = page.locator(f"#appt-{day.missed.pk}")
    _open_menu(page, day.missed)
    missed.get_by_role("button", name="No-show").click()
    expect(missed).to_contain_text("No-show")
    expect(_number(page, "No-shows")).to_have_text("1")

    # Cancel, with a reason, in the side panel.
    _open_menu(page, day.later)
    later.get_by_role("link", name="Cancel…").click()
    panel = page.get_by_role("dialog")
    expect(panel.get_by_role("heading", name="Cancel the appointment")).to_be_visible()
    expect(panel.get_by_label("The client")).to_be_checked()
    panel.get_by_role("button", name="Cancel the appointment").click()
    expect(panel.get_by_label("Reason")).to_be_focused()  # required: the browser asks first
    panel.get_by_label("Reason").fill("Called: she has the flu")
    screenshot(page, "dashboard-cancel-panel")
    panel.get_by_role("button", name="Cancel the appointment").click()
    expect(panel).to_be_hidden()
    expect(page.locator(f"#appt-{day.later.pk}")).to_contain_text("Cancelled")
    expect(_number(page, "Cancellations")).to_have_text("1")
    screenshot(page, "dashboard-day-after")

    assert _status(day.later).status == AppointmentStatus.CANCELLED
    assert _status(day.later).cancelled_by == CancelledBy.CLIENT
    assert _status(day.later).cancellation_reason == "Called: she has the flu"
    assert _status(day.arriving).status == AppointmentStatus.ATTENDED
    assert _status(day.arriving).arrived_at is not None
    assert _status(day.missed).status == AppointmentStatus.NO_SHOW

    # The appointment's page: its history, with who did what.
    page.locator(f"#appt-{day.arriving.pk} .appt-link").click()
    expect(page.get_by_role("heading", name="Carlos Martín", exact=True)).to_be_visible()
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Checked in")
    expect(timeline).to_contain_text("rita@sonrisa.test")
    page.get_by_label("Note", exact=True).fill("Needs a follow-up in six months")
    page.get_by_role("button", name="Save the note").click()
    expect(timeline).to_contain_text("Needs a follow-up in six months")
    expect(page.get_by_role("button", name="Send the client's link again")).to_have_count(0)
    screenshot(page, "dashboard-appointment-detail-attended")

    # Spanish, the same day.
    page.get_by_role("link", name="Day", exact=True).click()
    page.get_by_role("button", name="Español").click()
    expect(page.get_by_role("heading", name="Hoy")).to_be_visible()
    expect(page.locator(f"#appt-{day.later.pk}")).to_contain_text("Cancelada")
    expect(page.get_by_role("link", name="Recepción")).to_be_visible()
    screenshot(page, "dashboard-day-es")


def test_a_receptionist_books_a_new_client_into_a_free_slot(
    page: Page, live_server: LiveServer, day: Day
) -> None:
    _log_in(page, live_server, day.receptionist)
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="New appointment").first.click()
    expect(page.get_by_role("heading", name="New appointment")).to_be_visible()
    page.get_by_label("Find a client by name, phone or email").fill("Ana")
    # The search answers as the receptionist types; she is new, though.
    expect(page.locator("#client-results")).to_contain_text("Ana García")
    page.get_by_label("Name", exact=True).fill("Lucía Sánchez")
    page.get_by_label("Phone", exact=True).fill("+34 612 345 678")
    page.get_by_label("Accepts reminders by SMS").check()
    page.get_by_label("With").select_option(label="Dr. Martín Ruiz")
    page.wait_for_load_state("networkidle")  # htmx brings that staff member's free times
    first_time = page.locator("#booking-slots .times label").first
    expect(first_time).to_be_visible()
    chosen = first_time.inner_text()
    first_time.click()
    screenshot(page, "dashboard-new-appointment")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="Lucía Sánchez")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text(
        "Lucía Sánchez is booked for Limpieza dental on"
    )
    expect(page.locator(".messages")).to_contain_text(f"at {chosen} with Dr. Martín Ruiz.")
    # The new client's link, sent again on demand: it joins the history as planned.
    page.get_by_role("button", name="Send the client's link again").click()
    expect(page.locator("#toast")).to_contain_text("The link goes out to the client")
    expect(page.locator(".timeline")).to_contain_text("Link sent again")
    screenshot(page, "dashboard-appointment-detail")
    with scope(tenant=day.business):
        booked = Appointment.objects.select_related("client", "staff").get(
            client__name="Lucía Sánchez"
        )
        assert Client.objects.filter(name="Lucía Sánchez").count() == 1
    assert booked.staff.display_name == "Dr. Martín Ruiz"
    assert booked.client.phone == "+34612345678" and booked.client.sms_consent
    assert booked.source == Source.DASHBOARD


def _log_in(page: Page, live_server: LiveServer, user: User) -> None:
    django_client = DjangoClient()
    django_client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": django_client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


@pytest.fixture
def no_javascript(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="en-GB", viewport={"width": 1280, "height": 800}, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_the_same_actions_work_without_javascript(
    no_javascript: Page, live_server: LiveServer, day: Day
) -> None:
    page = no_javascript
    _log_in(page, live_server, day.receptionist)
    page.goto(f"{live_server.url}/dashboard/")
    _open_menu(page, day.later)
    page.locator(f"#appt-{day.later.pk}").get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("María López's appointment is confirmed.")
    expect(page.locator(f"#appt-{day.later.pk}")).to_contain_text("Confirmed")
    assert _status(day.later).status == AppointmentStatus.CONFIRMED

    _open_menu(page, day.later)
    page.locator(f"#appt-{day.later.pk}").get_by_role("link", name="Cancel…").click()
    page.get_by_label("The business").check()
    page.get_by_label("Reason").fill("Dr. Herrera is ill")
    page.get_by_role("button", name="Cancel the appointment").click()
    expect(page.locator(".messages")).to_contain_text("María López's appointment is cancelled.")
    expect(page.get_by_role("heading", name="María López")).to_be_visible()
    assert _status(day.later).cancelled_by == CancelledBy.STAFF


def test_the_board_fits_a_tablet(browser: Browser, live_server: LiveServer, day: Day) -> None:
    context = browser.new_context(
        locale="en-GB", viewport={"width": 768, "height": 1024}, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _log_in(page, live_server, day.receptionist)
        page.goto(f"{live_server.url}/dashboard/")
        expect(page.get_by_role("heading", name="Dr. Martín Ruiz")).to_be_visible()
        # The page itself never scrolls sideways: the board scrolls inside its own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= 768
        screenshot(page, "dashboard-day-tablet")
        page.goto(f"{live_server.url}/dashboard/front-desk/")
        expect(page.get_by_role("heading", name="Front desk")).to_be_visible()
        screenshot(page, "dashboard-front-desk-tablet")
    finally:
        context.close()
