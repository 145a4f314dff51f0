"""Scheduled reports: at the business's local hour, once per period, whatever runs twice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail
from django_scopes import scope

from reports.models import DeliveryStatus, ReportDelivery
from reports.services import subscription_save
from reports.tasks import send_scheduled_reports
from tenants.models import Business, Membership, Role
from tests.factories import BusinessFactory, MembershipFactory, UserFactory
from tests.reports.data import build_june

pytestmark = pytest.mark.django_db


def _subscribe(business: Business, frequency: str, hour: int = 7) -> Membership:
    with scope(tenant=business):
        member = MembershipFactory(
            tenant=business, user=UserFactory(email=f"boss@{business.slug}.test"), role=Role.OWNER
        )
        subscription_save(
            tenant=business,
            frequency=frequency,
            is_active=True,
            send_hour=hour,
            recipients=[member],
        )
    return member


def _run(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return send_scheduled_reports()


def test_the_monthly_report_goes_at_the_local_hour_once_even_if_the_task_runs_twice() -> None:
    june = build_june()
    _subscribe(june.business, "monthly")
    # 1 July, 06:59 in Madrid (UTC+2): not yet.
    assert _run(datetime(2026, 7, 1, 4, 59, tzinfo=UTC)) == 0
    assert mail.outbox == []
    # 07:00 local: June's report.
    assert _run(datetime(2026, 7, 1, 5, 0, tzinfo=UTC)) == 1
    assert _run(datetime(2026, 7, 1, 5, 0, tzinfo=UTC)) == 0  # the same tick again
    assert _run(datetime(2026, 7, 1, 5, 15, tzinfo=UTC)) == 0  # the next tick
    assert _run(datetime(2026, 7, 20, 9, 0, tzinfo=UTC)) == 0  # weeks later
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [f"boss@{june.business.slug}.test"]
    assert "2026-06-01" in message.subject and "2026-06-30" in message.subject
    assert "No-show rate 40.0\u00a0%, up from 0.0\u00a0% last month" in message.body
    with scope(tenant=june.business):
        delivery = ReportDelivery.objects.get()
    assert (delivery.period_start.isoformat(), delivery.status, delivery.recipients) == (
        "2026-06-01",
        DeliveryStatus.SENT,
        1,
    )
    # August: July's report, once.
    assert _run(datetime(2026, 8, 1, 6, 0, tzinfo=UTC)) == 1
    assert len(mail.outbox) == 2


def test_each_business_gets_it_at_its_own_local_time() -> None:
    madrid = BusinessFactory(timezone="Europe/Madrid")
    new_york = BusinessFactory(timezone="America/New_York")
    _subscribe(madrid, "weekly", hour=8)
    _subscribe(new_york, "weekly", hour=8)
    # Monday 8 June 2026, 06:00 UTC: 08:00 in Madrid, 02:00 in New York.
    assert _run(datetime(2026, 6, 8, 6, 0, tzinfo=UTC)) == 1
    assert [m.to for m in mail.outbox] == [[f"boss@{madrid.slug}.test"]]
    # 12:00 UTC: 08:00 in New York.
    assert _run(datetime(2026, 6, 8, 12, 0, tzinfo=UTC)) == 1
    assert len(mail.outbox) == 2
    with scope(tenant=new_york):
        delivery = ReportDelivery.objects.get()
    assert (delivery.period_start.isoformat(), delivery.period_end.isoformat()) == (
        "2026-06-01",
        "2026-06-07",
    )


def test_a_period_already_claimed_is_not_sent_again() -> None:
    business = BusinessFactory()
    _subscribe(business, "weekly")
    at = datetime(2026, 6, 8, 6, 0, tzinfo=UTC)
    assert _run(at) == 1
    with scope(tenant=business):
        # A crash after the claim: the row stays "sending" and nothing sends it again.
        ReportDelivery.objects.update(status=DeliveryStatus.SENDING)
    assert _run(at) == 0
    assert len(mail.outbox) == 1


def test_inactive_subscriptions_send_nothing() -> None:
    business = BusinessFactory()
    member = _subscribe(business, "weekly")
    with scope(tenant=business):
        subscription_save(
            tenant=business, frequency="weekly", is_active=False, send_hour=7, recipients=[member]
        )
    assert _run(datetime(2026, 6, 8, 9, 0, tzinfo=UTC)) == 0
    assert mail.outbox == []
