"""Requests through the API: accept and decline like the other actions (roles, errors,
Idempotency-Key), a status filter, and the business's setting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, AppointmentEvent, EventKind, Source
from appointments.services import Actor, appointment_book
from reminders.models import MessageKind, OutboundMessage
from tenants.models import ApiKeyRole, Role
from tests.appointments.test_api import MADRID, MONDAY, NOW, Api, Setup
from tests.conftest import login_member
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _request(setup: Setup, hour: int = 10) -> Appointment:
    with scope(tenant=setup.business):
        return appointment_book(
            tenant=setup.business,
            location=setup.location,
            staff=setup.ana,
            service=setup.service,
            client=ClientFactory(tenant=setup.business),
            start=datetime.combine(MONDAY, time(hour), tzinfo=MADRID),
            source=Source.ONLINE,
            actor=Actor.client("online"),
            as_request=True,
        )


@pytest.fixture
def setup() -> Setup:
    return Setup()


@pytest.fixture
def desk(client: DjangoClient, setup: Setup) -> Api:
    return setup.key(client, ApiKeyRole.RECEPTIONIST)


def test_the_front_desk_accepts_a_request(desk: Api, setup: Setup) -> None:
    request = _request(setup)
    response = desk.post(f"appointments/{request.pk}/accept/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "scheduled"
    assert [e["kind"] for e in body["events"]][-1] == "accepted"
    with scope(tenant=setup.business):
        assert OutboundMessage.objects.filter(
            appointment=request, kind=MessageKind.BOOKING_CONFIRMATION
        ).exists()


def test_the_front_desk_declines_a_request_with_a_reason(desk: Api, setup: Setup) -> None:
    request = _request(setup)
    response = desk.post(f"appointments/{request.pk}/decline/", {"reason": "Fully booked"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    with scope(tenant=setup.business):
        event = AppointmentEvent.objects.filter(appointment=request).last()
    assert event is not None and (event.kind, event.reason) == (EventKind.DECLINED, "Fully booked")


def test_answering_what_is_no_request_is_409_with_a_stable_code(desk: Api, setup: Setup) -> None:
    request = _request(setup)
    assert desk.post(f"appointments/{request.pk}/accept/").status_code == 200
    for action in ("accept", "decline"):
        response = desk.post(f"appointments/{request.pk}/{action}/")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"


def test_a_request_cannot_be_confirmed_or_cancelled_by_the_business_through_the_api(
    desk: Api, setup: Setup
) -> None:
    request = _request(setup)
    assert desk.post(f"appointments/{request.pk}/confirm/").status_code == 409
    response = desk.post(f"appointments/{request.pk}/cancel/", {"by": "staff", "reason": "No"})
    assert response.status_code == 409
    request.refresh_from_db()
    assert request.status == "requested"


def test_a_too_long_reason_is_400_and_changes_nothing(desk: Api, setup: Setup) -> None:
    request = _request(setup)
    response = desk.post(f"appointments/{request.pk}/decline/", {"reason": "x" * 1001})
    assert response.status_code == 400
    request.refresh_from_db()
    assert request.status == "requested"


def test_a_repeated_idempotency_key_answers_the_same_and_declines_once(
    desk: Api, setup: Setup
) -> None:
    request = _request(setup)
    first = desk.post(f"appointments/{request.pk}/decline/", {}, HTTP_IDEMPOTENCY_KEY="dec-1")
    second = desk.post(f"appointments/{request.pk}/decline/", {}, HTTP_IDEMPOTENCY_KEY="dec-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    with scope(tenant=setup.business):
        assert (
            AppointmentEvent.objects.filter(appointment=request, kind=EventKind.DECLINED).count()
            == 1
        )


def test_the_list_filters_requests(desk: Api, setup: Setup) -> None:
    request = _request(setup)
    response = desk.get("appointments/", status="requested")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [request.pk]
    assert desk.get("appointments/", status="scheduled").json()["results"] == []


def test_read_only_keys_and_providers_cannot_answer_requests(
    client: DjangoClient, setup: Setup
) -> None:
    request = _request(setup)
    read_only = setup.key(client, ApiKeyRole.READ_ONLY)
    assert read_only.post(f"appointments/{request.pk}/accept/").status_code == 403
    provider = DjangoClient()
    login_member(provider, setup.business, Role.PROVIDER)
    response = provider.post(
        f"/api/v1/appointments/{request.pk}/decline/", {}, content_type="application/json"
    )
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == "requested"


def test_the_business_says_whether_it_approves_new_clients(desk: Api, setup: Setup) -> None:
    assert desk.get("business/").json()["approve_new_clients"] is False
    setup.business.approve_new_clients = True
    setup.business.save()
    assert desk.get("business/").json()["approve_new_clients"] is True
