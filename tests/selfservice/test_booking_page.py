"""The public booking page: a client books by themselves, in a few taps, without an account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope
from icalendar import Calendar

from appointments.models import Appointment, AppointmentStatus, Source
from appointments.services import Actor, appointment_book
from clients.models import Client
from tests.factories import ClientFactory, LocationFactory, PolicyFactory
from tests.selfservice.conftest import Shop

pytestmark = pytest.mark.usefixtures("frozen")

# Friday 29 May 2026 10:00 in Madrid.
FRIDAY_10 = datetime(2026, 5, 29, 8, 0, tzinfo=UTC)


def _form(shop: Shop, **overrides: Any) -> dict[str, Any]:
    data = {
        "location": shop.location.pk,
        "service": shop.service.pk,
        "staff": "any",
        "start": FRIDAY_10.isoformat(),
        "name": "Lucía Pérez",
        "phone": "612 345 678",
        "email": "lucia@example.com",
        "sms_consent": "on",
        "accept_terms": "on",
        "website": "",
    }
    data.update(overrides)
    return data


def _appointments(shop: Shop) -> list[Appointment]:
    with scope(tenant=shop.business):
        return list(Appointment.objects.select_related("client").order_by("pk"))


def test_it_walks_the_client_from_service_to_staff_to_times(
    client: DjangoClient, shop: Shop
) -> None:
    page = client.get("/sonrisa/book/")
    assert page.status_code == 200
    assert b"Choose a service" in page.content  # one location: not asked
    page = client.get(f"/sonrisa/book/?service={shop.service.pk}")
    assert b"Anyone available" in page.content and b"Bea" in page.content
    page = client.get(f"/sonrisa/book/?service={shop.service.pk}&staff=any")
    body = page.content.decode()
    assert "Europe/Madrid time (CEST)" in body
    # Today (Thursday) from 12:00, two hours' minimum notice after 10:00 in Madrid.
    assert ">12:00 PM<" in body and ">11:45 AM<" not in body and ">6:30 PM<" in body
    assert "Thu 28 May" in body and "Fri 29 May" in body
    assert page["Cache-Control"] == "no-store"


def test_it_asks_for_the_location_when_there_are_several(client: DjangoClient, shop: Shop) -> None:
    with scope(tenant=shop.business):
        LocationFactory(tenant=shop.business, name="Norte")
    page = client.get("/sonrisa/book/")
    assert b"Choose a location" in page.content and b"Norte" in page.content


def test_the_details_step_shows_the_time_zone_and_the_business_terms(
    client: DjangoClient, shop: Shop
) -> None:
    with scope(tenant=shop.business):
        PolicyFactory(
            tenant=shop.business,
            cancellation_window_hours=24,
            late_cancellation_consequence="fixed_fee",
            late_cancellation_fee_amount="15.00",
        )
    page = client.get(
        "/sonrisa/book/",
        {k: v for k, v in _form(shop).items() if k in ("service", "staff", "start")},
    )
    body = page.content.decode()
    assert "Friday 29 May 2026" in body and "Europe/Madrid" in body
    assert "Cancelling is free until 24 hours before the start" in body
    assert 'name="website"' in body and "ss-hp" in body
    assert "style=" not in body and "<script" not in body  # CSP-friendly


def test_a_new_client_books_and_gets_the_confirmation_with_links(
    client: DjangoClient, shop: Shop
) -> None:
    response = client.post("/sonrisa/book/", _form(shop))
    assert response.status_code == 303
    [appointment] = _appointments(shop)
    assert appointment.source == Source.ONLINE and appointment.start == FRIDAY_10
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert appointment.client.phone == "+34612345678" and appointment.client.sms_consent
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "You are booked" in body and "/sonrisa/a/" in body
    token = response["Location"].rstrip("/").rsplit("/", 1)[1]
    ics = client.get(f"/sonrisa/book/calendar/{token}/")
    assert ics["Content-Type"].startswith("text/calendar")
    event = Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == FRIDAY_10
    status_page = client.get(f"/sonrisa/a/{token}/")
    assert status_page.status_code == 200


def test_a_returning_client_is_recognised_by_phone_without_a_duplicate(
    client: DjangoClient, shop: Shop
) -> None:
    with scope(tenant=shop.business):
        known = ClientFactory(tenant=shop.business, name="Lucía", phone="+34612345678", email="")
    response = client.post("/sonrisa/book/", _form(shop, name="Lucia P."))
    assert response.status_code == 303
    [appointment] = _appointments(shop)
    assert appointment.client_id == known.pk
    with scope(tenant=shop.business):
        assert Client.objects.count() == 1
        known.refresh_from_db()
    assert known.email == "lucia@example.com"  # filled in, it was missing


def test_a_returning_client_is_recognised_by_email(client: DjangoClient, shop: Shop) -> None:
    with scope(tenant=shop.business):
        known = ClientFactory(tenant=shop.business, phone="", email="lucia@example.com")
    response = client.post("/sonrisa/book/", _form(shop, email="LUCIA@example.com"))
    assert response.status_code == 303
    assert _appointments(shop)[0].client_id == known.pk


def test_a_time_taken_meanwhile_says_so_and_offers_fresh_times(
    client: DjangoClient, shop: Shop
) -> None:
    with scope(tenant=shop.business):
        other = ClientFactory(tenant=shop.business)
        for member in (shop.ana, shop.bea):
            appointment_book(
                tenant=shop.business,
                location=shop.location,
                staff=member,
                service=shop.service,
                client=other,
                start=FRIDAY_10,
                source=Source.DASHBOARD,
                actor=Actor.system(),
            )
    response = client.post("/sonrisa/book/", _form(shop))
    assert response.status_code == 409
    body = response.content.decode()
    assert "someone has just taken that time" in body
    assert "Choose a day and time" in body
    assert ">10:30 AM<" in body and ">10:00 AM<" not in body  # Friday's times, fresh
    with scope(tenant=shop.business):
        assert Client.objects.filter(phone="+34612345678").count() == 0  # nothing written


def test_an_invalid_phone_is_a_clear_error_and_books_nothing(
    client: DjangoClient, shop: Shop
) -> None:
    response = client.post("/sonrisa/book/", _form(shop, phone="12"))
    assert response.status_code == 400
    assert b"Enter a valid mobile number" in response.content
    assert _appointments(shop) == []


def test_the_terms_must_be_accepted(client: DjangoClient, shop: Shop) -> None:
    response = client.post("/sonrisa/book/", _form(shop, accept_terms=""))
    assert response.status_code == 400
    assert b"Please accept the terms" in response.content
    assert _appointments(shop) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"start": "not-a-date"},
        {"start": "2026-05-29T10:00:00"},  # no zone
        {"service": "999999"},
        {"staff": "abc"},
        {"start": "2026-05-29T08:07:00+00:00"},  # off the offered grid
    ],
)
def test_tampered_choices_get_a_4xx_and_book_nothing(
    client: DjangoClient, shop: Shop, bad: dict[str, str]
) -> None:
    response = client.post("/sonrisa/book/", _form(shop, **bad))
    assert 400 <= response.status_code < 500
    assert _appointments(shop) == []


def test_the_page_speaks_spanish_when_the_client_switches(client: DjangoClient, shop: Shop) -> None:
    client.post("/i18n/setlang/", {"language": "es", "next": "/sonrisa/book/"})
    page = client.get("/sonrisa/book/")
    assert page["Content-Language"] == "es"


def test_an_unknown_business_is_404(client: DjangoClient, shop: Shop) -> None:
    assert client.get("/nobody-here/book/").status_code == 404


def test_the_zone_is_named_for_the_chosen_day_across_the_clock_change(
    client: DjangoClient, shop: Shop
) -> None:
    # Friday 23 October 2026 in Madrid (CEST); the clocks go back on Sunday the 25th.
    with time_machine.travel(datetime(2026, 10, 23, 6, 0, tzinfo=UTC), tick=False):
        base: dict[str, Any] = {"service": shop.service.pk, "staff": shop.ana.pk}
        friday = client.get("/sonrisa/book/", {**base, "day": "2026-10-23"}).content.decode()
        monday = client.get("/sonrisa/book/", {**base, "day": "2026-10-26"}).content.decode()
    assert "Europe/Madrid time (CEST)" in friday and ">10:00 AM<" in friday
    assert "Europe/Madrid time (CET)" in monday and ">9:00 AM<" in monday
