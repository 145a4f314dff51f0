"""The business profile, locations and booking rules pages, and who may open the settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import BookingRules, Source
from appointments.services import Actor, appointment_book
from reminders.models import OutboundMessage, ReminderRule, RuleChannel
from tenants.models import Business, Location, Role
from tenants.services import business_update, location_create
from tests.conftest import login_member
from tests.factories import (
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

pytestmark = pytest.mark.django_db

PROFILE: dict[str, Any] = {
    "name": "Clínica Norte",
    "timezone": "America/Mexico_City",
    "language": "es",
    "currency": "mxn",
    "country": "mx",
    "email": "hola@norte.test",
    "phone": "+52 55 1234 5678",
    "website": "https://norte.test",
    "sms_quiet_start": "22:00",
    "sms_quiet_end": "07:30",
    "sms_sender": "",
}


@pytest.fixture
def admin(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.ADMIN)


def test_an_admin_changes_the_business_profile(admin: DjangoClient, business: Business) -> None:
    response = admin.post("/settings/", PROFILE)
    assert response.status_code == 302
    business.refresh_from_db()
    assert (business.name, business.timezone, business.currency, business.country) == (
        "Clínica Norte",
        "America/Mexico_City",
        "MXN",
        "MX",
    )
    assert (business.sms_quiet_start, business.sms_quiet_end) == (time(22), time(7, 30))
    page = admin.get("/settings/").content.decode()
    assert 'value="Clínica Norte"' in page


def test_an_admin_asks_to_approve_new_clients_bookings_and_can_stop(
    admin: DjangoClient, business: Business
) -> None:
    page = admin.get("/settings/").content.decode()
    assert "Require staff approval for new clients" in page
    assert admin.post("/settings/", {**PROFILE, "approve_new_clients": "on"}).status_code == 302
    business.refresh_from_db()
    assert business.approve_new_clients
    box = re.search(r'<input[^>]*name="approve_new_clients"[^>]*>', admin.get("/settings/").text)
    assert box is not None and "checked" in box.group(0)
    assert admin.post("/settings/", PROFILE).status_code == 302  # an unticked box: off
    business.refresh_from_db()
    assert not business.approve_new_clients


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("currency", "XXY"),
        ("country", "ZZ"),
        ("sms_sender", "12345"),
        ("sms_quiet_start", "25:00"),
        ("email", "not-an-email"),
        ("name", ""),
        ("language", "fr"),
    ],
)
def test_a_bad_profile_value_is_a_field_error_and_changes_nothing(
    admin: DjangoClient, business: Business, field: str, value: str
) -> None:
    before = Business.objects.values().get(pk=business.pk)
    response = admin.post("/settings/", {**PROFILE, field: value})
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert "Nothing was saved" in response.content.decode()
    assert Business.objects.values().get(pk=business.pk) == before


def test_an_empty_post_shows_errors_instead_of_failing(admin: DjangoClient) -> None:
    response = admin.post("/settings/", {})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors


def test_new_quiet_hours_replan_the_sms_not_sent_yet(business: Business) -> None:
    now = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    with scope(tenant=business):
        location = LocationFactory(tenant=business)
        service = ServiceFactory(tenant=business)
        staff = staff_offering(tenant=business, location=location, services=[service])
        rule = ReminderRule.objects.create(
            tenant=business,
            name="r",
            purpose="reminder",
            channel=RuleChannel.SMS,
            offset_minutes=60,
        )
        # 10:00 Madrid on a Wednesday: the SMS is due at 09:00 local.
        appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=ClientFactory(tenant=business),
            start=datetime(2026, 6, 3, 8, 0, tzinfo=UTC),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=now,
        )
        message = OutboundMessage.objects.get(rule=rule)
        assert message.send_at == datetime(2026, 6, 3, 7, 0, tzinfo=UTC)
        business_update(
            business=business, sms_quiet_start=time(8), sms_quiet_end=time(9, 30), now=now
        )
        message.refresh_from_db()
    # Inside the new quiet hours: it goes when they end (09:30 Madrid), still before 10:00.
    assert message.send_at == datetime(2026, 6, 3, 7, 30, tzinfo=UTC)


def test_business_update_refuses_unknown_fields(business: Business) -> None:
    with pytest.raises(TypeError):
        business_update(business=business, slug="other")


def test_an_admin_adds_and_edits_a_location(admin: DjangoClient, business: Business) -> None:
    response = admin.post(
        "/settings/locations/new/",
        {"name": "Sede Sur", "timezone": "Europe/Madrid", "address": "Calle 1", "is_active": "on"},
    )
    assert response.status_code == 302
    with scope(tenant=business):
        location = Location.objects.get(name="Sede Sur")
    assert "Sede Sur" in admin.get("/settings/locations/").content.decode()
    response = admin.post(
        f"/settings/locations/{location.pk}/", {"name": "Sede Sur 2", "timezone": "Atlantic/Canary"}
    )
    assert response.status_code == 302
    location.refresh_from_db()
    assert (location.name, location.timezone, location.is_active) == (
        "Sede Sur 2",
        "Atlantic/Canary",
        False,
    )


def test_a_location_name_used_twice_is_a_field_error(
    admin: DjangoClient, business: Business
) -> None:
    with scope(tenant=business):
        LocationFactory(tenant=business, name="Centro")
    response = admin.post("/settings/locations/new/", {"name": "Centro", "timezone": "UTC"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        "This name is already used in this business."
    ]
    with scope(tenant=business):
        assert Location.objects.filter(name="Centro").count() == 1


def test_location_create_checks_the_time_zone(business: Business) -> None:
    with scope(tenant=business), pytest.raises(ValidationError) as caught:
        location_create(tenant=business, name="X", timezone="Nowhere/City")
    assert "timezone" in caught.value.message_dict


def test_an_admin_sets_the_booking_rules(admin: DjangoClient, business: Business) -> None:
    assert admin.get("/settings/booking-rules/").status_code == 200
    response = admin.post(
        "/settings/booking-rules/",
        {"min_notice_minutes": "30", "max_advance_days": "90", "slot_step_minutes": "10"},
    )
    assert response.status_code == 302
    with scope(tenant=business):
        rules = BookingRules.objects.get(tenant=business)
    assert (rules.min_notice_minutes, rules.max_advance_days, rules.slot_step_minutes) == (
        30,
        90,
        10,
    )
    for field, value in [("min_notice_minutes", "-1"), ("slot_step_minutes", "1")]:
        response = admin.post(
            "/settings/booking-rules/",
            {"min_notice_minutes": "0", "max_advance_days": "90", "slot_step_minutes": "5"}
            | {field: value},
        )
        assert response.status_code == 400
        assert list(response.context["form"].errors) == [field]
    with scope(tenant=business):
        assert BookingRules.objects.get(tenant=business).slot_step_minutes == 10


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.PROVIDER])
def test_receptionists_and_providers_get_403_and_no_settings_link(
    client: DjangoClient, business: Business, role: str
) -> None:
    login_member(client, business, role)
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", PROFILE).status_code == 403
    assert 'href="/settings/"' not in client.get("/dashboard/").content.decode()
    business.refresh_from_db()
    assert business.name != "Clínica Norte"


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_find_the_settings_in_the_navigation(
    client: DjangoClient, business: Business, role: str
) -> None:
    login_member(client, business, role)
    assert 'href="/settings/"' in client.get("/dashboard/").content.decode()


def test_visitors_are_sent_to_log_in(client: DjangoClient) -> None:
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_settings_speak_spanish(client: DjangoClient, business: Business) -> None:
    login_member(client, business, Role.OWNER, language="es")
    page = client.get("/settings/").content.decode()
    assert "Perfil del negocio" in page


def test_a_deactivated_member_cannot_open_the_settings(
    client: DjangoClient, business: Business
) -> None:
    login_member(client, business, Role.ADMIN)
    with scope(tenant=business):
        business_member = business
    from tenants.models import Membership

    with scope(tenant=business_member):
        Membership.objects.filter(tenant=business).update(is_active=False)
    response = client.get("/settings/")
    assert response.status_code == 403
