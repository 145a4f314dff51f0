"""`GET /api/v1/reports/`: the page's numbers, and clear 400s."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from tenants.models import ApiKeyRole, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.factories import BusinessFactory, LocationFactory
from tests.reports.data import NOW, June, build_june

pytestmark = pytest.mark.django_db


@pytest.fixture
def june() -> June:
    return build_june()


def _get(
    client: DjangoClient, june: Any, params: dict[str, Any], role: str = ApiKeyRole.READ_ONLY
) -> Any:
    with scope(tenant=june.business):
        _key, raw = api_key_create(tenant=june.business, name="reports", role=role)
    with time_machine.travel(NOW, tick=False):
        return client.get("/api/v1/reports/", params, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_it_answers_the_same_numbers_as_the_page(client: DjangoClient, june: Any) -> None:
    response = _get(client, june, {"from": "2026-06-01", "to": "2026-06-30", "group_by": "staff"})
    assert response.status_code == 200, response.content
    body = response.json()
    totals = body["totals"]
    assert totals["appointments"] == 12
    assert totals["no_show_rate"] == pytest.approx(0.4)
    assert totals["late_cancellation_rate"] == pytest.approx(0.25)
    assert totals["wait_p90_minutes"] == pytest.approx(36)
    assert totals["utilisation"] == pytest.approx(240 / 7680)
    assert totals["channels"]["sms"] == {
        "attempted": 2,
        "delivered": 1,
        "failed": 1,
        "success_rate": 0.5,
    }
    assert totals["money"]["deposits_collected"] == "10.00"
    assert totals["slots_refilled"] == 0 and totals["survey_score"] is None
    assert {g["label"]: g["indicators"]["appointments"] for g in body["groups"]} == {
        "Ana": 8,
        "Bruno": 4,
    }
    assert body["previous_period"] == {"start": "2026-05-01", "end": "2026-05-31"}
    assert body["previous"]["appointments"] == 1
    assert len(body["trend"]) == 12
    assert body["comparisons"][0]["sentence"].startswith("No-show rate 40.0")


def test_without_dates_it_reports_last_month(client: DjangoClient, june: Any) -> None:
    body = _get(client, june, {}).json()
    assert body["period"] == {"start": "2026-06-01", "end": "2026-06-30"}


def test_filters_by_segment_and_tier(client: DjangoClient, june: Any) -> None:
    params = {"from": "2026-06-01", "to": "2026-06-30"}
    assert _get(client, june, {**params, "segment": "new"}).json()["totals"]["appointments"] == 5
    assert (
        _get(client, june, {**params, "tier": "unreliable"}).json()["totals"]["appointments"] == 3
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-06-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-06-30"}, "from"),
        ({"from": "2026-06-30", "to": "2026-06-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-06-30"}, "to"),
        ({"group_by": "weather"}, "group_by"),
        ({"segment": "vip"}, "segment"),
        ({"staff": "abc"}, "staff"),
    ],
)
def test_bad_queries_answer_400_naming_the_field(
    client: DjangoClient, june: Any, params: dict[str, Any], field: str
) -> None:
    response = _get(client, june, params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_another_business_location_is_unknown(client: DjangoClient, june: Any) -> None:
    other = BusinessFactory()
    with scope(tenant=other):
        theirs = LocationFactory(tenant=other)
    response = _get(client, june, {"location": theirs.pk})
    assert response.status_code == 400
    assert "location" in response.json()["errors"]


def test_the_schema_describes_the_endpoint(client: DjangoClient) -> None:
    schema = client.get("/api/v1/schema/").content.decode()
    assert "/api/v1/reports/" in schema
    assert "group_by" in schema


def test_providers_are_refused_and_receptionists_read(client: DjangoClient, june: June) -> None:
    login_member(client, june.business, Role.PROVIDER)
    assert client.get("/api/v1/reports/").status_code == 403
    receptionist = DjangoClient()
    login_member(receptionist, june.business, Role.RECEPTIONIST)
    with time_machine.travel(NOW, tick=False):
        assert receptionist.get("/api/v1/reports/").status_code == 200
