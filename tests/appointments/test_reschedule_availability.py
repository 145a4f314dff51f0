"""Rescheduling offers the times next to, and overlapping, the appointment's own time.

The appointment being moved leaves its time: it must not block its own move, whether the
client moves it from their link page or an integrator asks the API for slots and moves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appointments.models import Appointment, Service, Source, StaffMember
from appointments.selectors import availability_for
from appointments.services import Actor, appointment_book
from clients.models import Client
from reminders.links import link_issue, link_url
from reminders.models import AccessAction
from tenants.models import ApiKeyRole, Business, Location
from tenants.services import api_key_create
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    booking_rules,
    staff_offering,
)

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 5, 28, 8, 0, tzinfo=UTC)  # a Thursday
TUESDAY = date(2026, 6, 2)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(TUESDAY, time(hour, minute), tzinfo=MADRID)


@dataclass
class Hour:
    """A 60-minute service on a 30-minute grid, booked Tuesday 10:00-11:00 in Madrid."""

    business: Business
    location: Location
    service: Service
    staff: StaffMember
    client: Client
    appointment: Appointment

    def slots(self, **kwargs: Any) -> list[str]:
        with scope(tenant=self.business):
            found = availability_for(
                tenant=self.business,
                service=self.service,
                location=self.location,
                staff=self.staff,
                start_date=TUESDAY,
                end_date=TUESDAY,
                now=NOW,
                **kwargs,
            )
        return [slot.start.astimezone(MADRID).strftime("%H:%M") for slot in found]

    def fresh(self) -> Appointment:
        with scope(tenant=self.business):
            return Appointment.objects.get(pk=self.appointment.pk)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def hour(db: None) -> Hour:
    business = BusinessFactory(timezone="Europe/Madrid", language="en")
    with scope(tenant=business):
        booking_rules(tenant=business, min_notice_minutes=60, slot_step_minutes=30)
        location = LocationFactory(tenant=business, timezone="Europe/Madrid")
        service = ServiceFactory(tenant=business, name="Long visit", duration_minutes=60)
        staff = staff_offering(
            tenant=business, location=location, services=[service], hours=((time(9), time(13)),)
        )
        client = ClientFactory(tenant=business, name="Ana")
        appointment = appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=_at(10),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
    return Hour(business, location, service, staff, client, appointment)


# --- The selector ------------------------------------------------------------------------


def test_the_appointment_blocks_its_neighbours_for_everyone_else(hour: Hour) -> None:
    assert hour.slots() == ["09:00", "11:00", "11:30", "12:00"]


def test_excluding_the_appointment_offers_the_times_overlapping_its_own(hour: Hour) -> None:
    assert hour.slots(exclude_appointment_id=hour.appointment.pk) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "12:00",
    ]


def test_excluding_one_appointment_still_respects_the_others(hour: Hour) -> None:
    with scope(tenant=hour.business):
        appointment_book(
            tenant=hour.business,
            location=hour.location,
            staff=hour.staff,
            service=hour.service,
            client=ClientFactory(tenant=hour.business),
            start=_at(11, 30),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
    assert hour.slots(exclude_appointment_id=hour.appointment.pk) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
    ]


def test_excluding_an_appointment_costs_no_extra_query(hour: Hour) -> None:
    counts = []
    for kwargs in ({}, {"exclude_appointment_id": hour.appointment.pk}):
        with CaptureQueriesContext(connection) as queries:
            hour.slots(**kwargs)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 4


# --- The client's link page --------------------------------------------------------------


def test_a_client_moves_the_appointment_half_an_hour_later_from_the_link_page(
    hour: Hour,
) -> None:
    with scope(tenant=hour.business):
        token = link_issue(appointment=hour.appointment, action=AccessAction.MANAGE)
        url = urlsplit(link_url(appointment=hour.appointment, token=token)).path
    http = DjangoClient()
    offer = http.post(url, {"action": "reschedule"})
    assert offer.status_code == 200
    page = offer.content.decode()
    half_past_ten = _at(10, 30).astimezone(UTC).isoformat()
    assert f'value="{half_past_ten}"' in page  # overlaps 10:00-11:00: still offered
    assert f'value="{_at(9, 30).astimezone(UTC).isoformat()}"' in page
    assert f'value="{_at(10).astimezone(UTC).isoformat()}"' not in page  # where it already is

    response = http.post(url, {"action": "reschedule_to", "start": half_past_ten})
    assert response.status_code == 303
    moved = hour.fresh()
    assert (moved.start, moved.end, moved.version) == (_at(10, 30), _at(11, 30), 2)


# --- The API -----------------------------------------------------------------------------


def _api_key(business: Business) -> dict[str, Any]:
    with scope(tenant=business):
        _, raw = api_key_create(tenant=business, name="k", role=ApiKeyRole.RECEPTIONIST)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _api_slots(http: DjangoClient, hour: Hour, auth: dict[str, Any], **extra: Any) -> Any:
    params = {
        "service": hour.service.pk,
        "location": hour.location.pk,
        "staff": hour.staff.pk,
        "start": TUESDAY.isoformat(),
        "end": TUESDAY.isoformat(),
        **extra,
    }
    return http.get("/api/v1/availability/", params, **auth)


def test_the_api_offers_and_accepts_a_move_overlapping_the_appointments_own_time(
    client: DjangoClient, hour: Hour
) -> None:
    auth = _api_key(hour.business)
    half_past_ten = _at(10, 30).isoformat()
    plain = _api_slots(client, hour, auth).json()["slots"]
    assert half_past_ten not in [slot["start"] for slot in plain]

    response = _api_slots(client, hour, auth, appointment=hour.appointment.pk)
    assert response.status_code == 200
    offered = [slot["start"] for slot in response.json()["slots"]]
    assert half_past_ten in offered and _at(9, 30).isoformat() in offered

    moved = client.post(
        f"/api/v1/appointments/{hour.appointment.pk}/reschedule/",
        {"start": half_past_ten},
        content_type="application/json",
        **auth,
    )
    assert moved.status_code == 200, moved.content
    assert hour.fresh().start == _at(10, 30)


def test_the_api_refuses_another_business_appointment_to_exclude(
    client: DjangoClient, hour: Hour
) -> None:
    other = BusinessFactory()
    response = _api_slots(client, hour, _api_key(other), appointment=hour.appointment.pk)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "appointment" in body["errors"]


@pytest.mark.parametrize("value", ["abc", "-1", "999999"])
def test_the_api_refuses_a_malformed_or_unknown_appointment(
    client: DjangoClient, hour: Hour, value: str
) -> None:
    response = _api_slots(client, hour, _api_key(hour.business), appointment=value)
    assert response.status_code == 400
    assert "appointment" in response.json()["errors"]
