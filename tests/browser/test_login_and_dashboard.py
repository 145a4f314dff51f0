"""A receptionist logs in with the demo data, sees today's agenda, and switches language."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db: None) -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_a_receptionist_logs_in_and_sees_the_agenda_in_both_languages(
    page: Page, live_server: LiveServer, demo: None
) -> None:
    page.goto(f"{live_server.url}/dashboard/")
    # Not logged in: the login page, in the browser's language (English).
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill("recepcion@demo.puntual.test")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct email and password")

    page.get_by_label("Password").fill("puntual-demo")
    page.get_by_role("button", name="Log in").click()
    # The demo business speaks Spanish: its language is the default for its members.
    expect(page.get_by_role("heading", name="Hoy")).to_be_visible()
    expect(page.locator(".business-name")).to_have_text("Clínica Dental Sonrisa")
    expect(page.get_by_role("heading", name="Dra. Lucía Herrera")).to_be_visible()
    screenshot(page, "dashboard-es")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_text("Not confirmed yet")).to_be_visible()
    screenshot(page, "dashboard-en")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_the_api_documentation_renders_without_a_cdn(page: Page, live_server: LiveServer) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(live_server.url) else None
        ),
    )
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("Puntual API")).to_be_visible()
    expect(page.get_by_text("/api/v1/appointments/{id}/reschedule/").first).to_be_visible()
    screenshot(page, "api-docs")
    assert outside == []
