"""One query for a request's references: the same rows, the same errors as one lookup each."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Model
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from appointments.models import Service, StaffMember
from clients.models import Client
from tenants.api.references import PendingReference, rows_by_id
from tenants.models import Business, Location
from tests.factories import ClientFactory, LocationFactory, ServiceFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _same(a: Model, b: Model) -> bool:
    fields = [f.name for f in type(a)._meta.concrete_fields]
    return bool(model_to_dict(a, fields=fields) == model_to_dict(b, fields=fields))


def test_the_rows_are_those_the_orm_returns_in_one_query(business: Business) -> None:
    with scope(tenant=business):
        service = ServiceFactory(tenant=business, price=Decimal("35.50"), is_active=False)
        location = LocationFactory(tenant=business)
        staff = StaffFactory(tenant=business)
        client = ClientFactory(tenant=business)
    wanted = {
        "service": PendingReference(Service, service.pk),
        "location": PendingReference(Location, location.pk),
        "staff": PendingReference(StaffMember, staff.pk),
        "client": PendingReference(Client, client.pk),
    }

    with CaptureQueriesContext(connection) as queries:
        rows = rows_by_id(tenant_id=business.pk, wanted=wanted)

    assert len(queries) == 1
    with scopes_disabled():
        for name, reference in wanted.items():
            expected = reference.model.objects.get(pk=reference.pk)  # type: ignore[attr-defined]
            assert type(rows[name]) is reference.model
            assert _same(rows[name], expected), name
            assert rows[name]._state.adding is False
    assert rows["service"].price == Decimal("35.50") and rows["service"].is_active is False
    # Converted as the ORM converts (SQLite stores these as text and integers).
    assert rows["client"].created_at == client.created_at
    assert rows["client"].created_at.utcoffset() is not None
    assert rows["client"].sms_consent is client.sms_consent


def test_a_missing_or_foreign_id_is_none_and_the_others_still_load(
    business: Business, other_business: Business
) -> None:
    with scope(tenant=business):
        service = ServiceFactory(tenant=business)
    with scope(tenant=other_business):
        foreign_client = ClientFactory(tenant=other_business)

    rows = rows_by_id(
        tenant_id=business.pk,
        wanted={
            "service": PendingReference(Service, service.pk),
            "client": PendingReference(Client, foreign_client.pk),
            "staff": PendingReference(StaffMember, 999_999),
        },
    )

    assert rows["service"].pk == service.pk
    assert rows["client"] is None and rows["staff"] is None
