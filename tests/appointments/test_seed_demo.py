from __future__ import annotations

from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django_scopes import scope

from appointments.models import BLOCKING_STATUSES, Appointment, AppointmentStatus
from tenants.models import Business

pytestmark = pytest.mark.django_db


def test_the_demo_business_is_created_once_with_a_believable_week() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert Business.objects.filter(slug="demo").count() == 1
    assert "already exists" in out.getvalue()
    assert "puntual-demo" in out.getvalue()
    business = Business.objects.get(slug="demo")
    with scope(tenant=business):
        appointments = list(Appointment.objects.order_by("staff_id", "blocked_start"))
    statuses = {a.status for a in appointments}
    assert len(appointments) > 60
    assert {
        AppointmentStatus.ATTENDED,
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.SCHEDULED,
    } <= statuses
    holding = [a for a in appointments if a.status in BLOCKING_STATUSES]
    for before, after in pairwise(holding):
        if before.staff_id == after.staff_id:
            assert before.blocked_end <= after.blocked_start
