"""The reports page in a real browser: figures, SVG trends, the comparison sentence, filters,
a CSV download and the scheduled report's settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django_scopes import scope
from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from appointments.models import Appointment, AppointmentStatus, Source
from reports.models import ReportRecipient, ReportSubscription
from tenants.models import Role
from tests.browser.conftest import screenshot
from tests.factories import MembershipFactory, UserFactory
from tests.reports.data import June, build_june, local

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JUNE = "from=2026-06-01&to=2026-06-30"


@pytest.fixture
def june(transactional_db: None) -> June:
    data = build_june()
    # Earlier months, so that the trend has a line: month m has m no-shows in 10 visits.
    with scope(tenant=data.business):
        for month in range(1, 5):
            for n in range(10):
                start = local(1 + n, 12, month=month)
                Appointment.objects.create(
                    tenant=data.business,
                    location=data.location1,
                    staff=data.a,
                    service=data.s30,
                    client=data.clients["C1"],
                    start=start,
                    end=start + timedelta(minutes=30),
                    blocked_start=start,
                    blocked_end=start + timedelta(minutes=30),
                    status=AppointmentStatus.NO_SHOW if n < month else AppointmentStatus.ATTENDED,
                    source=Source.DASHBOARD,
                    price=data.s30.price,
                )
    return data


@pytest.fixture
def admin_page(browser: Browser, live_server: LiveServer, june: June) -> Iterator[Page]:
    user = UserFactory(email="admin@sonrisa.test", full_name="Marta Admin")
    MembershipFactory(tenant=june.business, user=user, role=Role.ADMIN)
    django_client = DjangoClient()
    django_client.force_login(user)
    context = browser.new_context(
        locale="en-GB", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
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
    yield page
    context.close()


def test_an_admin_reads_the_month_filters_downloads_and_schedules_it(
    admin_page: Page, live_server: LiveServer, june: June
) -> None:
    page = admin_page
    page.goto(f"{live_server.url}/reports/?{JUNE}")
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    expect(page.get_by_text("No-show rate 40.0\u00a0%, down from 0.0")).to_have_count(0)
    # May: 0 no-shows in 1 visit (the data set's C1 visit); June: 2 of 5.
    expect(
        page.get_by_text("No-show rate 40.0\u00a0%, up from 0.0\u00a0% last month")
    ).to_be_visible()
    expect(page.locator("svg[role=img]")).to_have_count(4)
    # The trend's dots: April had 4 no-shows of 10.
    no_show_chart = page.locator("figure", has_text="No-show rate").first
    expect(no_show_chart.locator("circle")).to_have_count(6)
    expect(page.get_by_text("Slots refilled from the waitlist")).to_be_visible()
    screenshot(page, "reports-month")

    # Only Bruno's appointments.
    page.get_by_label("Staff member").select_option(label="Bruno")
    page.get_by_role("button", name="Show").click()

    def card(title: str) -> Locator:
        return page.locator(".rp-card").filter(
            has=page.get_by_role("heading", name=title, exact=True)
        )

    expect(card("Appointments").locator(".rp-big")).to_have_text("4")

    # The appointments behind Bruno's no-shows, as CSV.
    with page.expect_download() as download_info:
        card("No-show rate").get_by_role("link", name="Appointments (CSV)").click()
    path = download_info.value.path()
    lines = open(path, encoding="utf-8").read().splitlines()  # noqa: SIM115
    assert len(lines) == 2 and str(june.appts["a10"].pk) in lines[1]

    # Split by staff member.
    page.get_by_label("Staff member").select_option(label="All staff")
    page.get_by_label("Split by").select_option(label="Staff member")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("row", name="Ana")).to_be_visible()

    # The monthly report by email to the admin.
    monthly = page.get_by_role("form", name="Monthly")
    monthly.get_by_label("Send it").check()
    monthly.get_by_label("Marta Admin").check()
    monthly.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Scheduled report saved.")).to_be_visible()
    # Back on the report as it was: June, split by staff member.
    expect(page.get_by_role("row", name="Ana")).to_be_visible()
    screenshot(page, "reports-scheduled")
    with scope(tenant=june.business):
        subscription = ReportSubscription.objects.get(tenant=june.business)
        assert subscription.frequency == "monthly" and subscription.is_active
        assert ReportRecipient.objects.filter(subscription=subscription).count() == 1
