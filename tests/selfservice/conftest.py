from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django_scopes import scope

from appointments.models import Service, StaffMember
from reminders.channels.sms import LocmemSMSBackend
from tenants.models import Business, Location
from tests.factories import BusinessFactory, LocationFactory, ServiceFactory, staff_offering

# Thursday 28 May 2026, 08:00 UTC (10:00 in Madrid).
NOW = datetime(2026, 5, 28, 8, 0, tzinfo=UTC)


@dataclass
class Shop:
    business: Business
    location: Location
    service: Service
    ana: StaffMember
    bea: StaffMember


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_outboxes() -> Iterator[None]:
    cache.clear()
    LocmemSMSBackend.outbox.clear()
    yield
    cache.clear()


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def shop(db: None) -> Shop:
    business = BusinessFactory(name="Clínica Sonrisa", slug="sonrisa")
    with scope(tenant=business):
        location = LocationFactory(tenant=business, name="Centro", address="Calle Mayor 1, Madrid")
        service = ServiceFactory(tenant=business, name="Cleaning", duration_minutes=30)
        ana = staff_offering(
            tenant=business, location=location, services=[service], display_name="Ana"
        )
        bea = staff_offering(
            tenant=business, location=location, services=[service], display_name="Bea"
        )
    return Shop(business=business, location=location, service=service, ana=ana, bea=bea)
