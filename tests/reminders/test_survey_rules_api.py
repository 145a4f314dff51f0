"""The reminder-rules API takes and shows the post-visit survey rule: purpose "survey", its
offset after the end, its own placeholders, and one active per business."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scopes_disabled

from reminders.models import OutboundMessage, Purpose, ReminderRule
from tenants.models import ApiKeyRole
from tenants.services import api_key_create
from tests.reminders.conftest import BOOKED_AT, Clinic

pytestmark = pytest.mark.django_db

URL = "/api/v1/reminder-rules/"
SURVEY = {
    "name": "Survey, next morning",
    "purpose": "survey",
    "channel": "email",
    "offset": 18,
    "offset_unit": "hours",
    "is_active": False,
    "texts": {"es": {"body": "Gracias, {client_name}. Su opinión: {survey_link}"}},
}


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(BOOKED_AT, tick=False):
        yield


class Api:
    def __init__(self, http: DjangoClient, clinic: Clinic) -> None:
        _, raw = api_key_create(tenant=clinic.business, name="admin", role=ApiKeyRole.ADMIN)
        self.http = http
        self.auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path: str = URL) -> Any:
        return self.http.get(path, **self.auth)

    def send(self, method: str, path: str, body: Any) -> Any:
        return getattr(self.http, method)(path, body, content_type="application/json", **self.auth)


@pytest.fixture
def api(client: DjangoClient, clinic: Clinic) -> Api:
    return Api(client, clinic)


def _default_survey(clinic: Clinic) -> ReminderRule:
    return next(rule for rule in clinic.rules if rule.purpose == Purpose.SURVEY)


def test_the_default_survey_rule_reads_as_a_survey(api: Api, clinic: Clinic) -> None:
    rules = {r["name"]: r for r in api.get().json()["results"]}
    survey = rules["Post-visit survey, 2 h after"]
    assert (survey["purpose"], survey["channel"], survey["offset"], survey["offset_unit"]) == (
        "survey",
        "sms_then_email",
        2,
        "hours",
    )
    assert survey["is_active"] is True


def test_a_survey_rule_is_created_and_changed_through_the_api(api: Api, clinic: Clinic) -> None:
    response = api.send("post", URL, SURVEY)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["purpose"], body["offset_minutes"], body["texts"]) == (
        "survey",
        18 * 60,
        SURVEY["texts"],
    )
    with scopes_disabled():
        # Not a reminder: nothing is planned in the reminders' outbox for it.
        assert not OutboundMessage.objects.filter(rule_id=body["id"]).exists()
    response = api.send("patch", f"{URL}{body['id']}/", {"offset_minutes": 60 * 24})
    assert response.status_code == 200 and response.json()["offset"] == 1


def test_a_second_active_survey_rule_is_a_clear_400(api: Api, clinic: Clinic) -> None:
    response = api.send("post", URL, {**SURVEY, "is_active": True})
    assert response.status_code == 400
    assert "already has an active post-visit survey rule" in str(
        response.json()["errors"]["purpose"]
    )
    inactive = api.send("post", URL, SURVEY).json()
    response = api.send("patch", f"{URL}{inactive['id']}/", {"is_active": True})
    assert response.status_code == 400 and "purpose" in response.json()["errors"]
    # The default one switched off first: then it may be.
    api.send("patch", f"{URL}{_default_survey(clinic).pk}/", {"is_active": False})
    response = api.send("patch", f"{URL}{inactive['id']}/", {"is_active": True})
    assert response.status_code == 200 and response.json()["is_active"] is True


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"texts": {"en": {"sms": "Cancel? {cancel_link}"}}}, "texts"),
        ({"offset": 8, "offset_unit": "days"}, "offset_minutes"),
        ({"only_if_unconfirmed": True}, "only_if_unconfirmed"),
    ],
)
def test_a_bad_survey_rule_is_a_400_naming_the_field(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    response = api.send("post", URL, {**SURVEY, **changes})
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_a_reminder_may_not_link_to_a_survey(api: Api) -> None:
    response = api.send(
        "post",
        URL,
        {
            "name": "Reminder",
            "purpose": "reminder",
            "channel": "sms",
            "offset_minutes": 60,
            "texts": {"en": {"sms": "See you! {survey_link}"}},
        },
    )
    assert response.status_code == 400
    assert "Unknown placeholder {survey_link}" in str(response.json()["errors"]["texts"])
