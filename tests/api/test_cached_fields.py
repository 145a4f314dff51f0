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

from appointments.api.serializers import (
    AppointmentCreateSerializer,
    AppointmentDetailSerializer,
    EventSerializer,
)
from appointments.models import Appointment, Source
from appointments.services import Actor, appointment_book, appointment_confirm
from tenants.api import references
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
        try:
            for _ in range(200):
                data = AppointmentDetailSerializer(appointment, context=context).data
                if data != expected[appointment.pk]:
                    failures.append(f"{appointment.pk}: {data}")
                    return
        except Exception as exc:  # reported, not lost with the thread
            failures.append(f"{appointment.pk}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(booked[i % 3],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


class PlainCreateSerializer(AppointmentCreateSerializer):
    """The booking's input, with the fields DRF builds and deep-copies itself."""

    def get_fields(self) -> dict[str, Any]:
        return serializers.Serializer.get_fields(self)


def test_the_booking_input_validates_as_with_drf_s_own_fields_from_threads_at_once(
    in_business: Business, booked: list[Appointment], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six threads validate at once, each its own body (valid, or wrong in its own field):
    each gets exactly the result DRF's own deep-copied fields give. The references' one query
    is answered from what this thread read (the threads' own connections would not see this
    test's rows): what runs at once is the fields' validation alone."""
    context = _context(in_business)
    read: dict[Any, Any] = {}

    def rows_by_id(*, tenant_id: int, wanted: dict[str, Any]) -> Any:
        key = (tenant_id, tuple(sorted((n, r.model.__name__, r.pk) for n, r in wanted.items())))
        if key not in read:
            assert threading.current_thread() is threading.main_thread()
            read[key] = real_rows_by_id(tenant_id=tenant_id, wanted=wanted)
        return read[key]

    real_rows_by_id = references.rows_by_id
    monkeypatch.setattr(references, "rows_by_id", rows_by_id)
    sample = booked[0]
    good = {
        "service": sample.service_id,
        "location": sample.location_id,
        "staff": sample.staff_id,
        "start": "2026-06-03T10:00:00+02:00",
        "client": sample.client_id,
    }
    bodies = [
        good,
        {**good, "start": "2026-06-03T10:00:00"},  # no offset
        {**good, "service": 999_999},  # no such service
        {**{k: v for k, v in good.items() if k != "client"}, "new_client": {"name": "Eva"}},
        {**good, "notes": "Primera\x0bvisita"},  # a control character
        {**good, "staff": None, "new_client": {"name": "X", "phone": "600111222"}},  # both
    ]

    def outcome(serializer_class: type[serializers.Serializer[Any]], body: dict[str, Any]) -> Any:
        with scope(tenant=in_business):
            serializer = serializer_class(data=body, context=context)
            if serializer.is_valid():
                return {k: getattr(v, "pk", v) for k, v in serializer.validated_data.items()}
            return serializer.errors

    expected = [outcome(PlainCreateSerializer, body) for body in bodies]
    assert isinstance(expected[0], dict) and "start" in expected[0]
    assert [sorted(e) for e in expected[1:3]] == [["start"], ["service"]]
    failures: list[str] = []
    start = threading.Barrier(len(bodies))

    def work(index: int) -> None:
        start.wait()
        try:
            for _ in range(100):
                got = outcome(AppointmentCreateSerializer, bodies[index])
                if got != expected[index]:
                    failures.append(f"{index}: {got} != {expected[index]}")
                    return
        except Exception as exc:  # reported, not lost with the thread
            failures.append(f"{index}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
