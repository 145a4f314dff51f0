"""Settings > Webhooks in a real browser: an admin adds an endpoint, copies its secret (shown
once), sends a test event and watches it arrive in the delivery log. The receiver is an HTTP
server on localhost that checks the signature with the secret the page showed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as DjangoClient
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from hooks import services
from tenants.models import Business, Role
from tests.browser.conftest import screenshot
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.hooks.conftest import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the Celery worker does with a published delivery, in a thread of this process
    (tests/hooks/test_worker.py runs the real worker): a moment later, one attempt."""

    def attempt(ids: list[int]) -> None:
        try:
            threading.Event().wait(0.5)
            for delivery_id in ids:
                services.delivery_attempt(delivery_id=delivery_id)
        finally:
            connection.close()

    def publish(ids: list[int], countdown: float | None = None) -> None:
        threading.Thread(target=attempt, args=(ids,), daemon=True).start()

    monkeypatch.setattr(services, "_publish", publish)


@pytest.fixture
def admin_page(
    browser: Browser, live_server: LiveServer, transactional_db: None
) -> Iterator[tuple[Page, Business]]:
    business = BusinessFactory(name="Clínica Dental Sonrisa", language="en")
    user = UserFactory(email="admin@sonrisa.test", full_name="Admin Sonrisa")
    MembershipFactory(tenant=business, user=user, role=Role.ADMIN)
    django_client = DjangoClient()
    django_client.force_login(user)
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": django_client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, business
    context.close()


def test_an_admin_adds_an_endpoint_sees_the_secret_once_and_sends_a_test_event(
    admin_page: tuple[Page, Business],
    live_server: LiveServer,
    receiver: Receiver,
    worker: None,
) -> None:
    page, _business = admin_page
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhook endpoints yet.")).to_be_visible()
    page.get_by_role("link", name="Add an endpoint").click()

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Our CRM")
    page.get_by_label("Appointment booked").check()
    page.get_by_label("Appointment cancelled").check()
    page.get_by_role("button", name="Add the endpoint").click()

    expect(page.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    secret = page.locator("#new-secret").input_value()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    screenshot(page, "settings-webhooks-secret")

    # Shown once: the endpoint's page, opened again, no longer has it.
    page.get_by_role("link", name="Webhooks").first.click()
    expect(page.get_by_role("cell", name="2 events")).to_be_visible()
    page.get_by_role("link", name=receiver.url).click()
    expect(page.get_by_text("Nothing sent to this endpoint yet.")).to_be_visible()
    assert secret not in page.content()

    page.get_by_role("button", name="Send a test event").click()
    log = page.locator("#delivery-log")
    expect(log.get_by_text("ping")).to_be_visible()
    # The log follows the delivery by itself (htmx polling) until the attempt is made.
    expect(log.get_by_text("Delivered")).to_be_visible()
    expect(log.get_by_text("HTTP 200")).to_be_visible()
    screenshot(page, "settings-webhooks-test-event")

    (request,) = receiver.requests
    assert request.verified  # signed with the secret the page showed, as the docs verify it
    assert request.headers["puntual-event-type"] == "ping"
