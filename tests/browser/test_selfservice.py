"""Clients on a phone: booking (new and returning), claiming a waitlist offer, the survey."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Appointment, AppointmentStatus, Source
from appointments.services import (
    Actor,
    appointment_book,
    appointment_cancel,
    appointment_mark_attended,
)
from clients.models import Client
from reminders.channels.sms import LocmemSMSBackend
from reminders.models import Purpose, ReminderRule, RuleChannel
from selfservice.models import SurveyInvitation, WaitlistEntry, WaitlistSource, WaitlistStatus
from selfservice.services.outgoing import selfservice_send_due
from selfservice.services.waitlist import waitlist_join
from tests.browser.conftest import screenshot
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    PolicyFactory,
    ServiceFactory,
    staff_offering,
)
from tests.selfservice.conftest import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFER = re.compile(r"/waitlist/offer/([A-Za-z0-9_-]+)/")
SURVEY = re.compile(r"/survey/([A-Za-z0-9_-]+)/")
ALL_DAY = ((time(8), time(20)),)
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    cache.clear()
    LocmemSMSBackend.outbox.clear()
    yield
    cache.clear()


@pytest.fixture
def shop(db: None) -> Shop:
    business = BusinessFactory(
        name="Clínica Dental Sonrisa", slug="sonrisa", phone="+34 910 123 456"
    )
    with scope(tenant=business):
        location = LocationFactory(
            tenant=business, name="Sonrisa Centro", address="Calle de Alcalá 42, 28014 Madrid"
        )
        service = ServiceFactory(tenant=business, name="Limpieza dental", duration_minutes=45)
        ana = staff_offering(
            tenant=business,
            location=location,
            services=[service],
            display_name="Dra. Ana Ruiz",
            hours=ALL_DAY,
            weekdays=range(7),
        )
        bea = staff_offering(
            tenant=business,
            location=location,
            services=[service],
            display_name="Dr. Bernardo Gil",
            hours=ALL_DAY,
            weekdays=range(7),
        )
        PolicyFactory(
            tenant=business,
            cancellation_window_hours=24,
            late_cancellation_consequence="fixed_fee",
            late_cancellation_fee_amount="15.00",
        )
        # As every business has from its setup: the survey 2 h after an attended visit.
        ReminderRule.objects.create(
            tenant=business,
            name="Post-visit survey, 2 h after",
            purpose=Purpose.SURVEY,
            channel=RuleChannel.SMS_THEN_EMAIL,
            offset_minutes=120,
        )
    return Shop(business=business, location=location, service=service, ana=ana, bea=bea)


def _phone(browser: Browser) -> BrowserContext:
    context = browser.new_context(
        locale="en-GB",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    return context


def _book_through_the_steps(page: Page, base: str, *, shot: str) -> None:
    page.goto(f"{base}/sonrisa/book/")
    expect(page.get_by_role("heading", name="Choose a service")).to_be_visible()
    page.get_by_role("link", name=re.compile("Limpieza dental")).click()
    expect(page.get_by_role("heading", name="With whom?")).to_be_visible()
    page.get_by_role("link", name=re.compile("Anyone available")).click()
    expect(page.get_by_role("heading", name="Choose a day and time")).to_be_visible()
    expect(page.get_by_text("Times are in Europe/Madrid time")).to_be_visible()
    page.locator(".ss-day").nth(1).click()  # tomorrow
    screenshot(page, f"{shot}-1-times")
    page.locator(".ss-time").first.click()
    expect(page.get_by_role("heading", name="Your details")).to_be_visible()
    expect(page.get_by_text("Cancelling is free until 24 hours before the start")).to_be_visible()
    expect(page.locator("input[name=website]")).not_to_be_in_viewport()


def test_a_new_client_books_on_a_phone(
    browser: Browser, live_server: LiveServer, shop: Shop
) -> None:
    context = _phone(browser)
    page = context.new_page()
    _book_through_the_steps(page, live_server.url, shot="selfservice-new")
    page.get_by_label("Your name").fill("Lucía Pérez")
    page.get_by_label("Mobile phone").fill("612 345 678")
    page.get_by_label("Email (optional)").fill("lucia@example.com")
    page.get_by_label("Send me reminders and updates by email").check()
    page.get_by_role("button", name="Book").click()
    # Not accepted the terms yet: told so, nothing booked.
    expect(page.get_by_text("Please accept the terms to book.")).to_be_visible()
    page.get_by_label("I have read and accept these terms").check()
    screenshot(page, "selfservice-new-2-details")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    expect(page.get_by_text("Europe/Madrid time")).to_be_visible()
    screenshot(page, "selfservice-new-3-booked")
    ics = page.get_by_role("link", name="Add to calendar").get_attribute("href")
    assert ics is not None
    download = page.request.get(live_server.url + ics)
    assert download.ok and b"BEGIN:VEVENT" in download.body()
    page.get_by_role("link", name="See, confirm or change your appointment").click()
    expect(page.get_by_role("heading", name="Your appointment")).to_be_visible()
    expect(page.get_by_text("Limpieza dental")).to_be_visible()
    with scope(tenant=shop.business):
        appointment = Appointment.objects.select_related("client").get()
    assert appointment.source == Source.ONLINE
    assert appointment.client.phone == "+34612345678" and appointment.client.email_consent
    context.close()


def test_a_returning_client_books_in_spanish_without_a_duplicate(
    browser: Browser, live_server: LiveServer, shop: Shop
) -> None:
    with scope(tenant=shop.business):
        known = ClientFactory(tenant=shop.business, name="Lucía Pérez", phone="+34612345678")
    context = _phone(browser)
    page = context.new_page()
    page.goto(f"{live_server.url}/sonrisa/book/")
    page.get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _book_through_the_steps(page, live_server.url, shot="selfservice-returning")
    page.get_by_label("Your name").fill("Lucia")
    page.get_by_label("Mobile phone").fill("+34 612 34 56 78")
    page.get_by_label("I have read and accept these terms").check()
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
    expect(page.get_by_text("Thank you, Lucía Pérez.")).to_be_visible()
    screenshot(page, "selfservice-returning-booked")
    with scope(tenant=shop.business):
        assert Client.objects.count() == 1
        assert Appointment.objects.get().client_id == known.pk
    context.close()


def test_one_of_two_waiting_clients_claims_the_freed_time(
    browser: Browser, live_server: LiveServer, shop: Shop
) -> None:
    now = timezone.now()
    start = (now + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    with scope(tenant=shop.business):
        marta = ClientFactory(tenant=shop.business, name="Marta")
        nuria = ClientFactory(tenant=shop.business, name="Nuria")
        for waiting in (marta, nuria):
            waitlist_join(
                tenant=shop.business,
                client=waiting,
                service=shop.service,
                source=WaitlistSource.ONLINE,
                now=now,
            )
        appointment = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.ana,
            service=shop.service,
            client=ClientFactory(tenant=shop.business),
            start=start,
            source=Source.DASHBOARD,
            actor=Actor.system(),
        )
        appointment_cancel(appointment=appointment, actor=Actor.system())  # frees the time
    selfservice_send_due(now=timezone.now())
    tokens = {sms.to: OFFER.search(sms.body).group(1) for sms in LocmemSMSBackend.outbox}  # type: ignore[union-attr]
    assert set(tokens) == {marta.phone, nuria.phone}

    marta_phone, nuria_phone = _phone(browser), _phone(browser)
    marta_page, nuria_page = marta_phone.new_page(), nuria_phone.new_page()
    marta_page.goto(f"{live_server.url}/sonrisa/waitlist/offer/{tokens[marta.phone]}/")
    nuria_page.goto(f"{live_server.url}/sonrisa/waitlist/offer/{tokens[nuria.phone]}/")
    expect(nuria_page.get_by_text("the first to claim it gets it")).to_be_visible()
    screenshot(nuria_page, "selfservice-offer-open")
    nuria_page.get_by_role("button", name="Book this time").click()
    expect(nuria_page.get_by_role("heading", name="You are booked")).to_be_visible()
    marta_page.get_by_role("button", name="Book this time").click()
    expect(marta_page.get_by_text("someone else took this time first")).to_be_visible()
    screenshot(marta_page, "selfservice-offer-taken")
    with scope(tenant=shop.business):
        booked = Appointment.objects.get(status=AppointmentStatus.SCHEDULED)
        assert booked.client_id == nuria.pk
        assert WaitlistEntry.objects.get(client=marta).status == WaitlistStatus.WAITING
    marta_phone.close()
    nuria_phone.close()


def test_the_client_answers_the_survey(
    browser: Browser, live_server: LiveServer, shop: Shop
) -> None:
    now = timezone.now()
    # Yesterday 10:00 in Madrid: inside the hours whatever the time the test runs.
    yesterday = now.astimezone(MADRID).date() - timedelta(days=1)
    start = datetime.combine(yesterday, time(10), tzinfo=MADRID)
    with scope(tenant=shop.business):
        appointment = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.bea,
            service=shop.service,
            client=ClientFactory(tenant=shop.business, name="Olga"),
            start=start,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=start - timedelta(days=1),
        )
        appointment_mark_attended(
            appointment=appointment, actor=Actor.system(), now=start + timedelta(minutes=50)
        )
    selfservice_send_due(now=now)
    [sms] = LocmemSMSBackend.outbox
    match = SURVEY.search(sms.body)
    assert match is not None
    context = _phone(browser)
    page = context.new_page()
    page.goto(f"{live_server.url}/sonrisa/survey/{match.group(1)}/")
    expect(page.get_by_text("Limpieza dental with Dr. Bernardo Gil")).to_be_visible()
    page.locator("label[for=id_rating_3]").click()  # the fourth choice: 4
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Muy amables.")
    screenshot(page, "selfservice-survey")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you for your answer")).to_be_visible()
    page.reload()
    expect(page.get_by_text("already been answered")).to_be_visible()
    with scope(tenant=shop.business):
        invitation = SurveyInvitation.objects.get()
    assert invitation.rating == 4 and invitation.comment == "Muy amables."
    context.close()
