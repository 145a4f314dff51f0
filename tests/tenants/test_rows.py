"""tenants.rows: instances from a hand-written SELECT equal the ORM's, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Model
from django_scopes import scopes_disabled

from appointments.models import Appointment, AppointmentEvent, AppointmentStatus, EventKind
from reminders.models import Purpose, ReminderRule, RuleChannel
from tenants.models import Business
from tenants.rows import column_count, insert, instances, select_list
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

pytestmark = pytest.mark.django_db


def _fields(instance: Model) -> dict[str, object]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_rows_of_several_models_become_the_instances_the_orm_makes() -> None:
    business = BusinessFactory(timezone="Europe/Madrid", language="es")
    service = ServiceFactory(tenant=business, price=Decimal("35.50"))
    with scopes_disabled():
        rule = ReminderRule.objects.create(
            tenant=business,
            name="Day before",
            purpose=Purpose.REMINDER,
            channel=RuleChannel.SMS,
            offset_minutes=1440,
            texts={"es": {"sms": "Hola {client}"}},
        )
        sql = (
            f"SELECT {select_list(Business, 'b')}, {select_list(type(service), 's')},"  # noqa: S608
            f" {select_list(ReminderRule, 'r')}"
            f" FROM {Business._meta.db_table} b"
            f" JOIN {service._meta.db_table} s ON s.tenant_id = b.id"
            f" JOIN {ReminderRule._meta.db_table} r ON r.tenant_id = b.id WHERE b.id = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [business.pk])
            row = cursor.fetchone()
        loaded = instances(row, (Business, type(service), ReminderRule))
        expected = [
            Business.objects.get(pk=business.pk),
            type(service).objects.get(pk=service.pk),
            ReminderRule.objects.get(pk=rule.pk),
        ]
    assert [_fields(instance) for instance in loaded] == [_fields(i) for i in expected]
    loaded_rule = loaded[2]
    assert isinstance(loaded_rule, ReminderRule)
    assert loaded_rule.texts == {"es": {"sms": "Hola {client}"}}  # JSON, not its text
    assert not loaded[0]._state.adding  # saved instances, as the ORM makes them
    assert len(row) == sum(column_count(m) for m in (Business, type(service), ReminderRule))


def _saved(instance: Model, *, skip: tuple[str, ...] = ("id",)) -> dict[str, object]:
    with scopes_disabled():
        fresh = type(instance)._default_manager.get(pk=instance.pk)
    return {k: v for k, v in _fields(fresh).items() if k not in skip}


def test_insert_writes_what_the_orm_writes_and_marks_the_instances_saved() -> None:
    business = BusinessFactory(timezone="Europe/Madrid")
    service = ServiceFactory(tenant=business, price=Decimal("35.50"))
    location = LocationFactory(tenant=business)
    staff = staff_offering(tenant=business, location=location, services=[service])
    client = ClientFactory(tenant=business)
    start = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)

    def appointment(minutes: int) -> Appointment:
        at = start + timedelta(minutes=minutes)
        return Appointment(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=at,
            end=at + timedelta(minutes=30),
            blocked_start=at,
            blocked_end=at + timedelta(minutes=30),
            status=AppointmentStatus.SCHEDULED,
            source="api",
            notes="Primera visita\nsin prisa",
            price=service.price,
            created_at=start,
        )

    ours, theirs = appointment(0), appointment(60)
    insert([ours])
    with scopes_disabled():
        Appointment.objects.bulk_create([theirs])
    assert ours.pk is not None and not ours._state.adding and ours._state.db == "default"
    differ = ("id", "start", "end", "blocked_start", "blocked_end", "updated_at")
    assert _saved(ours, skip=differ) == _saved(theirs, skip=differ)
    assert ours.updated_at is not None  # auto_now ran, as save() would have

    events = [
        AppointmentEvent(
            tenant=business,
            appointment=ours,
            kind=EventKind.CREATED,
            to_status=AppointmentStatus.SCHEDULED,
            actor_type="system",
            data={"from": {"start": "09:00", "staff": None}, "note": "ñ"},
            at=start,
        ),
        AppointmentEvent(
            tenant=business, appointment=ours, kind=EventKind.NOTE, reason="Llega tarde", at=start
        ),
    ]
    insert(events)
    assert [e.pk for e in events] == sorted(e.pk for e in events)  # ids in VALUES order
    assert _saved(events[0], skip=())["data"] == {
        "from": {"start": "09:00", "staff": None},
        "note": "ñ",
    }
    assert _saved(events[1], skip=())["reason"] == "Llega tarde"
    insert([])  # nothing to do


def test_insert_refuses_what_it_cannot_write_as_bulk_create_would() -> None:
    business = BusinessFactory()
    service = ServiceFactory(tenant=business)
    with pytest.raises(TypeError):
        insert([business, service])
    with pytest.raises(ValueError, match="new instances"):
        insert([service])  # already saved
    unsaved = BusinessFactory.build()
    with pytest.raises(ValueError):  # a related object not saved yet
        insert([ServiceFactory.build(tenant=unsaved)])
