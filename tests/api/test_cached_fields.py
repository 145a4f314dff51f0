"""CachedFieldsMixin: the output serializers' fields built once per class, copied per instance.

Its copies must behave exactly as DRF's own fields would, and no two instances (two threads
of a gthread worker answering at once) may share a field that `bind()` changes.
"""

from __future__ import annotations

import threading
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import prefetch_related_objects
from django_scopes import scope
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from appointments.api.serializers import AppointmentDetailSerializer, EventSerializer
from appointments.models import Appointment, Source
from appointments.services import Actor, appointment_book, appointment_confirm
from tenants.models import Business
from tests.factories import ClientFactory, LocationFactory, ServiceFactory, staff_offering

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 5, 25, 8, tzinfo=ZoneInfo("UTC"))


class PlainEventSerializer(serializers.ModelSerializer[Any]):
    class Meta(EventSerializer.Meta):
        pass


class PlainDetailSerializer(AppointmentDetailSerializer):
    """The same fields, built and deep-copied by DRF itself for every instance."""

    events: Any = PlainEventSerializer(many=True)

    def get_fields(self) -> dict[str, Any]:
        return serializers.ModelSerializer.get_fields(self)


@pytest.fixture
def booked(in_business: Business) -> list[Appointment]:
    location = LocationFactory(tenant=in_business, timezone="Europe/Madrid")
    service = ServiceFactory(tenant=in_business)
    staff = staff_offering(tenant=in_business, location=location, services=[service])
    made = []
    for hour, name in ((9, "Ana"), (10, "Bea"), (11, "Carla")):
        appointment = appointment_book(
            tenant=in_business,
            location=location,
            staff=staff,
            service=service,
            client=ClientFactory(tenant=in_business, name=name),
            start=datetime.combine(NOW.date().replace(day=27), time(hour), tzinfo=MADRID),
            source=Source.API,
            actor=Actor.system(),
            now=NOW,
        )
        made.append(appointment)
    appointment_confirm(appointment=made[1], actor=Actor.system(), now=NOW)
    fresh = list(
        Appointment.objects.filter(pk__in=[a.pk for a in made])
        .select_related("client")
        .order_by("start")
    )
    prefetch_related_objects(fresh, "events")
    return fresh


def _context(business: Business) -> dict[str, Any]:
    request = APIRequestFactory().get("/")
    request.tenant = business  # type: ignore[attr-defined]
    return {"request": request}


def test_the_cached_fields_give_what_drf_s_own_fields_give(
    in_business: Business, booked: list[Appointment]
) -> None:
    context = _context(in_business)
    for appointment in booked:
        ours = AppointmentDetailSerializer(appointment, context=context).data
        drf = PlainDetailSerializer(appointment, context=context).data
        assert ours == drf
    assert [e["kind"] for e in ours["events"]] == ["created"]
    assert AppointmentDetailSerializer(booked[1], context=context).data["status"] == "confirmed"


def test_no_two_instances_share_a_field_bind_changes(
    in_business: Business, booked: list[Appointment]
) -> None:
    context = _context(in_business)
    first = AppointmentDetailSerializer(booked[0], context=context)
    second = AppointmentDetailSerializer(booked[1], context=context)
    for name, field in first.fields.items():
        other = second.fields[name]
        assert field is not other, name
        assert field.parent is first and other.parent is second
    events: Any = first.fields["events"]
    other_events: Any = second.fields["events"]
    assert isinstance(events, serializers.ListSerializer)
    assert events.child is not other_events.child
    client: Any = first.fields["client"]
    other_client: Any = second.fields["client"]
    assert client.fields["name"] is not other_client.fields["name"]


def test_threads_serialising_at_once_each_get_their_own_appointment(
    in_business: Business, booked: list[Appointment]
) -> None:
    context = _context(in_business)
    with scope(tenant=in_business):
        expected = {a.pk: PlainDetailSerializer(a, context=context).data for a in booked}
    failures: list[str] = []
    start = threading.Barrier(6)

    def work(appointment: Appointment) -> None:
        start.wait()
        for _ in range(200):
            data = AppointmentDetailSerializer(appointment, context=context).data
            if data != expected[appointment.pk]:
                failures.append(f"{appointment.pk}: {data}")
                return

    threads = [threading.Thread(target=work, args=(booked[i % 3],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
