from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.test import override_settings
from django_scopes import scope

from appointments.models import Appointment, Service, Source
from appointments.services import Actor, appointment_book
from clients.models import Client
from reminders.services.planning import reminder_rules_create_defaults
from tenants.models import Business, Location
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)
from tests.fakes import ScriptedEmailBackend, ScriptedSMSBackend

# Booked on a Wednesday morning for the next Monday and Tuesday.
BOOKED_AT = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)

Book = Callable[..., Appointment]


@pytest.fixture(autouse=True)
def transports() -> Iterator[None]:
    ScriptedSMSBackend.reset()
    ScriptedEmailBackend.reset()
    with override_settings(
        SMS_BACKEND="tests.fakes.ScriptedSMSBackend",
        EMAIL_BACKEND="tests.fakes.ScriptedEmailBackend",
        PUNTUAL_BASE_URL="https://puntual.example",
    ):
        yield


class Clinic:
    def __init__(self, language: str = "en") -> None:
        self.business: Business = BusinessFactory(
            timezone="Europe/Madrid", language=language, phone="+34910000000"
        )
        self.scope = scope(tenant=self.business)
        self.scope.__enter__()
        self.location: Location = LocationFactory(
            tenant=self.business, timezone="Europe/Madrid", address="Calle Mayor 1, Madrid"
        )
        self.service: Service = ServiceFactory(
            tenant=self.business, name="Check-up", duration_minutes=30
        )
        # An early clinic: visits from 07:00, so reminders can fall inside SMS quiet hours.
        self.staff = staff_offering(
            tenant=self.business,
            location=self.location,
            services=[self.service],
            display_name="Dr Ruiz",
            hours=((time(7), time(14)), (time(15), time(20))),
        )
        self.rules = reminder_rules_create_defaults(tenant=self.business)
        self.client: Client = ClientFactory(
            tenant=self.business,
            name="Lucía Pérez",
            phone="+34600111222",
            email="lucia@example.com",
            language="",
        )

    def book(
        self,
        start: datetime,
        *,
        now: datetime = BOOKED_AT,
        client: Client | None = None,
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


@pytest.fixture
def clinic(db: None) -> Iterator[Clinic]:
    clinic = Clinic()
    yield clinic
    clinic.scope.__exit__(None, None, None)
