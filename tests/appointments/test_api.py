"""The scheduling API used as an integrator would: an API key, JSON in, JSON out, stable codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client as DjangoClient
from django_scopes import scope, scopes_disabled

from appointments.models import Appointment, AppointmentStatus, Service, StaffMember
from clients.models import Client
from tenants.models import ApiKeyRole, Business, Location
from tenants.services import api_key_create
from tests.factories import (
    BusinessFactory,
    LocationFactory,
    ServiceFactory,
    booking_rules,
    staff_offering,
)

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
MONDAY = date(2026, 6, 1)
NOW = datetime(2026, 5, 28, 8, 0, tzinfo=UTC)  # the Thursday before


@pytest.fixture(autouse=True)
def frozen_now() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


class Api:
    """A tiny API client for one business's key."""

    def __init__(self, client: DjangoClient, raw_key: str) -> None:
        self.client, self.auth = client, f"Bearer {raw_key}"

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1/{path}", params, HTTP_AUTHORIZATION=self.auth)

    def post(self, path: str, body: dict[str, Any] | None = None, **headers: Any) -> Any:
        return self.client.post(
            f"/api/v1/{path}",
            body or {},
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
            **headers,
        )

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(
            f"/api/v1/{path}", body, content_type="application/json", HTTP_AUTHORIZATION=self.auth
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1/{path}", HTTP_AUTHORIZATION=self.auth)


class Setup:
    def __init__(self) -> None:
        self.business = BusinessFactory(timezone="Europe/Madrid", country="ES")
        with scope(tenant=self.business):
            booking_rules(
                tenant=self.business,
                min_notice_minutes=60,
                max_advance_days=30,
                slot_step_minutes=15,
            )
            self.location: Location = LocationFactory(
                tenant=self.business, timezone="Europe/Madrid"
            )
            self.service: Service = ServiceFactory(
                tenant=self.business, duration_minutes=30, buffer_after_minutes=10
            )
            self.ana: StaffMember = staff_offering(
                tenant=self.business,
                location=self.location,
                services=[self.service],
                display_name="Ana",
            )
            self.bea: StaffMember = staff_offering(
                tenant=self.business,
                location=self.location,
                services=[self.service],
                display_name="Bea",
            )

    def key(self, client: DjangoClient, role: str = ApiKeyRole.ADMIN) -> Api:
        with scope(tenant=self.business):
            _, raw = api_key_create(tenant=self.business, name=f"{role} key", role=role)
        return Api(client, raw)

    def booking(
        self, hour: int = 10, minute: int = 0, staff: StaffMember | None = None, **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "service": self.service.pk,
            "location": self.location.pk,
            "start": datetime.combine(MONDAY, time(hour, minute), tzinfo=MADRID).isoformat(),
            "new_client": {
                "name": "Lucía Pérez",
                "phone": "600 111 222",
                "email": "Lucia@Example.com",
                "sms_consent": True,
            },
        }
        if staff is not None:
            body["staff"] = staff.pk
        body.update(extra)
        return body


@pytest.fixture
def setup() -> Setup:
    return Setup()


@pytest.fixture
def api(client: DjangoClient, setup: Setup) -> Api:
    return setup.key(client)


def test_booking_with_a_new_client_creates_both_and_records_who_did_it(
    api: Api, setup: Setup
) -> None:
    response = api.post("appointments/", setup.booking(staff=setup.ana))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "scheduled"
    assert body["start"] == "2026-06-01T08:00:00Z"
    assert body["end"] == "2026-06-01T08:30:00Z"
    assert body["source"] == "api"
    assert body["price"] == "40.00" and body["currency"] == "EUR"
    assert body["client"]["phone"] == "+34600111222"
    assert body["client"]["email"] == "lucia@example.com"
    assert [(e["kind"], e["actor_type"], e["channel"]) for e in body["events"]] == [
        ("created", "api_key", "api")
    ]


def test_booking_an_existing_client_takes_a_fixed_handful_of_queries(
    api: Api, setup: Setup, django_assert_num_queries: Any
) -> None:
    """The busiest request: a guard against a lookup per field or a query per event."""
    first = api.post("appointments/", setup.booking(10, staff=setup.ana)).json()
    body = setup.booking(11, staff=setup.ana, client=first["client"]["id"])
    del body["new_client"]
    # Key; the four references; the offer (with the staff member's rules, hours and time off
    # that day); (PostgreSQL: lock the staff row); their appointments; insert appointment,
    # event; reminder rules; outbox rows (one INSERT); and the test's transaction makes
    # BEGIN/COMMIT a SAVEPOINT and its RELEASE.
    lock = 1 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(10 + lock) as captured:
        response = api.post("appointments/", body)
    assert response.status_code == 201, response.json()
    assert [e["kind"] for e in response.json()["events"]] == ["created"]
    reads_of_events = [
        q["sql"]
        for q in captured
        if q["sql"].startswith("SELECT") and "appointmentevent" in q["sql"]
    ]
    assert reads_of_events == []


def test_a_returning_client_is_recognised_by_phone_however_it_is_written(
    api: Api, setup: Setup
) -> None:
    first = api.post("appointments/", setup.booking(10, staff=setup.ana)).json()
    again = setup.booking(11, staff=setup.ana)
    again["new_client"] = {"name": "Lucía P.", "phone": "+34 600-111-222"}
    second = api.post("appointments/", again).json()
    assert second["client"]["id"] == first["client"]["id"]
    with scopes_disabled():
        assert Client.objects.count() == 1


def test_booking_anyone_picks_a_free_staff_member(api: Api, setup: Setup) -> None:
    first = api.post("appointments/", setup.booking(10)).json()
    second = api.post("appointments/", setup.booking(10)).json()
    assert {first["staff"], second["staff"]} == {setup.ana.pk, setup.bea.pk}
    third = api.post("appointments/", setup.booking(10))
    assert third.status_code == 409
    assert third.json()["code"] == "slot_taken"


def test_a_taken_slot_is_refused_with_409_and_a_stable_code(api: Api, setup: Setup) -> None:
    assert api.post("appointments/", setup.booking(10, staff=setup.ana)).status_code == 201
    # 10:30 starts inside the first appointment's 10-minute buffer.
    response = api.post("appointments/", setup.booking(10, 30, staff=setup.ana))
    assert response.status_code == 409
    assert response.json() == {
        "code": "slot_taken",
        "detail": "That time is no longer available. Please choose another slot.",
    }
    assert api.post("appointments/", setup.booking(10, 45, staff=setup.ana)).status_code == 201


@pytest.mark.parametrize(
    ("hour", "minute", "code"),
    [(14, 0, "outside_hours"), (8, 30, "outside_hours"), (13, 45, "outside_hours")],
)
def test_times_outside_working_hours_are_refused(
    api: Api, setup: Setup, hour: int, minute: int, code: str
) -> None:
    response = api.post("appointments/", setup.booking(hour, minute, staff=setup.ana))
    assert response.status_code == 400
    assert response.json()["code"] == code
    with scopes_disabled():
        assert not Appointment.objects.exists()


def test_the_api_may_book_between_offered_times_but_not_too_soon_or_too_far(
    api: Api, setup: Setup
) -> None:
    assert api.post("appointments/", setup.booking(10, 5, staff=setup.ana)).status_code == 201
    too_soon = setup.booking(staff=setup.ana, start=(NOW + timedelta(minutes=30)).isoformat())
    assert api.post("appointments/", too_soon).json()["code"] == "outside_booking_window"
    too_far = setup.booking(
        staff=setup.ana, start=datetime(2026, 7, 6, 10, tzinfo=MADRID).isoformat()
    )
    assert api.post("appointments/", too_far).json()["code"] == "outside_booking_window"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "2026-06-01T10:00:00"}, "start"),
        ({"start": "tomorrow at ten"}, "start"),
        ({"service": 999999}, "service"),
        ({"service": "physio"}, "service"),
        ({"service": True}, "service"),
        ({"location": 2**70}, "location"),
        ({"location": 0}, "location"),
        ({"staff": [1]}, "staff"),
        ({"new_client": {"name": "X", "phone": "12"}}, "new_client"),
        ({"new_client": {"name": "X"}}, "new_client"),
        ({"client": 1}, "client"),
    ],
)
def test_bad_input_gets_400_with_field_errors_and_changes_nothing(
    api: Api, setup: Setup, change: dict[str, Any], field: str
) -> None:
    response = api.post("appointments/", setup.booking(staff=setup.ana) | change)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    with scopes_disabled():
        assert not Appointment.objects.exists()
        assert not Client.objects.exists()


def test_another_business_ids_are_invalid_here(api: Api, setup: Setup) -> None:
    other = Setup()
    response = api.post("appointments/", other.booking(staff=other.ana))
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"service", "location", "staff"}
    assert errors["service"] == [f'Invalid pk "{other.service.pk}" - object does not exist.']


def test_the_workflow_through_the_api(api: Api, setup: Setup) -> None:
    appointment = api.post("appointments/", setup.booking(10, staff=setup.ana)).json()
    path = f"appointments/{appointment['id']}/"
    assert api.post(path + "confirm/").json()["status"] == "confirmed"
    again = api.post(path + "confirm/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    early = api.post(path + "attend/")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"

    with time_machine.travel(datetime(2026, 6, 1, 7, 55, tzinfo=UTC), tick=False):
        assert api.post(path + "check-in/").json()["arrived_at"] == "2026-06-01T07:55:00Z"
    with time_machine.travel(datetime(2026, 6, 1, 8, 2, tzinfo=UTC), tick=False):
        assert api.post(path + "start/").json()["started_at"] == "2026-06-01T08:02:00Z"
    with time_machine.travel(datetime(2026, 6, 1, 8, 31, tzinfo=UTC), tick=False):
        finished = api.post(path + "attend/").json()
    assert finished["status"] == "attended"
    assert finished["finished_at"] == "2026-06-01T08:31:00Z"
    kinds = [(e["kind"], e["to_status"]) for e in finished["events"]]
    assert kinds == [
        ("created", "scheduled"),
        ("status", "confirmed"),
        ("arrived", "confirmed"),
        ("started", "confirmed"),
        ("status", "attended"),
    ]
    assert api.post(path + "cancel/").status_code == 409


def test_cancelling_records_the_reason_and_frees_the_slot(api: Api, setup: Setup) -> None:
    appointment = api.post("appointments/", setup.booking(10, staff=setup.ana)).json()
    cancelled = api.post(
        f"appointments/{appointment['id']}/cancel/", {"reason": "Client called"}
    ).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation_reason"] == "Client called"
    assert cancelled["cancelled_by"] == "staff"
    assert api.post("appointments/", setup.booking(10, staff=setup.ana)).status_code == 201


def test_rescheduling_keeps_the_appointment_and_asks_for_confirmation_again(
    api: Api, setup: Setup
) -> None:
    appointment = api.post("appointments/", setup.booking(10, staff=setup.ana)).json()
    path = f"appointments/{appointment['id']}/"
    api.post(path + "confirm/")
    moved = api.post(
        path + "reschedule/",
        {
            "start": datetime.combine(MONDAY, time(12), tzinfo=MADRID).isoformat(),
            "staff": setup.bea.pk,
        },
    ).json()
    assert moved["id"] == appointment["id"]
    assert (moved["status"], moved["staff"], moved["version"]) == ("scheduled", setup.bea.pk, 2)
    assert moved["start"] == "2026-06-01T10:00:00Z"
    event = moved["events"][-1]
    assert event["kind"] == "rescheduled"
    assert event["data"]["from"]["start"] == "2026-06-01T08:00:00+00:00"


def test_rescheduling_into_a_taken_slot_changes_nothing(api: Api, setup: Setup) -> None:
    first = api.post("appointments/", setup.booking(10, staff=setup.ana)).json()
    second = api.post("appointments/", setup.booking(12, staff=setup.ana)).json()
    response = api.post(f"appointments/{second['id']}/reschedule/", {"start": first["start"]})
    assert response.status_code == 409 and response.json()["code"] == "slot_taken"
    assert api.get(f"appointments/{second['id']}/").json()["start"] == second["start"]


def test_the_list_filters_by_date_status_and_staff(api: Api, setup: Setup) -> None:
    a = api.post("appointments/", setup.booking(10, staff=setup.ana)).json()
    b = api.post("appointments/", setup.booking(11, staff=setup.bea)).json()
    api.post(f"appointments/{b['id']}/confirm/")
    ids = lambda response: [row["id"] for row in response.json()["results"]]  # noqa: E731
    assert ids(api.get("appointments/", **{"from": "2026-06-01", "to": "2026-06-01"})) == [
        a["id"],
        b["id"],
    ]
    assert ids(api.get("appointments/", **{"from": "2026-06-02"})) == []
    assert ids(api.get("appointments/", status="confirmed")) == [b["id"]]
    assert ids(api.get("appointments/", staff=setup.ana.pk)) == [a["id"]]
    bad = api.get("appointments/", status="lost")
    assert bad.status_code == 400 and "status" in bad.json()["errors"]
    assert api.get("appointments/", **{"from": "yesterday"}).status_code == 400
    # The last day there is: a clear 400 naming the field, not an overflow (was a 500).
    last = api.get("appointments/", to="9999-12-31")
    assert last.status_code == 400 and "to" in last.json()["errors"]


def test_availability_lists_slots_in_the_locations_zone_with_who_takes_them(
    api: Api, setup: Setup
) -> None:
    api.post("appointments/", setup.booking(9, staff=setup.ana))
    query = {
        "service": setup.service.pk,
        "location": setup.location.pk,
        "start": "2026-06-01",
        "end": "2026-06-01",
    }
    body = api.get("availability/", **query).json()
    assert body["timezone"] == "Europe/Madrid"
    first = body["slots"][0]
    assert first == {
        "start": "2026-06-01T09:00:00+02:00",
        "end": "2026-06-01T09:30:00+02:00",
        "staff": setup.bea.pk,
    }
    only_ana = api.get("availability/", staff=setup.ana.pk, **query).json()["slots"]
    assert (
        only_ana[0]["start"] == "2026-06-01T09:45:00+02:00"
    )  # 09:00-09:30 + 10 min buffer, next step


@pytest.mark.parametrize(
    "change",
    [
        {"end": "2026-05-31"},
        {"end": "2026-08-15"},
        {"start": "June"},
        {"service": "x"},
        {"location": 99999},
    ],
)
def test_availability_refuses_bad_queries_with_400(
    api: Api, setup: Setup, change: dict[str, Any]
) -> None:
    query = {
        "service": setup.service.pk,
        "location": setup.location.pk,
        "start": "2026-06-01",
        "end": "2026-06-07",
    }
    response = api.get("availability/", **(query | change))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_an_idempotency_key_replays_the_first_result_instead_of_booking_twice(
    api: Api, setup: Setup
) -> None:
    body = setup.booking(10, staff=setup.ana)
    first = api.post("appointments/", body, HTTP_IDEMPOTENCY_KEY="req-1")
    retry = api.post("appointments/", body, HTTP_IDEMPOTENCY_KEY="req-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert retry["Idempotent-Replayed"] == "true"
    with scopes_disabled():
        assert Appointment.objects.count() == 1
    reused = api.post(
        "appointments/", setup.booking(11, staff=setup.ana), HTTP_IDEMPOTENCY_KEY="req-1"
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


def test_a_failed_request_does_not_burn_its_idempotency_key(api: Api, setup: Setup) -> None:
    body = setup.booking(14, staff=setup.ana)  # outside hours
    assert api.post("appointments/", body, HTTP_IDEMPOTENCY_KEY="req-2").status_code == 400
    fixed = setup.booking(10, staff=setup.ana)
    assert api.post("appointments/", fixed, HTTP_IDEMPOTENCY_KEY="req-3").status_code == 201


def test_roles_decide_who_writes_what(client: DjangoClient, setup: Setup) -> None:
    read_only = setup.key(client, ApiKeyRole.READ_ONLY)
    desk = setup.key(client, ApiKeyRole.RECEPTIONIST)
    assert read_only.get("appointments/").status_code == 200
    assert read_only.post("appointments/", setup.booking(staff=setup.ana)).status_code == 403
    assert desk.post("services/", {"name": "New", "duration_minutes": 30}).status_code == 403
    assert desk.post("appointments/", setup.booking(staff=setup.ana)).status_code == 201
    assert desk.post("clients/", {"name": "Walk-in", "phone": "611 222 333"}).status_code == 201


def test_a_service_in_use_cannot_be_deleted_but_can_be_deactivated(api: Api, setup: Setup) -> None:
    api.post("appointments/", setup.booking(staff=setup.ana))
    response = api.delete(f"services/{setup.service.pk}/")
    assert response.status_code == 409 and response.json()["code"] == "in_use"
    assert (
        api.patch(f"services/{setup.service.pk}/", {"is_active": False}).json()["is_active"]
        is False
    )


def test_staff_are_created_with_their_services_and_locations(api: Api, setup: Setup) -> None:
    response = api.post(
        "staff/",
        {"display_name": "Carla", "services": [setup.service.pk], "locations": [setup.location.pk]},
    )
    assert response.status_code == 201, response.json()
    staff_id = response.json()["id"]
    hours = api.post(
        "working-hours/",
        {
            "staff": staff_id,
            "location": setup.location.pk,
            "weekday": 0,
            "start_time": "09:00",
            "end_time": "13:00",
        },
    )
    assert hours.status_code == 201, hours.json()
    overlap = api.post(
        "working-hours/",
        {
            "staff": staff_id,
            "location": setup.location.pk,
            "weekday": 0,
            "start_time": "12:00",
            "end_time": "15:00",
        },
    )
    assert overlap.status_code == 400 and "start_time" in overlap.json()["errors"]
    duplicate = api.post("staff/", {"display_name": "Carla"})
    assert duplicate.status_code == 400 and "display_name" in duplicate.json()["errors"]


def test_clients_get_clear_errors_for_bad_or_duplicate_contact_data(api: Api, setup: Setup) -> None:
    created = api.post(
        "clients/", {"name": "Marta", "phone": "600 222 333", "email": "marta@example.com"}
    )
    assert created.status_code == 201 and created.json()["phone"] == "+34600222333"
    invalid = api.post("clients/", {"name": "X", "phone": "123"})
    assert invalid.status_code == 400 and "phone" in invalid.json()["errors"]
    duplicate = api.post("clients/", {"name": "Marta bis", "phone": "+34600222333"})
    assert duplicate.status_code == 400 and "phone" in duplicate.json()["errors"]
    assert [c["name"] for c in api.get("clients/", search="mart").json()["results"]] == ["Marta"]


def test_an_unknown_or_foreign_appointment_is_404(
    api: Api, setup: Setup, client: DjangoClient
) -> None:
    other = Setup()
    theirs = other.key(client).post("appointments/", other.booking(staff=other.ana)).json()
    for path in (f"appointments/{theirs['id']}/", "appointments/999999/", "appointments/abc/"):
        response = api.get(path)
        assert response.status_code == 404
    assert api.post(f"appointments/{theirs['id']}/cancel/").status_code == 404
    with scope(tenant=other.business):
        assert Appointment.objects.get(pk=theirs["id"]).status == AppointmentStatus.SCHEDULED


def test_the_schema_documents_every_route(api: Api) -> None:
    schema = api.get("schema/", format="json").json()
    for path in (
        "/api/v1/appointments/",
        "/api/v1/appointments/{id}/reschedule/",
        "/api/v1/availability/",
    ):
        assert path in schema["paths"]
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    business: Business = BusinessFactory()
    assert business.pk


def test_the_api_docs_load_their_assets_from_puntual_not_a_cdn(api: Api) -> None:
    page = api.client.get("/api/v1/docs/", HTTP_AUTHORIZATION=api.auth).content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
