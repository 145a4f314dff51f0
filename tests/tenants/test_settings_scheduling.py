"""Services, staff, weekly hours and time off in the settings."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Service, StaffMember, StaffService, TimeOff, WorkingHours
from tenants.models import Business, Location, Role
from tests.conftest import login_member
from tests.factories import LocationFactory, ServiceFactory, StaffFactory, staff_offering

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.ADMIN)


@pytest.fixture
def location(business: Business) -> Location:
    with scope(tenant=business):
        return LocationFactory(tenant=business, name="Centro")


SERVICE: dict[str, Any] = {
    "name": "Consulta online",
    "description": "",
    "duration_minutes": "45",
    "buffer_before_minutes": "5",
    "buffer_after_minutes": "10",
    "price": "35.50",
    "mode": "online",
    "meeting_link_template": "https://meet.example.com/{appointment_id}",
    "color": "#336699",
    "is_active": "on",
}


def test_an_admin_creates_a_service_with_who_performs_it(
    admin: DjangoClient, business: Business
) -> None:
    with scope(tenant=business):
        ana, luis = StaffFactory(tenant=business), StaffFactory(tenant=business)
    response = admin.post("/settings/services/new/", {**SERVICE, "staff": [ana.pk, luis.pk]})
    assert response.status_code == 302
    with scope(tenant=business):
        service = Service.objects.get(name="Consulta online")
        assert set(service.staff.all()) == {ana, luis}
    assert (service.duration_minutes, service.buffer_after_minutes, service.price) == (
        45,
        10,
        Decimal("35.50"),
    )
    # Edit: one performer less, inactive.
    data = {**SERVICE, "staff": [ana.pk]}
    del data["is_active"]
    assert admin.post(f"/settings/services/{service.pk}/", data).status_code == 302
    with scope(tenant=business):
        service.refresh_from_db()
        assert list(service.staff.all()) == [ana]
    assert not service.is_active


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"meeting_link_template": ""}, "meeting_link_template"),
        ({"duration_minutes": "2"}, "duration_minutes"),
        ({"price": "-1"}, "price"),
        ({"buffer_before_minutes": "999"}, "buffer_before_minutes"),
        ({"mode": "teleport"}, "mode"),
        ({"name": "Existing"}, "name"),
    ],
)
def test_a_bad_service_is_a_field_error_and_saves_nothing(
    admin: DjangoClient, business: Business, changes: dict[str, str], field: str
) -> None:
    with scope(tenant=business):
        ServiceFactory(tenant=business, name="Existing")
    response = admin.post("/settings/services/new/", {**SERVICE, **changes})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    with scope(tenant=business):
        assert Service.objects.count() == 1


def test_another_business_staff_cannot_be_made_to_perform_a_service(
    admin: DjangoClient, business: Business, other_business: Business
) -> None:
    with scope(tenant=other_business):
        theirs = StaffFactory(tenant=other_business)
    response = admin.post("/settings/services/new/", {**SERVICE, "staff": [theirs.pk]})
    assert response.status_code == 400
    assert "staff" in response.context["form"].errors
    with scope(tenant=other_business):
        assert not StaffService.objects.filter(staff=theirs).exists()


def test_an_admin_adds_a_staff_member_then_their_week_with_a_break(
    admin: DjangoClient, business: Business, location: Location
) -> None:
    response = admin.post(
        "/settings/staff/new/",
        {
            "display_name": "Dra. Ruiz",
            "color": "#aa3355",
            "is_active": "on",
            "locations": [location.pk],
        },
    )
    assert response.status_code == 302
    with scope(tenant=business):
        staff = StaffMember.objects.get(display_name="Dra. Ruiz")
    assert response["Location"] == f"/settings/staff/{staff.pk}/"
    rows = [
        (0, "09:00", "14:00"),
        (0, "15:00", "19:00"),
        (2, "10:00", "13:00"),
    ]
    response = admin.post(f"/settings/staff/{staff.pk}/hours/", _hours(rows, location, blank=2))
    assert response.status_code == 302
    with scope(tenant=business):
        week = list(
            WorkingHours.objects.filter(staff=staff).values_list(
                "weekday", "start_time", "end_time"
            )
        )
    assert week == [(0, time(9), time(14)), (0, time(15), time(19)), (2, time(10), time(13))]
    page = admin.get(f"/settings/staff/{staff.pk}/").content.decode()
    assert 'value="15:00"' in page


def _hours(
    rows: list[tuple[int, str, str]], location: Location, blank: int = 0, remove: int | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "hours-TOTAL_FORMS": str(len(rows) + blank),
        "hours-INITIAL_FORMS": "0",
    }
    for index, (weekday, start, end) in enumerate(rows):
        data |= {
            f"hours-{index}-weekday": str(weekday),
            f"hours-{index}-location": str(location.pk),
            f"hours-{index}-start_time": start,
            f"hours-{index}-end_time": end,
        }
        if index == remove:
            data[f"hours-{index}-remove"] = "on"
    for index in range(len(rows), len(rows) + blank):
        # As a browser sends an untouched row.
        data |= {
            f"hours-{index}-weekday": "",
            f"hours-{index}-location": "",
            f"hours-{index}-start_time": "",
            f"hours-{index}-end_time": "",
        }
    return data


@pytest.fixture
def staff(business: Business, location: Location) -> StaffMember:
    with scope(tenant=business):
        return staff_offering(tenant=business, location=location, services=[], weekdays=range(1))


@pytest.mark.parametrize(
    ("rows", "row", "field"),
    [
        ([(0, "09:00", "14:00"), (0, "13:00", "16:00")], "1", "start_time"),
        ([(0, "14:00", "09:00")], "0", "end_time"),
        ([(0, "09:00", "")], "0", "end_time"),
        ([(0, "", "10:00")], "0", "start_time"),
    ],
)
def test_bad_hours_are_row_errors_and_keep_the_week(
    admin: DjangoClient,
    business: Business,
    location: Location,
    staff: StaffMember,
    rows: list[tuple[int, str, str]],
    row: str,
    field: str,
) -> None:
    with scope(tenant=business):
        before = list(
            WorkingHours.objects.filter(staff=staff).values_list("start_time", "end_time")
        )
    response = admin.post(f"/settings/staff/{staff.pk}/hours/", _hours(rows, location))
    assert response.status_code == 400
    hours = response.context["hours"]
    assert field in hours.forms[int(row)].errors
    with scope(tenant=business):
        after = list(WorkingHours.objects.filter(staff=staff).values_list("start_time", "end_time"))
    assert after == before


def test_hours_at_a_location_the_staff_member_does_not_work_at_are_refused(
    admin: DjangoClient, business: Business, staff: StaffMember
) -> None:
    with scope(tenant=business):
        elsewhere = LocationFactory(tenant=business, name="Norte")
    response = admin.post(
        f"/settings/staff/{staff.pk}/hours/", _hours([(1, "09:00", "10:00")], elsewhere)
    )
    assert response.status_code == 400
    assert "location" in response.context["hours"].forms[0].errors


def test_a_removed_row_drops_its_interval(
    admin: DjangoClient, business: Business, location: Location, staff: StaffMember
) -> None:
    data = _hours([(0, "09:00", "14:00"), (0, "15:00", "19:00")], location, remove=1)
    assert admin.post(f"/settings/staff/{staff.pk}/hours/", data).status_code == 302
    with scope(tenant=business):
        assert WorkingHours.objects.filter(staff=staff).count() == 1


def test_time_off_is_read_in_the_staff_members_zone_and_can_be_removed(
    admin: DjangoClient, business: Business, staff: StaffMember
) -> None:
    response = admin.post(
        f"/settings/staff/{staff.pk}/time-off/",
        {"off-start": "2030-08-03T09:00", "off-end": "2030-08-03T14:00", "off-reason": "Médico"},
    )
    assert response.status_code == 302
    with scope(tenant=business):
        period = TimeOff.objects.get(staff=staff)
    # Madrid in summer is UTC+2.
    assert (period.start, period.end) == (
        datetime(2030, 8, 3, 7, tzinfo=UTC),
        datetime(2030, 8, 3, 12, tzinfo=UTC),
    )
    page = admin.get(f"/settings/staff/{staff.pk}/").content.decode()
    assert "Médico" in page and "09:00" in page
    assert admin.post(f"/settings/time-off/{period.pk}/delete/").status_code == 302
    with scope(tenant=business):
        assert not TimeOff.objects.filter(staff=staff).exists()


def test_time_off_ending_before_it_starts_is_a_field_error(
    admin: DjangoClient, business: Business, staff: StaffMember
) -> None:
    response = admin.post(
        f"/settings/staff/{staff.pk}/time-off/",
        {"off-start": "2030-08-03T14:00", "off-end": "2030-08-03T09:00"},
    )
    assert response.status_code == 400
    assert "end" in response.context["time_off_form"].errors
    with scope(tenant=business):
        assert not TimeOff.objects.exists()


def test_a_staff_name_used_twice_is_a_field_error(
    admin: DjangoClient, business: Business, staff: StaffMember
) -> None:
    response = admin.post(
        "/settings/staff/new/", {"display_name": staff.display_name, "color": "#123456"}
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["display_name"]


def test_a_staff_member_is_edited_with_services_and_locations(
    admin: DjangoClient, business: Business, location: Location, staff: StaffMember
) -> None:
    with scope(tenant=business):
        service = ServiceFactory(tenant=business)
    response = admin.post(
        f"/settings/staff/{staff.pk}/",
        {
            "display_name": "Renamed",
            "color": "#112233",
            "services": [service.pk],
            "locations": [location.pk],
        },
    )
    assert response.status_code == 302
    with scope(tenant=business):
        staff.refresh_from_db()
        assert list(staff.services.all()) == [service]
    assert (staff.display_name, staff.is_active) == ("Renamed", False)
