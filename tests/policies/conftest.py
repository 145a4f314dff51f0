from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django_scopes import scope

from appointments.models import Appointment, Service, Source, StaffMember
from appointments.services import Actor, appointment_book
from clients.models import Client
from tenants.models import Business, Location
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    booking_rules,
    staff_offering,
)

# A Thursday morning; the appointments below are the next week's, Madrid time.
NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
MONDAY_10 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # 10:00 in Madrid


class Shop:
    """A business with one service (40 €), one staff member, one client; bookings on demand."""

    def __init__(self, business: Business) -> None:
        self.business = business
        booking_rules(tenant=business, max_advance_days=30)
        self.location: Location = LocationFactory(tenant=business, timezone="Europe/Madrid")
        self.service: Service = ServiceFactory(tenant=business, price=Decimal("40.00"))
        self.staff: StaffMember = staff_offering(
            tenant=business, location=self.location, services=[self.service]
        )
        self.client: Client = ClientFactory(tenant=business, language="en")

    def book(
        self,
        start: datetime = MONDAY_10,
        *,
        client: Client | None = None,
        now: datetime = NOW,
        **kwargs: Any,
    ) -> Appointment:
        return appointment_book(
            tenant=self.business,
            location=self.location,
            staff=self.staff,
            service=self.service,
            client=client or self.client,
            start=start,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=now,
            **kwargs,
        )

    def next_slot(self, days: int) -> datetime:
        return MONDAY_10 + timedelta(days=days)


@pytest.fixture
def shop(business: Business) -> Iterator[Shop]:
    with scope(tenant=business):
        yield Shop(business)


@pytest.fixture
def other_shop(db: None) -> Shop:
    business = BusinessFactory()
    with scope(tenant=business):
        return Shop(business)
