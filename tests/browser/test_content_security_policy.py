"""Under Puntual's Content-Security-Policy, Chromium blocks nothing the pages need: the
dashboard's htmx actions, the business switcher, the rule preview, the API-key field, the
client's personal data card and the API docs all work, with no violation reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Appointment, AppointmentStatus, Source
from appointments.services import Actor, appointment_book
from tenants.models import Role, User
from tenants.services import api_key_create
from tests.browser.conftest import screenshot
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    MembershipFactory,
    ServiceFactory,
    UserFactory,
    staff_offering,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every violation the page reports, collected before any of the page's own scripts run.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
});
"""


@pytest.fixture(autouse=True)
def _htmx_is_installed() -> None:
    built = Path(settings.BASE_DIR) / "static" / "vendor" / "htmx.min.js"
    assert built.exists(), "static/vendor/htmx.min.js is missing: run `make dev-install` (npm ci)"


class Scene:
    def __init__(self) -> None:
        self.business = BusinessFactory(name="Clínica Norte", timezone="UTC", language="en")
        self.other = BusinessFactory(name="Clínica Sur", timezone="UTC", language="en")
        now = timezone.now()
        # Two hours ahead: after 22:00 UTC that is tomorrow, so the tests open the board on
        # the appointment's own day.
        start = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        with scope(tenant=self.business):
            location = LocationFactory(tenant=self.business, timezone="UTC")
            service = ServiceFactory(tenant=self.business, name="Revisión")
            staff = staff_offering(
                tenant=self.business,
                location=location,
                services=[service],
                hours=((time(0), time(23, 59)),),
                weekdays=range(7),
                display_name="Dr. Pardo",
            )
            self.client = ClientFactory(tenant=self.business, name="Elena Vidal")
            self.appointment: Appointment = appointment_book(
                tenant=self.business,
                location=location,
                staff=staff,
                service=service,
                client=self.client,
                start=start.astimezone(UTC),
                source=Source.DASHBOARD,
                actor=Actor.system(),
                now=now - timedelta(days=1),
            )
        self.owner: User = UserFactory(email="owner@norte.test")
        MembershipFactory(tenant=self.business, user=self.owner, role=Role.OWNER)
        MembershipFactory(tenant=self.other, user=self.owner, role=Role.OWNER)


@pytest.fixture
def scene(transactional_db: None) -> Scene:
    return Scene()


@pytest.fixture
def owner_page(browser: Browser, live_server: LiveServer, scene: Scene) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.add_init_script(COLLECT_VIOLATIONS)
    django_client = DjangoClient()
    django_client.force_login(scene.owner)
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
    console: list[tuple[str, str]] = []
    page.on("console", lambda message: console.append((page.url, message.text)))
    yield page
    context.close()
    refused = [
        (url, text)
        for url, text in console
        if "Content Security Policy" in text
        # Swagger UI's page has one <style> element (margins): refused, and harmless.
        and not (url.endswith("/api/v1/docs/") and text.startswith("Applying inline style"))
    ]
    assert refused == []


def _violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__csp"))


def test_the_dashboard_works_under_the_policy(
    owner_page: Page, live_server: LiveServer, scene: Scene
) -> None:
    page = owner_page
    response = page.goto(f"{live_server.url}/dashboard/?date={scene.appointment.start:%Y-%m-%d}")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Dr. Pardo")).to_be_visible()
    # An htmx action: confirm in place, the block and the toast update without a reload.
    block = page.locator(f"#appt-{scene.appointment.pk}")
    page.get_by_label(f"Actions for Elena Vidal at {scene.appointment.start:%H:%M}").click()
    block.get_by_role("button", name="Confirm").click()
    expect(block).to_contain_text("Confirmed")
    expect(page.locator("#toast")).to_contain_text("confirmed")
    screenshot(page, "csp-dashboard-after-htmx-confirm")
    with scope(tenant=scene.business):
        assert (
            Appointment.objects.get(pk=scene.appointment.pk).status == AppointmentStatus.CONFIRMED
        )
    assert _violations(page) == []

    # The business switcher (was an inline onchange): picking submits at once.
    page.get_by_label("Business").select_option(label="Clínica Sur")
    expect(page.locator(".business-name")).to_have_text("Clínica Sur")
    assert _violations(page) == []


def test_the_client_page_settings_and_docs_work_under_the_policy(
    owner_page: Page, live_server: LiveServer, scene: Scene
) -> None:
    page = owner_page
    page.goto(f"{live_server.url}/dashboard/clients/{scene.client.pk}/")
    expect(page.get_by_role("heading", name="Personal data")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the client's data (JSON)").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["client"]["name"] == "Elena Vidal"
    screenshot(page, "csp-client-page")
    assert _violations(page) == []

    # The new API key's field selects itself on focus (was an inline onfocus).
    page.goto(f"{live_server.url}/settings/api-keys/")
    page.get_by_label("Name").fill("Widget")
    page.get_by_role("button", name="Create the key").click()
    field = page.locator("#new-key")
    field.focus()
    selected = page.evaluate(
        "() => { const f = document.getElementById('new-key');"
        " return f.selectionEnd - f.selectionStart; }"
    )
    assert selected == len(field.input_value()) > 20
    assert _violations(page) == []

    # The API's documentation (Swagger UI, its script served separately).
    _key, _raw = api_key_create(tenant=scene.business, name="docs")
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("Puntual API").first).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    screenshot(page, "csp-api-docs")
    assert [v for v in _violations(page) if not v.startswith("style-src-elem inline")] == []


def test_the_board_refresh_waits_while_a_menu_is_open(
    owner_page: Page, live_server: LiveServer, scene: Scene
) -> None:
    """The timed refresh skips while a menu is open (it would close it) and resumes after:
    what the trigger filter did before the policy forbade its eval."""
    page = owner_page
    page.clock.install()
    page.goto(f"{live_server.url}/dashboard/?date={scene.appointment.start:%Y-%m-%d}")
    expect(page.get_by_role("heading", name="Dr. Pardo")).to_be_visible()
    refreshes: list[str] = []
    page.on(
        "request",
        lambda request: (
            refreshes.append(request.url)
            if request.headers.get("hx-request") and urlsplit(request.url).path == "/dashboard/"
            else None
        ),
    )
    menu = page.get_by_label(f"Actions for Elena Vidal at {scene.appointment.start:%H:%M}")
    menu.click()
    page.clock.run_for(61_000)
    page.wait_for_timeout(300)
    assert refreshes == []
    expect(page.locator("details.appt-menu[open]")).to_have_count(1)
    menu.click()  # closed
    page.clock.run_for(61_000)
    page.wait_for_timeout(300)
    assert len(refreshes) >= 1
    assert _violations(page) == []
