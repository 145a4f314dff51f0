"""`/api/v1/survey-results/`: the after-visit survey answers and their scores, read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Source
from appointments.services import Actor, appointment_book
from selfservice.models import SurveyInvitation, hash_token
from tenants.models import ApiKeyRole, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.factories import ClientFactory, ServiceFactory, staff_offering
from tests.test_tenant_isolation import NOW, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    """OURS with three surveys: OURS staff's rated 5; Other staff's rated 3 (a massage) and
    one not answered."""
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        business = world.business
        with scope(tenant=business):
            SurveyInvitation.objects.filter(pk=world.survey.pk).update(
                rating=5, comment="Great", answered_at=NOW + timedelta(days=5)
            )
            world.massage = ServiceFactory(tenant=business, name="Massage")  # type: ignore[attr-defined]
            world.other_staff = staff_offering(  # type: ignore[attr-defined]
                tenant=business,
                location=world.location,
                services=[world.service, world.massage],  # type: ignore[attr-defined]
                display_name="Other staff",
            )
            for days, staff, service, rating in (
                (2, world.other_staff, world.massage, 3),  # type: ignore[attr-defined]
                (3, world.other_staff, world.service, None),  # type: ignore[attr-defined]
            ):
                appointment = appointment_book(
                    tenant=business,
                    location=world.location,
                    staff=staff,
                    service=service,
                    client=ClientFactory(tenant=business),
                    start=world.appointment.start + timedelta(days=days),
                    source=Source.DASHBOARD,
                    actor=Actor.system(),
                    now=NOW,
                )
                SurveyInvitation.objects.create(
                    tenant=business,
                    appointment=appointment,
                    token_hash=hash_token(f"survey-{days}"),
                    send_at=NOW,
                    rating=rating,
                    answered_at=NOW + timedelta(days=20) if rating else None,
                )
        return world


def _auth(world: World, role: str = ApiKeyRole.READ_ONLY) -> dict[str, Any]:
    _key, raw = api_key_create(tenant=world.business, name="surveys", role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_list_shows_each_survey_with_its_answer_newest_first(
    client: DjangoClient, world: World
) -> None:
    rows = client.get("/api/v1/survey-results/", **_auth(world)).json()["results"]
    assert len(rows) == 3
    first = next(row for row in rows if row["id"] == world.survey.pk)
    assert first["rating"] == 5 and first["comment"] == "Great" and first["answered"] is True
    assert first["staff"] == world.staff.pk and first["staff_name"] == "OURS staff"
    assert first["service_name"] == "OURS service" and first["client_name"] == "OURS client"
    assert "token_hash" not in first and "to" not in first


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ({"answered": "true"}, 2),
        ({"answered": "false"}, 1),
        ({"answered": ""}, 3),  # empty: not filtered
        ({"from": "2026-06-10"}, 1),  # answered from that day on (business time)
        ({"to": "2026-06-10"}, 1),
        ({"from": "2026-06-01T00:00:00Z", "to": "2026-07-01"}, 2),
    ],
)
def test_the_list_filters_by_answer_and_by_when_it_was_answered(
    client: DjangoClient, world: World, query: dict[str, str], count: int
) -> None:
    response = client.get("/api/v1/survey-results/", query, **_auth(world))
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == count


def test_the_list_filters_by_staff_and_service(client: DjangoClient, world: World) -> None:
    auth = _auth(world)
    by_staff = client.get("/api/v1/survey-results/", {"staff": world.staff.pk}, **auth).json()
    assert [row["id"] for row in by_staff["results"]] == [world.survey.pk]
    by_service = client.get(
        "/api/v1/survey-results/",
        {"service": world.massage.pk},  # type: ignore[attr-defined]
        **auth,
    ).json()
    assert [row["rating"] for row in by_service["results"]] == [3]


def test_the_summary_counts_and_averages_per_staff_and_service(
    client: DjangoClient, world: World
) -> None:
    summary = client.get("/api/v1/survey-results/summary/", **_auth(world)).json()
    assert summary["overall"] == {"answers": 2, "average": "4.00"}
    # The unanswered survey counts nowhere; by id, best first.
    assert summary["by_staff"] == [
        {"id": world.staff.pk, "name": "OURS staff", "answers": 1, "average": "5.00"},
        {
            "id": world.other_staff.pk,  # type: ignore[attr-defined]
            "name": "Other staff",
            "answers": 1,
            "average": "3.00",
        },
    ]
    assert [(row["name"], row["average"]) for row in summary["by_service"]] == [
        ("OURS service", "5.00"),
        ("Massage", "3.00"),
    ]
    narrowed = client.get(
        "/api/v1/survey-results/summary/", {"to": "2026-06-10"}, **_auth(world)
    ).json()
    assert narrowed["overall"] == {"answers": 1, "average": "5.00"}


def test_the_summary_of_nothing_has_no_average(client: DjangoClient, world: World) -> None:
    summary = client.get(
        "/api/v1/survey-results/summary/", {"from": "2030-01-01"}, **_auth(world)
    ).json()
    assert summary == {
        "overall": {"answers": 0, "average": None},
        "by_staff": [],
        "by_service": [],
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"answered": "maybe"}, "answered"),
        ({"staff": "x"}, "staff"),
        ({"from": "last week"}, "from"),
        ({"from": "0001-01-01T00:00:00+05:00"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": "2026-07-01", "to": "2026-06-01"}, "to"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(
    client: DjangoClient, world: World, query: dict[str, str], field: str
) -> None:
    for url in ("/api/v1/survey-results/", "/api/v1/survey-results/summary/"):
        response = client.get(url, query, **_auth(world))
        assert response.status_code == 400, (url, response.content)
        assert response.json()["code"] == "invalid"
        assert field in response.json()["errors"]


def test_providers_do_not_read_what_clients_said_of_their_colleagues(
    client: DjangoClient, world: World
) -> None:
    login_member(client, world.business, Role.PROVIDER)
    for url in (
        "/api/v1/survey-results/",
        "/api/v1/survey-results/summary/",
        f"/api/v1/survey-results/{world.survey.pk}/",
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert b"Great" not in response.content


def test_the_front_desk_reads_them(client: DjangoClient, world: World) -> None:
    login_member(client, world.business, Role.RECEPTIONIST)
    assert client.get(f"/api/v1/survey-results/{world.survey.pk}/").json()["rating"] == 5


def test_another_business_survey_is_not_found(client: DjangoClient, world: World) -> None:
    with time_machine.travel(NOW, tick=False):
        theirs = World("THEIRS")
    response = client.get(f"/api/v1/survey-results/{theirs.survey.pk}/", **_auth(world))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_survey_results_are_read_only(client: DjangoClient, world: World) -> None:
    auth = _auth(world, ApiKeyRole.ADMIN)
    url = f"/api/v1/survey-results/{world.survey.pk}/"
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(url, {}, content_type="application/json", **auth)
        assert response.status_code == 405
    assert client.post("/api/v1/survey-results/", {}, **auth).status_code == 405
