"""A client opens the link from a reminder on a phone, reads the details and confirms."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Appointment, AppointmentStatus, Source
from appointments.services import Actor, appointment_book
from reminders.links import link_issue
from reminders.models import AccessAction
from tests.browser.conftest import screenshot
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _next_weekday_at_10_madrid() -> datetime:
    """10:00 in Madrid on the next Tuesday at least two days away (the real clock: live server)."""
    day = timezone.now().date() + timedelta(days=2)
    while day.weekday() != 1:
        day += timedelta(days=1)
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(10), tzinfo=ZoneInfo("Europe/Madrid")).astimezone(UTC)


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_client_confirms_from_a_phone(
    browser: Browser, live_server: LiveServer, language: str
) -> None:
    business = BusinessFactory(
        name="Clínica Dental Sonrisa",
        language=language,
        phone="+34 910 123 456",
        email="hola@sonrisa.test",
    )
    with scope(tenant=business):
        location = LocationFactory(
            tenant=business, name="Sonrisa Centro", address="Calle de Alcalá 42, 28014 Madrid"
        )
        service = ServiceFactory(tenant=business, name="Limpieza dental", duration_minutes=45)
        staff = staff_offering(
            tenant=business,
            location=location,
            services=[service],
            display_name="Dra. Lucía Herrera",
        )
        client = ClientFactory(tenant=business, name="Ana García")
        appointment = appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=_next_weekday_at_10_madrid(),
            source=Source.DASHBOARD,
            actor=Actor.system(),
        )
        token = link_issue(appointment=appointment, action=AccessAction.MANAGE)

    context = browser.new_context(
        locale="en-GB",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/{business.slug}/a/{token}/")
        words = {
            "es": (
                "Tu cita",
                "Pendiente de confirmar",
                "Confirmo que voy",
                "Confirmada",
                "Este enlace ya no funciona",
            ),
            "en": (
                "Your appointment",
                "Not confirmed yet",
                "Confirm I'm coming",
                "Confirmed",
                "This link no longer works",
            ),
        }[language]
        expect(page.get_by_role("heading", name=words[0])).to_be_visible()
        expect(page.get_by_text(words[1])).to_be_visible()
        expect(page.get_by_text("Limpieza dental")).to_be_visible()
        expect(page.get_by_text("Dra. Lucía Herrera")).to_be_visible()
        expect(page.get_by_text("Europe/Madrid")).to_be_visible()
        # Nothing sticks out sideways on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, f"client-page-{language}")

        page.get_by_role("button", name=words[2]).click()
        expect(page.locator(".client-status")).to_contain_text(words[3])
        expect(page.get_by_role("button", name=words[2])).to_have_count(0)
        screenshot(page, f"client-page-confirmed-{language}")
        with scope(tenant=business):
            assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CONFIRMED

        page.get_by_role(
            "button", name={"es": "Cambiar la hora", "en": "Change the time"}[language]
        ).click()
        expect(page.locator(".client-slot").first).to_be_visible()
        screenshot(page, f"client-page-reschedule-{language}")

        old_url = page.url
        page.locator(".client-slot").nth(2).click()
        expect(page.locator(".message")).to_be_visible()
        assert page.url != old_url  # a new link: the old one died with the old time
        expect(page.get_by_role("button", name=words[2])).to_be_visible()  # to confirm again
        page.get_by_text(
            {"es": "Cancelar la cita", "en": "Cancel the appointment"}[language]
        ).click()
        expect(page.locator("textarea")).to_be_visible()
        screenshot(page, f"client-page-moved-{language}")

        page.goto(old_url)
        expect(page.get_by_role("heading", name=words[4])).to_be_visible()
        expect(page.get_by_text("+34 910 123 456")).to_be_visible()
        screenshot(page, f"client-page-dead-link-{language}")
    finally:
        context.close()
