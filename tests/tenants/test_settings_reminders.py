"""Reminder rules in the settings: texts per language, the preview, and bad texts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from reminders.models import Purpose, ReminderRule, RuleChannel
from tenants.models import Business, Role
from tests.conftest import login_member

pytestmark = pytest.mark.django_db

PARTIAL: dict[str, Any] = {"HTTP_X_PUNTUAL_PARTIAL": "1"}


@pytest.fixture
def admin(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.ADMIN)


@pytest.fixture
def rule(business: Business) -> ReminderRule:
    with scope(tenant=business):
        return ReminderRule.objects.create(
            tenant=business,
            name="Día antes",
            purpose=Purpose.REMINDER,
            channel=RuleChannel.SMS_THEN_EMAIL,
            offset_minutes=24 * 60,
            texts={"es": {"sms": "Hola {client_name}, mañana a las {time}."}},
        )


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Día antes",
        "purpose": "reminder",
        "channel": "sms_then_email",
        "offset": "1",
        "offset_unit": "days",
        "is_active": "on",
        "preview_language": "es",
        "texts_es_sms": "Hola {client_name}, mañana a las {time}.",
        "action": "save",
        **changes,
    }


def test_the_rule_page_shows_its_texts_and_its_preview(
    admin: DjangoClient, rule: ReminderRule
) -> None:
    page = admin.get(f"/settings/reminders/{rule.pk}/").content.decode()
    assert "Hola {client_name}, mañana a las {time}." in page
    assert "María" in page  # the sample client, in the rendered preview
    assert admin.get("/settings/reminders/").status_code == 200


def test_a_preview_renders_the_text_being_written_and_saves_nothing(
    admin: DjangoClient, business: Business, rule: ReminderRule
) -> None:
    response = admin.post(
        f"/settings/reminders/{rule.pk}/",
        _form(texts_es_sms="Recuerde {service} el {date}, {client_name}.", action="preview"),
    )
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.language == "es"
    assert preview.sms.text.startswith("Recuerde ") and "María" in preview.sms.text
    assert preview.email is not None  # SMS, else email: both are shown
    page = response.content.decode()
    assert "Recuerde {service} el {date}, {client_name}." in page  # the form keeps the draft
    with scope(tenant=business):
        rule.refresh_from_db()
    assert rule.texts == {"es": {"sms": "Hola {client_name}, mañana a las {time}."}}


def test_the_live_preview_answers_with_the_preview_alone(
    admin: DjangoClient, rule: ReminderRule
) -> None:
    # The page's script posts the whole form with action=preview and this header.
    response = admin.post(
        f"/settings/reminders/{rule.pk}/",
        _form(
            texts_en_sms="Hi {client_name}, see you at {time}.",
            preview_language="en",
            action="preview",
        ),
        **PARTIAL,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="rule-preview"')
    assert "Hi María, see you at 10:30." in html
    assert "<form" not in html


def test_a_preview_of_a_bad_text_names_the_problem(admin: DjangoClient, rule: ReminderRule) -> None:
    response = admin.post(
        f"/settings/reminders/{rule.pk}/",
        _form(texts_es_sms="Responda STOP {nombre}", action="preview"),
        **PARTIAL,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "No preview" in html
    assert "Unknown placeholder {nombre}" in html


def test_saving_changes_the_rule_with_its_texts_per_language(
    admin: DjangoClient, business: Business, rule: ReminderRule
) -> None:
    response = admin.post(
        f"/settings/reminders/{rule.pk}/",
        _form(
            offset="36",
            offset_unit="hours",
            texts_en_subject="See you soon",
            texts_en_body="",
            texts_es_sms="",
        ),
    )
    assert response.status_code == 302
    with scope(tenant=business):
        rule.refresh_from_db()
    assert rule.offset_minutes == 36 * 60
    assert rule.texts == {"en": {"subject": "See you soon"}}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"texts_es_sms": "Conteste CANCEL para anular"}, "texts_es_sms"),
        ({"texts_en_body": "Hello {unknown}"}, "texts_en_body"),
        ({"texts_en_subject": "{"}, "texts_en_subject"),
        ({"offset": "61", "offset_unit": "days"}, "offset"),
        ({"offset": "0"}, "offset"),
        ({"name": ""}, "name"),
        ({"channel": "pigeon"}, "channel"),
        # Pasted from another program: invisible here, and it would go out in every SMS.
        ({"texts_es_sms": "Hola {client_name},\x0bmañana a las {time}."}, "texts_es_sms"),
        ({"name": "Día\x1bantes"}, "name"),
    ],
)
def test_a_bad_rule_is_a_field_error_and_changes_nothing(
    admin: DjangoClient,
    business: Business,
    rule: ReminderRule,
    changes: dict[str, str],
    field: str,
) -> None:
    response = admin.post(f"/settings/reminders/{rule.pk}/", _form(**changes))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    with scope(tenant=business):
        rule.refresh_from_db()
    assert rule.offset_minutes == 24 * 60
    assert rule.texts == {"es": {"sms": "Hola {client_name}, mañana a las {time}."}}


def test_a_rule_is_created_and_deleted(admin: DjangoClient, business: Business) -> None:
    assert admin.get("/settings/reminders/new/").status_code == 200
    response = admin.post(
        "/settings/reminders/new/", _form(name="Dos horas antes", offset="2", offset_unit="hours")
    )
    assert response.status_code == 302
    with scope(tenant=business):
        rule = ReminderRule.objects.get(name="Dos horas antes")
    assert rule.offset_minutes == 120
    response = admin.post("/settings/reminders/new/", _form(name="Dos horas antes"))
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert admin.post(f"/settings/reminders/{rule.pk}/delete/").status_code == 302
    with scope(tenant=business):
        assert not ReminderRule.objects.filter(pk=rule.pk).exists()
