"""A business that approves new clients: a new client books on a phone and sees "requested";
the receptionist accepts it from the requests queue; the client's page then shows it booked."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client as DjangoClient
from django_scopes import scope
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Appointment, AppointmentStatus, EventKind
from reminders.channels.sms import LocmemSMSBackend
from tenants.models import Role
from tests.browser.conftest import screenshot
from tests.browser.test_selfservice import _book_through_the_steps, _phone, shop
from tests.factories import MembershipFactory, UserFactory
from tests.selfservice.conftest import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["shop"]  # the booking page's shop, shared with test_selfservice

STATUS_LINK = re.compile(r"/sonrisa/a/[A-Za-z0-9_-]+/")


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    cache.clear()
    LocmemSMSBackend.outbox.clear()
    yield
    cache.clear()


def test_a_new_clients_request_is_accepted_by_the_front_desk(
    browser: Browser, live_server: LiveServer, shop: Shop
) -> None:
    shop.business.approve_new_clients = True
    shop.business.save()

    # The client, on a phone: books, and is told it is a request.
    phone = _phone(browser)
    client_page = phone.new_page()
    _book_through_the_steps(client_page, live_server.url, shot="approval-client")
    expect(
        client_page.get_by_text("If this is your first booking with us, it is a request")
    ).to_be_visible()
    client_page.get_by_label("Your name").fill("Irene Nueva")
    client_page.get_by_label("Mobile phone").fill("622 333 444")
    client_page.get_by_label("I have read and accept these terms").check()
    client_page.get_by_role("button", name="Book").click()
    expect(client_page.get_by_role("heading", name="Request sent")).to_be_visible()
    expect(
        client_page.get_by_text("Requested — the business will confirm it; we'll let you know.")
    ).to_be_visible()
    expect(client_page.get_by_role("link", name="Add to calendar")).to_have_count(0)
    screenshot(client_page, "approval-client-2-requested")
    client_page.get_by_role("link", name="See or withdraw your request").click()
    expect(client_page).to_have_url(STATUS_LINK)
    status_url = client_page.url
    expect(client_page.locator(".client-status")).to_have_text(
        "Requested — the business will confirm it; we'll let you know."
    )
    screenshot(client_page, "approval-client-3-status-requested")
    with scope(tenant=shop.business):
        request = Appointment.objects.select_related("client").get()
    assert request.status == AppointmentStatus.REQUESTED

    # The receptionist, at the desk: the badge, the queue, Accept.
    receptionist = UserFactory(email="rita@sonrisa.test")
    MembershipFactory(tenant=shop.business, user=receptionist, role=Role.RECEPTIONIST)
    desk = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    django_client = DjangoClient()
    django_client.force_login(receptionist)
    desk.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": django_client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    desk_page = desk.new_page()
    desk_page.set_default_timeout(10_000)
    desk_page.goto(f"{live_server.url}/dashboard/?date={request.start.date().isoformat()}")
    expect(desk_page.locator("#requests-count")).to_contain_text("1")
    block = desk_page.locator(f"#appt-{request.pk}")
    expect(block).to_have_class(re.compile("st-requested"))
    expect(block).to_contain_text("Requested")
    screenshot(desk_page, "approval-desk-1-board")
    desk_page.get_by_role("link", name=re.compile("Requests")).click()
    expect(desk_page.get_by_role("heading", name="Requests", exact=True)).to_be_visible()
    card = desk_page.locator(f"#request-{request.pk}")
    expect(card).to_contain_text("Irene Nueva")
    screenshot(desk_page, "approval-desk-2-queue")
    card.get_by_role("button", name=re.compile("^Accept")).click()
    expect(desk_page.locator("#toast")).to_contain_text("Irene Nueva's request is accepted")
    expect(desk_page.get_by_text("No requests waiting.")).to_be_visible()
    expect(desk_page.locator("#requests-count")).to_have_class(re.compile("count-zero"))
    screenshot(desk_page, "approval-desk-3-accepted")

    # The client's page, the same link: booked now, with the usual actions.
    client_page.goto(status_url)
    expect(client_page.locator(".client-status")).to_have_text(
        "Not confirmed yet — please let us know if you are coming."
    )
    expect(client_page.get_by_role("button", name="Confirm I'm coming")).to_be_visible()
    screenshot(client_page, "approval-client-4-status-accepted")
    with scope(tenant=shop.business):
        accepted = Appointment.objects.get(pk=request.pk)
        assert accepted.status == AppointmentStatus.SCHEDULED
        assert accepted.events.filter(kind=EventKind.ACCEPTED).count() == 1
    phone.close()
    desk.close()
