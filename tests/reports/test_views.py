"""The reports page, its CSV export and the scheduled-report form."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from reports.models import ReportRecipient, ReportSubscription
from tenants.models import Membership, Role
from tests.conftest import login_member
from tests.reports.data import NOW, June, build_june

pytestmark = pytest.mark.django_db

JUNE_QUERY = {"from": "2026-06-01", "to": "2026-06-30"}


@pytest.fixture
def june() -> June:
    return build_june()


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def test_admins_see_the_figures_trend_and_comparison(client: DjangoClient, june: June) -> None:
    login_member(client, june.business, Role.ADMIN)
    response = client.get("/reports/", JUNE_QUERY)
    assert response.status_code == 200
    page = response.content.decode()
    # 2 no-shows of 5 due in June; May had one attended appointment: 0 %.
    assert "No-show rate 40.0\u00a0%, up from 0.0\u00a0% last month" in page
    assert "Late-cancellation rate 25.0\u00a0%" in page
    assert page.count("<svg") == 4
    assert "No answers in this period" in page  # no survey was answered in June
    assert 'action="/reports/subscriptions/"' in page


def test_the_last_month_is_the_default_period(client: DjangoClient, june: June) -> None:
    login_member(client, june.business, Role.OWNER)
    response = client.get("/reports/")
    assert response.status_code == 200
    assert response.context["report"].period.start.isoformat() == "2026-06-01"
    assert response.context["report"].totals.appointments == 12


def test_receptionists_read_without_the_settings_and_providers_are_refused(
    client: DjangoClient,
    june: June,
) -> None:
    login_member(client, june.business, Role.RECEPTIONIST)
    response = client.get("/reports/", JUNE_QUERY)
    assert response.status_code == 200
    assert b'action="/reports/subscriptions/"' not in response.content
    assert client.post("/reports/subscriptions/", {"frequency": "weekly"}).status_code == 403
    provider = DjangoClient()
    login_member(provider, june.business, Role.PROVIDER)
    assert provider.get("/reports/").status_code == 403
    assert provider.get("/reports/export.csv").status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-06-30", "to": "2026-06-01"},
        {"from": "2025-01-01", "to": "2026-06-30"},
        {"from": "yesterday", "to": "2026-06-30"},
        {"group_by": "weather"},
        {"location": "999999"},
    ],
)
def test_bad_filters_answer_400_with_the_reason(
    client: DjangoClient, june: June, query: Any
) -> None:
    login_member(client, june.business, Role.ADMIN)
    response = client.get("/reports/", query)
    assert response.status_code == 400
    assert b"alert-error" in response.content
    assert client.get("/reports/export.csv", query).status_code == 400


def test_the_csv_lists_the_appointments_behind_a_figure(client: DjangoClient, june: June) -> None:
    login_member(client, june.business, Role.RECEPTIONIST)
    response = client.get("/reports/export.csv", {**JUNE_QUERY, "figure": "late_cancellations"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    ids = {int(row["id"]) for row in rows}
    assert ids == {june.appts[name].pk for name in ("a4", "a6", "a7")}
    assert {row["late_cancellation"] for row in rows} == {"yes"}
    assert rows[0]["start"] == "2026-06-08T09:00+02:00"
    by_staff = client.get(
        "/reports/export.csv", {**JUNE_QUERY, "figure": "no_shows", "staff": june.b.pk}
    )
    rows = list(csv.DictReader(io.StringIO(by_staff.content.decode())))
    assert [int(row["id"]) for row in rows] == [june.appts["a10"].pk]
    assert client.get("/reports/export.csv", {"figure": "everything"}).status_code == 400


def test_an_admin_schedules_the_monthly_report(client: DjangoClient, june: June) -> None:
    login_member(client, june.business, Role.ADMIN)
    with scope(tenant=june.business):
        member = Membership.objects.filter(tenant=june.business).get()
    response = client.post(
        "/reports/subscriptions/",
        {"frequency": "monthly", "is_active": "on", "send_hour": "8", "recipients": [member.pk]},
    )
    assert response.status_code == 303
    with scope(tenant=june.business):
        subscription = ReportSubscription.objects.get(tenant=june.business)
        assert (subscription.frequency, subscription.send_hour, subscription.is_active) == (
            "monthly",
            8,
            True,
        )
        assert list(
            ReportRecipient.objects.filter(subscription=subscription).values_list(
                "membership_id", flat=True
            )
        ) == [member.pk]


@pytest.mark.parametrize(
    "body",
    [
        {"frequency": "monthly", "is_active": "on", "send_hour": "8"},  # nobody to send it to
        {"frequency": "daily", "send_hour": "8"},
        {"frequency": "weekly", "send_hour": "24"},
    ],
)
def test_a_bad_schedule_is_refused_and_nothing_saved(
    client: DjangoClient, june: June, body: Any
) -> None:
    login_member(client, june.business, Role.ADMIN)
    response = client.post("/reports/subscriptions/", body)
    assert response.status_code == 400
    with scope(tenant=june.business):
        assert not ReportSubscription.objects.filter(tenant=june.business).exists()
