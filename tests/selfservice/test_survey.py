"""After an attended visit the client is asked one question, once; staff read the results.

The business's survey rule (Puntual's default: 2 h after the end, SMS else email) decides
when; tests/selfservice/test_survey_rule.py covers what the rule changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, Source
from appointments.services import Actor, appointment_book, appointment_mark_attended
from reminders.channels.sms import LocmemSMSBackend
from reminders.models import Purpose, ReminderRule, RuleChannel
from reminders.services.rules import reminder_rule_create
from selfservice.models import OfferStatus, SurveyInvitation
from selfservice.selectors import survey_score, survey_scores_by
from selfservice.services.outgoing import selfservice_send_due
from tests.conftest import login_member
from tests.factories import ClientFactory
from tests.selfservice.conftest import NOW, Shop

# Thursday 28 May 2026 12:00 in Madrid; the visit ends 12:30, the survey is asked at 14:30.
VISIT = datetime(2026, 5, 28, 10, 0, tzinfo=UTC)
SURVEY_AT = VISIT + timedelta(minutes=30 + 120)
TOKEN = re.compile(r"/survey/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def survey_rule(shop: Shop) -> ReminderRule:
    with scope(tenant=shop.business):
        return reminder_rule_create(
            tenant=shop.business,
            name="Post-visit survey, 2 h after",
            purpose=Purpose.SURVEY,
            channel=RuleChannel.SMS_THEN_EMAIL,
            offset_minutes=120,
            now=NOW,
        )


def _attended_visit(
    shop: Shop, staff: Any = None, start: datetime = VISIT, **client_fields: Any
) -> Appointment:
    with scope(tenant=shop.business):
        appointment = appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=staff or shop.ana,
            service=shop.service,
            client=ClientFactory(tenant=shop.business, **client_fields),
            start=start,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        return appointment_mark_attended(
            appointment=appointment, actor=Actor.system(), now=start + timedelta(minutes=31)
        )


def _survey_token() -> str:
    match = TOKEN.search(LocmemSMSBackend.outbox[-1].body)
    assert match is not None
    return match.group(1)


def test_the_survey_is_sent_two_hours_after_the_end_once(shop: Shop) -> None:
    _attended_visit(shop)
    assert selfservice_send_due(now=SURVEY_AT - timedelta(minutes=1))["planned_surveys"] == 0
    assert selfservice_send_due(now=SURVEY_AT)["sent"] == 1
    assert selfservice_send_due(now=SURVEY_AT + timedelta(minutes=1))["sent"] == 0
    assert len(LocmemSMSBackend.outbox) == 1
    assert "how was your visit?" in LocmemSMSBackend.outbox[0].body


def test_a_visit_not_attended_gets_no_survey(shop: Shop) -> None:
    with scope(tenant=shop.business):
        appointment_book(
            tenant=shop.business,
            location=shop.location,
            staff=shop.ana,
            service=shop.service,
            client=ClientFactory(tenant=shop.business),
            start=VISIT,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
    assert selfservice_send_due(now=SURVEY_AT)["planned_surveys"] == 0


def test_a_client_without_sms_consent_gets_it_by_email(shop: Shop) -> None:
    _attended_visit(shop, sms_consent=False)
    selfservice_send_due(now=SURVEY_AT)
    assert LocmemSMSBackend.outbox == []
    assert len(mail.outbox) == 1 and "/survey/" in mail.outbox[0].body


def test_a_client_reachable_by_nothing_is_marked_not_sent(shop: Shop) -> None:
    _attended_visit(shop, sms_consent=False, email_consent=False)
    selfservice_send_due(now=SURVEY_AT)
    with scope(tenant=shop.business):
        invitation = SurveyInvitation.objects.get()
    assert invitation.status == OfferStatus.FAILED and invitation.status_reason == "no_consent"


def test_the_client_answers_once(client: DjangoClient, shop: Shop) -> None:
    _attended_visit(shop)
    selfservice_send_due(now=SURVEY_AT)
    url = f"/sonrisa/survey/{_survey_token()}/"
    with time_machine.travel(SURVEY_AT + timedelta(minutes=5), tick=False):
        page = client.get(url)
        assert page.status_code == 200 and b"How was your visit?" in page.content
        assert client.post(url, {"rating": "9"}).status_code == 400
        response = client.post(url, {"rating": "4", "comment": "Very kind."})
        assert response.status_code == 200 and b"Thank you for your answer" in response.content
        again = client.post(url, {"rating": "1"})
        assert again.status_code == 409
    with scope(tenant=shop.business):
        invitation = SurveyInvitation.objects.get()
    assert invitation.rating == 4 and invitation.comment == "Very kind."


def test_scores_per_staff_and_service_and_the_results_page(
    client: DjangoClient, shop: Shop
) -> None:
    ratings = [(shop.ana, 5), (shop.bea, 3), (shop.bea, 2)]
    for index, (staff, _rating) in enumerate(ratings):
        _attended_visit(shop, staff=staff, start=VISIT - timedelta(hours=index))
    selfservice_send_due(now=SURVEY_AT)
    with scope(tenant=shop.business):
        invitations = list(SurveyInvitation.objects.order_by("appointment_id"))
        for invitation, (_staff, rating) in zip(invitations, ratings, strict=True):
            SurveyInvitation.objects.filter(pk=invitation.pk).update(
                rating=rating, answered_at=SURVEY_AT, comment=f"rated {rating}"
            )
        day = (SURVEY_AT - timedelta(days=1), SURVEY_AT + timedelta(days=1))
        score = survey_score(shop.business, *day)
        assert score.answers == 3 and score.average == Decimal("3.33")
        by_staff = survey_scores_by(shop.business, *day, by="staff")
        assert [(r.name, r.average, r.answers) for r in by_staff] == [
            ("Ana", Decimal("5"), 1),
            ("Bea", Decimal("2.5"), 2),
        ]
        assert survey_scores_by(shop.business, *day, by="service")[0].answers == 3
    login_member(client, shop.business)
    with time_machine.travel(SURVEY_AT + timedelta(hours=1), tick=False):
        page = client.get("/dashboard/surveys/")
    body = page.content.decode()
    assert page.status_code == 200 and "Bea" in body and "2.5" in body and "rated 3" in body


def test_an_unknown_survey_link_is_404(client: DjangoClient, shop: Shop) -> None:
    assert client.get("/sonrisa/survey/unknown/").status_code == 404


@pytest.mark.parametrize("delay", [30, 24 * 60])
def test_the_delay_is_the_survey_rule_s_offset(
    shop: Shop, survey_rule: ReminderRule, delay: int
) -> None:
    with scope(tenant=shop.business):
        ReminderRule.objects.filter(pk=survey_rule.pk).update(offset_minutes=delay)
    _attended_visit(shop)
    due = VISIT + timedelta(minutes=30 + delay)
    assert selfservice_send_due(now=due - timedelta(minutes=1))["planned_surveys"] == 0
    assert selfservice_send_due(now=due)["sent"] == 1
