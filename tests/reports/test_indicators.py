"""Every indicator against the hand-computed June of tests/reports/data.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appointments.models import Appointment
from policies.choices import Tier
from policies.selectors import reliability_for
from reports.periods import Period
from reports.selectors import ChannelFigures, GroupBy, Money, Report, ReportFilters, report_build
from tests.reports.data import JUNE, NOW, June, build_june

pytestmark = pytest.mark.django_db

PERIOD = Period(*JUNE)


@pytest.fixture
def june() -> June:
    return build_june()


def _report(june: June, **kwargs: Any) -> Report:
    with scope(tenant=june.business):
        return report_build(tenant=june.business, period=PERIOD, now=NOW, **kwargs)


def test_it_counts_the_period_appointments_and_outcomes(june: June) -> None:
    totals = _report(june).totals
    assert totals.appointments == 12
    assert (totals.attended, totals.no_shows, totals.cancelled) == (3, 2, 6)
    assert totals.no_show_rate == pytest.approx(2 / 5)


def test_late_cancellations_follow_the_decision_then_the_terms_window_then_the_policy(
    june: June,
) -> None:
    totals = _report(june).totals
    # Late: a4 (terms' 96 h window), a6 (decision), a7 (default 48 h). On time: a5 (decision
    # says on time although 10 h before), a12 (50 h before the default 48 h). a8: staff.
    assert totals.late_cancellations == 3
    assert totals.on_time_cancellations == 2
    assert totals.late_cancellation_rate == pytest.approx(3 / 12)
    assert totals.on_time_cancellation_rate == pytest.approx(2 / 12)


def test_confirmations_their_lead_time_and_no_shows_by_confirmation(june: June) -> None:
    totals = _report(june).totals
    assert totals.confirmed == 4
    assert totals.confirmation_rate == pytest.approx(4 / 12)
    assert totals.confirmation_lead_hours == pytest.approx((48 + 2 + 30 + 25) / 4)
    # Not confirmed: a3 came. 24 h or more before: a1, a9 came, a10 did not. Less: a2 did not.
    assert totals.no_show_rate_unconfirmed == 0
    assert totals.no_show_rate_confirmed_early == pytest.approx(1 / 3)
    assert totals.no_show_rate_confirmed_late == 1


def test_reminders_and_delivery_per_channel(june: June) -> None:
    totals = _report(june).totals
    assert totals.reminded == 2  # a1 delivered, a3 sent; a2 failed, a9 pending, a10 no rule
    assert totals.reminded_share == pytest.approx(2 / 12)
    assert totals.channels == {
        "sms": ChannelFigures(attempted=2, delivered=1, failed=1),
        "email": ChannelFigures(attempted=2, delivered=1, failed=0),
    }
    assert totals.channels["sms"].success_rate == pytest.approx(0.5)


def test_utilisation_is_booked_over_working_hours_minus_time_off(june: June) -> None:
    totals = _report(june).totals
    assert totals.booked_minutes == pytest.approx(30 + 30 + 60 + 60 + 30 + 30)
    assert totals.available_minutes == pytest.approx(6480 + 1200)
    assert totals.utilisation == pytest.approx(240 / 7680)


def test_waiting_and_service_times_with_their_90th_percentile(june: June) -> None:
    totals = _report(june).totals
    assert totals.wait_avg_minutes == pytest.approx((10 + 20 + 40) / 3)
    assert totals.wait_p90_minutes == pytest.approx(36)  # 20 + 0.8 x (40 - 20)
    assert totals.service_avg_minutes == pytest.approx(50)
    assert totals.service_p90_minutes == pytest.approx(60)


def test_money_of_the_period_appointments(june: June) -> None:
    assert _report(june).totals.money == Money(
        deposits_collected=Decimal("10.00"),
        fees_charged=Decimal("15.00"),
        fees_waived=Decimal("15.00"),
        credit_issued=Decimal("10.00"),
        credit_used=Decimal("5.00"),
    )


def _selfservice_june(june: June) -> None:
    """Two times freed in June (a4, a8), one refilled in June; one freed on 31 May (outside);
    surveys answered 4 and 5 in June, 1 in July (outside)."""
    from selfservice.models import FreedSlot, SurveyInvitation

    def freed(name: str, at: datetime, refill: Appointment | None = None) -> None:
        cancelled = june.appts[name]
        FreedSlot.objects.create(
            tenant=june.business,
            cancelled_appointment=cancelled,
            location=cancelled.location,
            staff=cancelled.staff,
            service=cancelled.service,
            start=cancelled.start,
            freed_at=at,
            refilled_by=refill,
            refilled_at=at + timedelta(hours=1) if refill else None,
        )

    freed("a4", datetime(2026, 6, 5, 9, tzinfo=UTC), refill=june.appts["a1"])
    freed("a8", datetime(2026, 6, 10, 12, tzinfo=UTC))
    freed("a12", datetime(2026, 5, 31, 21, tzinfo=UTC))  # 23:00 in Madrid: still May
    for name, rating, at in (
        ("a1", 4, datetime(2026, 6, 2, 10, tzinfo=UTC)),
        ("a2", 5, datetime(2026, 6, 20, 10, tzinfo=UTC)),
        ("a3", 1, datetime(2026, 7, 1, 10, tzinfo=UTC)),
    ):
        SurveyInvitation.objects.create(
            tenant=june.business,
            appointment=june.appts[name],
            token_hash=f"hash-{name}",
            send_at=at,
            rating=rating,
            answered_at=at,
        )


def test_selfservice_figures_count_the_period_freed_refilled_and_rated(june: June) -> None:
    with scope(tenant=june.business):
        _selfservice_june(june)
    totals = _report(june).totals
    figures = totals.as_dict()
    assert (figures["slots_freed"], figures["slots_refilled"]) == (2, 1)
    assert figures["survey_score"] == pytest.approx(4.5)


def test_selfservice_figures_without_data_are_zero_and_no_score(june: June) -> None:
    figures = _report(june).totals.as_dict()
    assert (figures["slots_freed"], figures["slots_refilled"], figures["survey_score"]) == (
        0,
        0,
        None,
    )


def test_grouped_by_staff_member(june: June) -> None:
    groups = {g.label: g.indicators for g in _report(june, group_by=GroupBy.STAFF).groups}
    ana, bruno = groups["Ana"], groups["Bruno"]
    assert (ana.appointments, bruno.appointments) == (8, 4)
    assert (ana.no_shows, bruno.no_shows) == (1, 1)
    assert ana.late_cancellations == 2 and bruno.late_cancellations == 1
    assert ana.available_minutes == pytest.approx(6480)
    assert bruno.utilisation == pytest.approx(30 / 1200)
    assert ana.wait_p90_minutes == pytest.approx(36)
    assert bruno.wait_p90_minutes is None
    assert ana.money is not None and ana.money.deposits_collected == Decimal("10.00")
    assert bruno.channels == {"email": ChannelFigures(attempted=1, delivered=1, failed=0)}


def test_grouped_by_location_and_service(june: June) -> None:
    by_location = {
        g.label: g.indicators.appointments for g in _report(june, group_by="location").groups
    }
    assert by_location == {"Centro": 8, "Norte": 4}
    by_service = {g.label: g.indicators for g in _report(june, group_by="service").groups}
    assert by_service["Color"].appointments == 2
    assert by_service["Color"].service_p90_minutes == pytest.approx(60)
    assert by_service["Corte"].available_minutes is None


def test_grouped_by_new_or_returning_client(june: June) -> None:
    groups = {g.key: g.indicators for g in _report(june, group_by=GroupBy.SEGMENT).groups}
    # New: C2's four, and C3's a3 (before their first visit). Returning: the other seven.
    assert groups["new"].appointments == 5
    assert groups["returning"].appointments == 7
    assert groups["new"].no_show_rate == pytest.approx(1 / 2)  # a2 no-show, a3 attended
    assert groups["new"].available_minutes is None


def test_grouped_by_reliability_tier_as_reliability_for_says(june: June) -> None:
    report = _report(june, group_by=GroupBy.TIER)
    groups = {g.key: g.indicators.appointments for g in report.groups}
    # C1: one late cancellation (a4) -> watch; C2: one no-show -> watch; C3: a no-show and a
    # late cancellation -> unreliable (threshold 2).
    assert groups == {Tier.WATCH: 9, Tier.UNRELIABLE: 3}
    with scope(tenant=june.business):
        tiers = reliability_for(
            tenant=june.business,
            client_ids=[c.pk for c in june.clients.values()],
            now=PERIOD.bounds(__import__("zoneinfo").ZoneInfo("Europe/Madrid"))[1],
        )
    assert {c.name: tiers[c.pk].tier for c in june.clients.values()} == {
        "C1": Tier.WATCH,
        "C2": Tier.WATCH,
        "C3": Tier.UNRELIABLE,
    }


def test_filters_narrow_every_figure(june: June) -> None:
    by_staff = _report(june, filters=ReportFilters(staff_id=june.b.pk)).totals
    assert by_staff.appointments == 4
    assert by_staff.available_minutes == pytest.approx(1200)
    new = _report(june, filters=ReportFilters(segment="new")).totals
    assert new.appointments == 5 and new.utilisation is None
    assert new.money is not None and new.money.fees_charged == Decimal("15.00")
    unreliable = _report(june, filters=ReportFilters(tier=Tier.UNRELIABLE)).totals
    assert unreliable.appointments == 3
    by_service = _report(june, filters=ReportFilters(service_id=june.s60.pk)).totals
    assert by_service.appointments == 2 and by_service.utilisation is None


def test_the_previous_period_and_the_trend(june: June) -> None:
    report = _report(june)
    assert report.previous_period == Period(
        JUNE[0].replace(month=5), JUNE[0].replace(month=5, day=31)
    )
    assert report.previous.appointments == 1 and report.previous.attended == 1
    assert len(report.trend) == 12
    assert report.trend[-1].period == PERIOD
    assert report.trend[-1].indicators.appointments == 12
    assert report.trend[-1].indicators.no_show_rate == pytest.approx(2 / 5)
    assert report.trend[-2].indicators.appointments == 1
    assert report.trend[0].indicators.appointments == 0


def test_the_number_of_queries_does_not_depend_on_the_data_or_the_grouping(june: June) -> None:
    counts = []
    for group_by in (None, GroupBy.STAFF, GroupBy.TIER):
        with CaptureQueriesContext(connection) as captured:
            _report(june, group_by=group_by)
        counts.append(len(captured.captured_queries))
    build_june()  # another business's June: more rows in the tables
    with CaptureQueriesContext(connection) as captured:
        _report(june, group_by=GroupBy.STAFF)
    assert len(captured.captured_queries) == counts[1]
    # At most 10 (PostgreSQL) or 12 (SQLite: the p90 read again) with a grouping, + 2 for
    # the self-service figures (the waitlist's slots, the survey score).
    limit = 12 if connection.vendor == "postgresql" else 14
    assert max(counts) <= limit, counts
