"""tenants.rows: instances from a hand-written SELECT equal the ORM's, field by field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Model
from django_scopes import scopes_disabled

from reminders.models import Purpose, ReminderRule, RuleChannel
from tenants.models import Business
from tenants.rows import column_count, instances, select_list
from tests.factories import BusinessFactory, ServiceFactory

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
