"""Bad input on every settings form: a clear answer (400 with errors, or a refusal), never a 500,
and nothing of the business changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import BookingRules, Service, StaffMember, TimeOff, WorkingHours
from policies.models import Policy
from reminders.models import Purpose, ReminderRule, RuleChannel
from tenants.models import ApiKey, Business, Location, Membership, Role
from tests.conftest import login_member
from tests.factories import LocationFactory, PolicyFactory, ServiceFactory, staff_offering

pytestmark = pytest.mark.django_db

JUNK = [
    "",
    "x" * 300,
    "-1",
    "99999999999999999999999999",
    "1e400",
    "NaN",
    "bad\x00null",
    "2026-03-29T02:30",  # a local time that does not exist in Madrid
    "25:61",
    "<script>alert(1)</script>",
]


@pytest.fixture
def world(client: DjangoClient, business: Business) -> dict[str, Any]:
    login_member(client, business, Role.OWNER)
    with scope(tenant=business):
        location = LocationFactory(tenant=business)
        service = ServiceFactory(tenant=business)
        staff = staff_offering(tenant=business, location=location, services=[service])
        rule = ReminderRule.objects.create(
            tenant=business,
            name="r",
            purpose=Purpose.REMINDER,
            channel=RuleChannel.SMS,
            offset_minutes=60,
        )
        policy = PolicyFactory(tenant=business)
    return {
        "location": location,
        "service": service,
        "staff": staff,
        "rule": rule,
        "policy": policy,
    }


def _snapshot(business: Business) -> Any:
    with scope(tenant=business):
        return [
            list(model.objects.values())
            for model in (
                Location,
                Service,
                StaffMember,
                WorkingHours,
                TimeOff,
                BookingRules,
                ReminderRule,
                Policy,
                Membership,
                ApiKey,
            )
        ] + [Business.objects.filter(pk=business.pk).values().get()]


def _forms(world: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Each form's URL and a valid body."""
    return [
        (
            "/settings/",
            {
                "name": "B",
                "timezone": "Europe/Madrid",
                "language": "en",
                "currency": "EUR",
                "country": "ES",
                "sms_quiet_start": "21:00",
                "sms_quiet_end": "08:00",
            },
        ),
        (f"/settings/locations/{world['location'].pk}/", {"name": "L", "timezone": "UTC"}),
        (
            f"/settings/services/{world['service'].pk}/",
            {
                "name": "S",
                "duration_minutes": "30",
                "price": "1",
                "mode": "in_person",
                "color": "#000000",
            },
        ),
        (f"/settings/staff/{world['staff'].pk}/", {"display_name": "T", "color": "#000000"}),
        (
            f"/settings/staff/{world['staff'].pk}/hours/",
            {
                "hours-TOTAL_FORMS": "1",
                "hours-INITIAL_FORMS": "0",
                "hours-0-weekday": "0",
                "hours-0-location": str(world["location"].pk),
                "hours-0-start_time": "09:00",
                "hours-0-end_time": "10:00",
            },
        ),
        (
            f"/settings/staff/{world['staff'].pk}/time-off/",
            {"off-start": "2030-01-01T09:00", "off-end": "2030-01-01T10:00"},
        ),
        (
            "/settings/booking-rules/",
            {"min_notice_minutes": "0", "max_advance_days": "1", "slot_step_minutes": "5"},
        ),
        (
            f"/settings/reminders/{world['rule'].pk}/",
            {
                "name": "R",
                "purpose": "reminder",
                "channel": "sms",
                "offset": "1",
                "offset_unit": "hours",
                "texts_en_sms": "Hi {client_name}",
            },
        ),
        (
            f"/settings/policies/{world['policy'].pk}/",
            {
                "deposit_kind": "none",
                "deposit_applies_to": "everyone",
                "cancellation_window_hours": "48",
                "late_cancellation_consequence": "nothing",
                "no_show_consequence": "nothing",
                "credit_days": "0",
                "reschedule_until_hours": "0",
                "reliability_threshold": "2",
                "reliability_window_months": "6",
            },
        ),
        ("/settings/team/invite/", {"email": "new@example.com", "role": "admin"}),
        ("/settings/api-keys/new/", {"name": "k", "role": "admin"}),
    ]


@pytest.mark.parametrize("form", range(11))
def test_no_junk_in_any_field_of_a_settings_form_is_a_server_error(
    client: DjangoClient, business: Business, world: dict[str, Any], form: int
) -> None:
    forms = _forms(world)
    assert len(forms) == 11
    url, valid = forms[form]
    for name in [*valid, "unexpected"]:
        for junk in JUNK:
            before = _snapshot(business)
            response = client.post(url, {**valid, name: junk})
            assert response.status_code in {200, 302, 400}, (url, name, junk)
            if response.status_code == 400:
                assert _snapshot(business) == before, (url, name, junk)
