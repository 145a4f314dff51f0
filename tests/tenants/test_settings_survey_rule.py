"""The post-visit survey rule in the settings: its offset is "after the end", the others'
"before the start", whatever the browser runs; one active survey rule per business."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from reminders.models import Purpose, ReminderRule, RuleChannel
from tenants.models import Business, Role
from tests.conftest import login_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.ADMIN)


@pytest.fixture
def rules(business: Business) -> tuple[ReminderRule, ReminderRule]:
    with scope(tenant=business):
        reminder = ReminderRule.objects.create(
            tenant=business,
            name="Day before",
            purpose=Purpose.REMINDER,
            channel=RuleChannel.SMS,
            offset_minutes=24 * 60,
        )
        survey = ReminderRule.objects.create(
            tenant=business,
            name="Survey",
            purpose=Purpose.SURVEY,
            channel=RuleChannel.SMS_THEN_EMAIL,
            offset_minutes=120,
        )
    return reminder, survey


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Next-day survey",
        "purpose": "survey",
        "channel": "email",
        "offset": "1",
        "offset_unit": "days",
        "is_active": "on",
        "preview_language": "en",
        "action": "save",
        **changes,
    }


def test_the_list_says_after_the_end_for_the_survey_and_before_the_start_otherwise(
    admin: DjangoClient, rules: Any
) -> None:
    page = admin.get("/settings/reminders/").content.decode()
    assert "2 hours after the end" in page
    assert "1 day before the start" in page


def test_the_survey_rule_s_offset_is_labelled_after_the_end(
    admin: DjangoClient, rules: tuple[ReminderRule, ReminderRule]
) -> None:
    reminder, survey = rules
    assert (
        "How long after the end" in admin.get(f"/settings/reminders/{survey.pk}/").content.decode()
    )
    page = admin.get(f"/settings/reminders/{reminder.pk}/").content.decode()
    assert '<label for="id_offset">How long before the start</label>' in page
    # The script's two labels, for switching as the purpose changes.
    assert 'data-offset-after="How long after the end"' in page
    assert 'data-survey-purpose="survey"' in page


def test_a_posted_survey_purpose_is_labelled_and_saved_without_javascript(
    admin: DjangoClient, business: Business, rules: tuple[ReminderRule, ReminderRule]
) -> None:
    _reminder, survey = rules
    response = admin.post(f"/settings/reminders/{survey.pk}/", _form(action="preview"))
    assert response.status_code == 200
    assert '<label for="id_offset">How long after the end</label>' in response.content.decode()
    response = admin.post(
        f"/settings/reminders/{survey.pk}/", _form(offset="3", offset_unit="hours")
    )
    assert response.status_code == 302
    with scope(tenant=business):
        survey.refresh_from_db()
    assert (survey.purpose, survey.offset_minutes, survey.channel) == ("survey", 180, "email")


def test_a_second_active_survey_rule_is_refused_with_a_clear_error(
    admin: DjangoClient, business: Business, rules: Any
) -> None:
    response = admin.post("/settings/reminders/new/", _form())
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "already has an active post-visit survey rule, “Survey”" in str(errors["purpose"])
    response = admin.post("/settings/reminders/new/", _form(is_active=""))
    assert response.status_code == 302
    with scope(tenant=business):
        assert ReminderRule.objects.filter(purpose=Purpose.SURVEY).count() == 2


def test_a_survey_more_than_a_week_after_is_refused(admin: DjangoClient, rules: Any) -> None:
    response = admin.post("/settings/reminders/new/", _form(offset="8", is_active=""))
    assert response.status_code == 400
    assert "offset" in response.context["form"].errors
