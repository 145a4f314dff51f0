"""Clients' reliability: counts over a window and the tier, for a list of clients in one query."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from appointments.models import Appointment
from appointments.services import (
    Actor,
    appointment_cancel,
    appointment_mark_attended,
    appointment_mark_no_show,
)
from clients.models import Client
from policies.choices import Tier
from policies.selectors import months_before, reliability_for, tier_for
from policies.services import policy_create, policy_terms_snapshot
from tests.factories import ClientFactory
from tests.policies.conftest import MONDAY_10, NOW, Shop

pytestmark = pytest.mark.django_db

CLIENT = Actor.client("online")


def _visit(shop: Shop, client: Client, weeks_ago: int) -> Appointment:
    # One staff member: each client gets their own hour of the morning, in Madrid's local time
    # (weeks ago may be summer time: the same UTC hour would be an hour later on the clock).
    day = (MONDAY_10 - timedelta(weeks=weeks_ago)).date()
    start = datetime.combine(day, time(10 + client.pk % 4), tzinfo=ZoneInfo("Europe/Madrid"))
    appointment = shop.book(start=start, client=client, now=start - timedelta(days=7))
    policy_terms_snapshot(appointment, now=start - timedelta(days=7))
    return appointment


def _cancel(appointment: Appointment, *, hours_before: int) -> None:
    moment = appointment.start - timedelta(hours=hours_before)
    # The cancellation decides, under the terms stored at booking, whether it was late.
    appointment_cancel(appointment=appointment, actor=CLIENT, now=moment)


def test_counts_and_tiers_for_a_list_of_clients_in_one_query(
    shop: Shop, django_assert_num_queries: Any
) -> None:
    policy_create(tenant=shop.business, cancellation_window_hours=48)
    steady, shaky, flaky, newcomer = (ClientFactory(tenant=shop.business) for _ in range(4))
    system = Actor.system()
    for weeks in (1, 2):
        appointment = _visit(shop, steady, weeks)
        appointment_mark_attended(appointment=appointment, actor=system, now=appointment.start)
    _cancel(_visit(shop, steady, 3), hours_before=72)  # on time: no strike

    appointment = _visit(shop, shaky, 1)
    appointment_mark_no_show(appointment=appointment, actor=system, now=appointment.start)
    appointment = _visit(shop, shaky, 2)
    appointment_mark_attended(appointment=appointment, actor=system, now=appointment.start)

    appointment = _visit(shop, flaky, 1)
    appointment_mark_no_show(appointment=appointment, actor=system, now=appointment.start)
    _cancel(_visit(shop, flaky, 2), hours_before=47)  # late
    # Staff cancelling is never the client's strike.
    staff_cancelled = _visit(shop, flaky, 3)
    appointment_cancel(
        appointment=staff_cancelled, actor=Actor.api_key("desk"), now=staff_cancelled.start
    )

    ids = [steady.pk, shaky.pk, flaky.pk, newcomer.pk]
    with django_assert_num_queries(1):
        result = reliability_for(tenant=shop.business, client_ids=ids, now=NOW, threshold=2)

    assert (result[steady.pk].attended, result[steady.pk].on_time_cancellations) == (2, 1)
    assert result[steady.pk].tier == Tier.RELIABLE
    assert (result[shaky.pk].no_shows, result[shaky.pk].tier) == (1, Tier.WATCH)
    flaky_counts = result[flaky.pk]
    assert (flaky_counts.no_shows, flaky_counts.late_cancellations) == (1, 1)
    assert flaky_counts.on_time_cancellations == 0 and flaky_counts.tier == Tier.UNRELIABLE
    assert result[newcomer.pk].tier == Tier.NEW and result[newcomer.pk].visits_ever == 0


def test_only_the_window_counts_but_every_visit_makes_a_client_known(shop: Shop) -> None:
    client = ClientFactory(tenant=shop.business)
    old = _visit(shop, client, 40)  # about nine months ago
    appointment_mark_no_show(appointment=old, actor=Actor.system(), now=old.start)
    older = _visit(shop, client, 50)
    appointment_mark_attended(appointment=older, actor=Actor.system(), now=older.start)
    counts = reliability_for(
        tenant=shop.business, client_ids=[client.pk], now=NOW, window_months=6
    )[client.pk]
    assert (counts.no_shows, counts.attended, counts.visits_ever) == (0, 0, 1)
    assert counts.tier == Tier.RELIABLE
    wider = reliability_for(
        tenant=shop.business, client_ids=[client.pk], now=NOW, window_months=12
    )[client.pk]
    assert wider.no_shows == 1


def test_another_business_appointments_never_count(shop: Shop, other_shop: Shop) -> None:
    appointment = _visit(shop, shop.client, 1)
    appointment_mark_no_show(appointment=appointment, actor=Actor.system(), now=appointment.start)
    counts = reliability_for(tenant=other_shop.business, client_ids=[shop.client.pk], now=NOW)
    assert counts[shop.client.pk].no_shows == 0


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 8, 31, 12, tzinfo=UTC), 6, datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2026, 3, 5, 9, tzinfo=UTC), 6, datetime(2025, 9, 5, 9, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 13, datetime(2024, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_tiers() -> None:
    assert tier_for(visits_ever=0, strikes=0, threshold=2) == Tier.NEW
    assert tier_for(visits_ever=3, strikes=0, threshold=2) == Tier.RELIABLE
    assert tier_for(visits_ever=0, strikes=1, threshold=2) == Tier.WATCH
    assert tier_for(visits_ever=9, strikes=2, threshold=2) == Tier.UNRELIABLE
