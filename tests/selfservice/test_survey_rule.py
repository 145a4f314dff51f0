"""The post-visit survey is a reminder rule with purpose "survey": its offset counts from the
end of an attended visit, its channel and texts are used, at most one is active, and the
reminder planner leaves it alone."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_scopes import scope, scopes_disabled

from appointments.models import Appointment, Source
from appointments.services import Actor, appointment_book, appointment_mark_attended
from reminders.channels.sms import LocmemSMSBackend
from reminders.models import MessageStatus, OutboundMessage, Purpose, ReminderRule, RuleChannel
from reminders.services.planning import reminder_rules_create_defaults
from reminders.services.rules import (
    reminder_rule_create,
    reminder_rule_delete,
    reminder_rule_preview,
    reminder_rule_texts_errors,
    reminder_rule_update,
)
from reminders.texts import default_text
from selfservice.models import OfferStatus, SurveyInvitation
from selfservice.services.outgoing import selfservice_send_due
from selfservice.services.survey import surveys_plan
from tenants.models import Business
from tenants.services import business_create
from tests.factories import BusinessFactory, ClientFactory
from tests.selfservice.conftest import NOW, Shop

VISIT = datetime(2026, 5, 28, 10, 0, tzinfo=UTC)  # 12:00 in Madrid, 30 minutes
END = VISIT + timedelta(minutes=30)
SURVEY_LINK = re.compile(r"https?://\S+/sonrisa/survey/[A-Za-z0-9_-]+/")


def _survey_rule(shop: Shop, **fields: Any) -> ReminderRule:
    values: dict[str, Any] = {
        "name": "Survey",
        "purpose": Purpose.SURVEY,
        "channel": RuleChannel.SMS_THEN_EMAIL,
        "offset_minutes": 120,
        **fields,
    }
    with scope(tenant=shop.business):
        return reminder_rule_create(tenant=shop.business, now=NOW, **values)


def _visit(shop: Shop, *, attended: bool = True, **client_fields: Any) -> Appointment:
    with scope(tenant=shop.business):
        appointment = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.ana,
            service=shop.service,
            client=ClientFactory(tenant=shop.business, name="Olga Ruiz", **client_fields),
            start=VISIT,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        if attended:
            appointment = appointment_mark_attended(
                appointment=appointment, actor=Actor.system(), now=END + timedelta(minutes=1)
            )
        return appointment


def _invitation() -> SurveyInvitation:
    with scopes_disabled():
        return SurveyInvitation.objects.get()


# --- Planning from the rule --------------------------------------------------------------


def test_the_survey_goes_the_rule_s_offset_after_the_end(shop: Shop) -> None:
    rule = _survey_rule(shop, offset_minutes=45)
    _visit(shop)
    assert selfservice_send_due(now=END + timedelta(minutes=44))["planned_surveys"] == 0
    assert selfservice_send_due(now=END + timedelta(minutes=45))["sent"] == 1
    invitation = _invitation()
    assert invitation.rule_id == rule.pk
    assert invitation.send_at == END + timedelta(minutes=45)
    assert invitation.attempts == 1


def test_businesses_with_different_offsets_are_each_planned_on_their_own(shop: Shop) -> None:
    _survey_rule(shop, offset_minutes=60)
    _visit(shop)
    other = BusinessFactory(slug="otra")
    with scope(tenant=other):
        reminder_rule_create(
            tenant=other,
            name="Survey",
            purpose=Purpose.SURVEY,
            channel=RuleChannel.SMS,
            offset_minutes=180,
            now=NOW,
        )
    assert selfservice_send_due(now=END + timedelta(minutes=60))["planned_surveys"] == 1


def test_without_an_active_survey_rule_there_is_no_survey(shop: Shop) -> None:
    _visit(shop)
    assert selfservice_send_due(now=END + timedelta(hours=3))["planned_surveys"] == 0
    _survey_rule(shop, is_active=False)
    assert selfservice_send_due(now=END + timedelta(hours=3))["planned_surveys"] == 0
    assert LocmemSMSBackend.outbox == [] and mail.outbox == []


def test_a_visit_not_attended_gets_no_survey_whatever_the_rule(shop: Shop) -> None:
    _survey_rule(shop)
    _visit(shop, attended=False)
    assert selfservice_send_due(now=END + timedelta(hours=2))["planned_surveys"] == 0


def test_a_rule_deactivated_or_deleted_before_sending_stops_its_survey(shop: Shop) -> None:
    rule = _survey_rule(shop)
    _visit(shop)
    with scopes_disabled():
        # Planned, then put back by a failed try: it is still waiting to be sent.
        SurveyInvitation.objects.create(
            tenant=shop.business,
            appointment=Appointment.objects.get(),
            rule=rule,
            token_hash="x",
            send_at=END + timedelta(hours=2, minutes=5),
        )
    with scope(tenant=shop.business):
        reminder_rule_update(rule=rule, is_active=False, now=NOW)
    selfservice_send_due(now=END + timedelta(hours=3))
    invitation = _invitation()
    assert (invitation.status, invitation.status_reason) == (OfferStatus.FAILED, "rule_inactive")
    with scope(tenant=shop.business):
        reminder_rule_delete(rule=rule)
    assert LocmemSMSBackend.outbox == []


# --- The rule's channel --------------------------------------------------------------------


def test_an_sms_rule_never_falls_back_to_email(shop: Shop) -> None:
    _survey_rule(shop, channel=RuleChannel.SMS)
    _visit(shop, sms_consent=False)
    selfservice_send_due(now=END + timedelta(hours=2))
    invitation = _invitation()
    assert (invitation.status, invitation.status_reason) == (OfferStatus.FAILED, "no_sms_consent")
    assert mail.outbox == []


def test_an_email_rule_sends_by_email_to_a_client_who_takes_sms(shop: Shop) -> None:
    _survey_rule(shop, channel=RuleChannel.EMAIL)
    _visit(shop)
    selfservice_send_due(now=END + timedelta(hours=2))
    assert LocmemSMSBackend.outbox == []
    [email] = mail.outbox
    assert email.subject == "Clínica Sonrisa: how was your visit?"
    assert SURVEY_LINK.search(str(email.body))
    assert _invitation().channel == "email"


def test_sms_then_email_uses_email_when_sms_is_not_possible(shop: Shop) -> None:
    _survey_rule(shop)
    _visit(shop, sms_consent=False)
    selfservice_send_due(now=END + timedelta(hours=2))
    assert LocmemSMSBackend.outbox == [] and len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("channel", "sent_at"),
    [
        # 21:30 in Madrid is inside the quiet hours (21:00-08:00): the SMS waits for 08:00.
        (RuleChannel.SMS_THEN_EMAIL, datetime(2026, 5, 29, 6, 0, tzinfo=UTC)),
        (RuleChannel.EMAIL, datetime(2026, 5, 28, 19, 30, tzinfo=UTC)),
    ],
)
def test_an_sms_survey_waits_for_the_end_of_the_quiet_hours(
    shop: Shop, channel: str, sent_at: datetime
) -> None:
    _survey_rule(shop, channel=channel, offset_minutes=150)
    evening = datetime(2026, 5, 28, 16, 30, tzinfo=UTC)  # 18:30 in Madrid, until 19:00
    with scope(tenant=shop.business):
        appointment = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.ana,
            service=shop.service,
            client=ClientFactory(
                tenant=shop.business, email="olga@example.com", email_consent=True
            ),
            start=evening,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        appointment_mark_attended(
            appointment=appointment, actor=Actor.system(), now=evening + timedelta(minutes=31)
        )
    due = evening + timedelta(minutes=30 + 150)
    assert surveys_plan(now=due) == 1
    assert _invitation().send_at == sent_at
    assert selfservice_send_due(now=sent_at - timedelta(minutes=1))["sent"] == 0
    assert selfservice_send_due(now=sent_at)["sent"] == 1


# --- Texts ---------------------------------------------------------------------------------


def test_the_default_text_keeps_the_survey_s_wording(shop: Shop) -> None:
    _survey_rule(shop)
    _visit(shop)
    selfservice_send_due(now=END + timedelta(hours=2))
    [sms] = LocmemSMSBackend.outbox
    assert sms.body.startswith(
        "Clínica Sonrisa: how was your visit? One question, a few seconds: http"
    )
    assert SURVEY_LINK.search(sms.body)
    email = default_text(kind="rule", purpose=Purpose.SURVEY, language="en")
    assert email.body == (
        "Thank you for visiting {business_name}. How was your {service}?\n\n"
        "One question, a few seconds: {survey_link}"
    )


def test_the_rule_s_own_text_is_used_in_the_client_s_language(shop: Shop) -> None:
    _survey_rule(
        shop,
        texts={
            "es": {"sms": "Hola {client_name}, ¿qué tal con {staff}? Valore aquí: {survey_link}"}
        },
    )
    _visit(shop, language="es", phone="+34600000001")
    _visit_at = VISIT - timedelta(hours=1)
    with scope(tenant=shop.business):
        english = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.bea,
            service=shop.service,
            client=ClientFactory(tenant=shop.business, language="en", phone="+34600000002"),
            start=_visit_at,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        appointment_mark_attended(appointment=english, actor=Actor.system(), now=END)
    selfservice_send_due(now=END + timedelta(hours=2))
    bodies = {sms.to: sms.body for sms in LocmemSMSBackend.outbox}
    assert bodies["+34600000001"].startswith("Hola Olga, ¿qué tal con Ana? Valore aquí: http")
    assert SURVEY_LINK.search(bodies["+34600000001"])
    # No English text of its own: Puntual's.
    assert "how was your visit?" in bodies["+34600000002"]


def test_survey_texts_link_to_the_survey_and_reminders_to_the_appointment(
    business: Business,
) -> None:
    with scope(tenant=business):
        survey_errors = reminder_rule_texts_errors(
            tenant=business, texts={"en": {"sms": "Cancel here {cancel_link}"}}, purpose="survey"
        )
        reminder_errors = reminder_rule_texts_errors(
            tenant=business, texts={"en": {"body": "Rate us {survey_link}"}}, purpose="reminder"
        )
        fine = reminder_rule_texts_errors(
            tenant=business,
            texts={"es": {"sms": "{client_name}, valore {service}: {survey_link}"}},
            purpose="survey",
        )
    assert "Unknown placeholder {cancel_link}" in str(survey_errors["en"]["sms"])
    assert "Unknown placeholder {survey_link}" in str(reminder_errors["en"]["body"])
    assert fine == {}


def test_the_preview_of_a_survey_rule_shows_the_survey_link(shop: Shop) -> None:
    rule = _survey_rule(shop, channel=RuleChannel.SMS)
    with scope(tenant=shop.business):
        preview = reminder_rule_preview(tenant=shop.business, rule=rule, language="en", now=NOW)
    assert preview.sms is not None and preview.email is None
    assert "/sonrisa/survey/preview-" in preview.sms.text
    assert "how was your visit?" in preview.sms.text


# --- One active survey rule ----------------------------------------------------------------


def test_a_business_has_one_active_survey_rule_at_most(shop: Shop) -> None:
    first = _survey_rule(shop)
    with pytest.raises(ValidationError) as refused:
        _survey_rule(shop, name="Another survey")
    assert "already has an active post-visit survey rule, “Survey”" in str(
        refused.value.message_dict["purpose"]
    )
    second = _survey_rule(shop, name="Another survey", is_active=False)  # inactive: fine
    with scope(tenant=shop.business), pytest.raises(ValidationError):
        reminder_rule_update(rule=second, is_active=True, now=NOW)
    with scope(tenant=shop.business):
        reminder_rule_update(rule=first, is_active=False, now=NOW)
        reminder_rule_update(rule=second, is_active=True, now=NOW)
        assert ReminderRule.objects.get(is_active=True, purpose=Purpose.SURVEY) == second


def test_the_database_refuses_a_second_active_survey_rule(shop: Shop) -> None:
    _survey_rule(shop)
    with scope(tenant=shop.business), pytest.raises(IntegrityError), transaction.atomic():
        ReminderRule.objects.create(
            tenant=shop.business,
            name="Raced in",
            purpose=Purpose.SURVEY,
            channel=RuleChannel.SMS,
            offset_minutes=60,
        )


def test_a_survey_rule_takes_no_only_if_unconfirmed_and_at_most_a_week(shop: Shop) -> None:
    with pytest.raises(ValidationError) as refused:
        _survey_rule(shop, only_if_unconfirmed=True, offset_minutes=8 * 24 * 60)
    assert set(refused.value.message_dict) == {"only_if_unconfirmed", "offset_minutes"}


# --- The reminder planner ignores survey rules -----------------------------------------------


def test_booking_plans_the_reminders_but_never_the_survey_rule(shop: Shop) -> None:
    with scope(tenant=shop.business):
        rules = reminder_rules_create_defaults(tenant=shop.business)
    assert [rule.purpose for rule in rules] == ["confirmation_request", "reminder", "survey"]
    appointment = _visit(shop, attended=False)
    with scope(tenant=shop.business):
        planned = set(
            OutboundMessage.objects.filter(appointment=appointment, rule__isnull=False).values_list(
                "rule__purpose", flat=True
            )
        )
    assert planned == {"confirmation_request", "reminder"}


def test_a_reminder_turned_into_a_survey_skips_what_it_had_planned(shop: Shop) -> None:
    with scope(tenant=shop.business):
        rule = reminder_rule_create(
            tenant=shop.business,
            name="Soon",
            purpose=Purpose.REMINDER,
            channel=RuleChannel.SMS,
            offset_minutes=60,
            now=NOW,
        )
    _visit(shop, attended=False)
    with scope(tenant=shop.business):
        reminder_rule_update(rule=rule, purpose=Purpose.SURVEY, now=NOW)
        row = OutboundMessage.objects.get(rule=rule)
        assert (row.status, row.status_reason) == (MessageStatus.SKIPPED, "rule_inactive")
        reminder_rule_update(rule=rule, purpose=Purpose.REMINDER, now=NOW)
        row.refresh_from_db()
        assert row.status == MessageStatus.PENDING


# --- Setup and deploy ----------------------------------------------------------------------


def test_a_new_business_gets_the_survey_rule_with_its_defaults(db: None) -> None:
    business, _owner, _created = business_create(
        name="Nueva", slug="nueva", timezone_name="Europe/Madrid", owner_email="o@nueva.test"
    )
    with scope(tenant=business):
        survey = ReminderRule.objects.get(purpose=Purpose.SURVEY)
    assert (survey.offset_minutes, survey.channel, survey.is_active) == (
        120,
        RuleChannel.SMS_THEN_EMAIL,
        True,
    )


def test_the_data_migration_gives_existing_businesses_the_survey_rule(db: None) -> None:
    migration = importlib.import_module("reminders.migrations.0005_default_survey_rules")
    plain, named, surveyed = (BusinessFactory() for _ in range(3))
    with scopes_disabled():
        ReminderRule.objects.create(
            tenant=named,
            name="Post-visit survey, 2 h after",
            purpose=Purpose.REMINDER,
            channel=RuleChannel.SMS,
            offset_minutes=30,
        )
        ReminderRule.objects.create(
            tenant=surveyed,
            name="Our survey",
            purpose=Purpose.SURVEY,
            channel=RuleChannel.EMAIL,
            offset_minutes=30,
            is_active=False,
        )
        migration.create_default_survey_rules(django_apps, None)
        migration.create_default_survey_rules(django_apps, None)  # run twice: still one each
        surveys = {
            rule.tenant_id: rule
            for rule in ReminderRule.objects.filter(purpose=Purpose.SURVEY).order_by("id")
        }
    assert set(surveys) == {plain.pk, named.pk, surveyed.pk}
    assert (surveys[plain.pk].name, surveys[plain.pk].offset_minutes) == (
        "Post-visit survey, 2 h after",
        120,
    )
    assert surveys[plain.pk].channel == RuleChannel.SMS_THEN_EMAIL and surveys[plain.pk].is_active
    assert surveys[named.pk].name == "Post-visit survey, 2 h after (2)"
    assert surveys[surveyed.pk].name == "Our survey"  # its own choice stays, inactive
    assert not surveys[surveyed.pk].is_active
