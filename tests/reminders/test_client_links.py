"""The client's appointment page: links from messages, no account, no change on GET."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.apps import apps
from django.forms.models import model_to_dict
from django.test import Client as DjangoClient
from django_scopes import scope, scopes_disabled

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    CancelledBy,
    EventKind,
    ServiceMode,
    Source,
)
from appointments.services import Actor, appointment_book, appointment_reschedule
from reminders.links import link_issue, link_url
from reminders.models import AccessAction
from tenants.models import Business
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 28, 8, 0, tzinfo=UTC)  # a Thursday
START = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)  # Tuesday 10:00 in Madrid (CEST)


@dataclass
class Booked:
    business: Business
    appointment: Appointment

    def token(self, action: str = AccessAction.MANAGE) -> str:
        with scope(tenant=self.business):
            return link_issue(appointment=self.appointment, action=action)

    def url(self, token: str) -> str:
        with scope(tenant=self.business):
            return urlsplit(link_url(appointment=self.appointment, token=token)).path

    def fresh(self) -> Appointment:
        with scope(tenant=self.business):
            return Appointment.objects.get(pk=self.appointment.pk)

    def events(self) -> int:
        with scope(tenant=self.business):
            return AppointmentEvent.objects.filter(appointment=self.appointment).count()


def book(*, language: str = "en", client_language: str = "", mode: str = "in_person") -> Booked:
    business = BusinessFactory(
        name="Clínica Sol", language=language, phone="+34 910 000 000", email="hola@sol.test"
    )
    with scope(tenant=business):
        location = LocationFactory(
            tenant=business, name="Sol Centro", address="Calle Mayor 1\n28013 Madrid"
        )
        service = ServiceFactory(
            tenant=business,
            name="Limpieza dental",
            mode=mode,
            meeting_link_template="https://meet.example.com/{appointment_id}"
            if mode == ServiceMode.ONLINE
            else "",
        )
        staff = staff_offering(
            tenant=business, location=location, services=[service], display_name="Dra. Herrera"
        )
        client = ClientFactory(tenant=business, name="Ana", language=client_language)
        appointment = appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=START,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
    return Booked(business=business, appointment=appointment)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def booked(db: None) -> Booked:
    return book()


def snapshot(booked: Booked) -> tuple[dict[str, int], dict[str, Any]]:
    """Row counts of every table, and the appointment's every field."""
    with scopes_disabled():
        counts = {model._meta.label: model._base_manager.count() for model in apps.get_models()}
        row = model_to_dict(Appointment.objects.get(pk=booked.appointment.pk))
        row["updated_at"] = Appointment.objects.get(pk=booked.appointment.pk).updated_at
    return counts, row


def post(http: DjangoClient, url: str, **data: str) -> Any:
    return http.post(url, data)


# --- Reading changes nothing -----------------------------------------------------------------


def test_the_page_shows_what_when_where_with_whom_and_the_status(booked: Booked) -> None:
    url = booked.url(booked.token())
    response = DjangoClient().get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Limpieza dental" in page
    assert "Tuesday 2 June 2026" in page
    assert "10:00 AM" in page and "10:30 AM" in page  # the location's wall time, not UTC
    assert "Europe/Madrid time (CEST)" in page
    assert "Sol Centro" in page and "Calle Mayor 1" in page
    assert "https://www.openstreetmap.org/search?query=Calle%20Mayor%201%2028013%20Madrid" in page
    assert "Dra. Herrera" in page
    assert "Not confirmed yet" in page
    for action in ("confirm", "cancel", "reschedule"):
        assert f'value="{action}"' in page
    assert "+34 910 000 000" in page and "hola@sol.test" in page
    assert response["Cache-Control"] == "no-store"
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Referrer-Policy"] == "same-origin"


def test_an_online_service_shows_its_meeting_link_instead_of_an_address(db: None) -> None:
    booked = book(mode=ServiceMode.ONLINE)
    page = DjangoClient().get(booked.url(booked.token())).content.decode()
    assert f"https://meet.example.com/{booked.appointment.pk}" in page
    assert "openstreetmap" not in page and "Calle Mayor" not in page


def test_cookieless_get_head_and_a_second_get_change_nothing(booked: Booked) -> None:
    url = booked.url(booked.token())
    before = snapshot(booked)
    for method in ("get", "head", "get"):
        response = getattr(DjangoClient(), method)(url)  # a fresh client: no cookies at all
        assert response.status_code == 200
    assert snapshot(booked) == before
    assert booked.fresh().status == AppointmentStatus.SCHEDULED


def test_a_confirm_link_shows_only_confirm_and_a_cancel_link_only_cancel(booked: Booked) -> None:
    confirm_page = DjangoClient().get(booked.url(booked.token(AccessAction.CONFIRM))).content
    assert b'value="confirm"' in confirm_page
    assert b'value="cancel"' not in confirm_page and b'value="reschedule"' not in confirm_page
    cancel_page = DjangoClient().get(booked.url(booked.token(AccessAction.CANCEL))).content
    assert b'value="cancel"' in cancel_page
    assert b'value="confirm"' not in cancel_page and b'value="reschedule"' not in cancel_page


def test_other_methods_are_405(booked: Booked) -> None:
    url = booked.url(booked.token())
    before = snapshot(booked)
    for method in ("put", "patch", "delete", "options"):
        assert getattr(DjangoClient(), method)(url).status_code == 405
    assert snapshot(booked) == before


# --- Posting acts, once ----------------------------------------------------------------------


def test_confirm_works_once_and_a_replay_changes_nothing(booked: Booked) -> None:
    url = booked.url(booked.token(AccessAction.CONFIRM))
    http = DjangoClient()
    response = post(http, url, action="confirm")
    assert response.status_code == 303 and response["Location"] == url
    appointment = booked.fresh()
    assert appointment.status == AppointmentStatus.CONFIRMED
    events = booked.events()
    page = http.get(url).content.decode()
    assert "your appointment is confirmed" in page
    assert "Confirmed — see you on Tuesday." in page
    assert 'value="confirm"' not in page

    after_first = snapshot(booked)
    replay = post(http, url, action="confirm")
    assert replay.status_code == 303
    assert booked.events() == events
    assert snapshot(booked) == after_first  # no second event, message or anything
    assert booked.fresh().confirmed_at == appointment.confirmed_at
    assert "already confirmed" in http.get(url).content.decode()


def test_cancel_records_the_reason_the_client_and_the_channel(booked: Booked) -> None:
    url = booked.url(booked.token())
    http = DjangoClient()
    response = post(http, url, action="cancel", reason="  I have a cold  ")
    assert response.status_code == 303
    appointment = booked.fresh()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_by == CancelledBy.CLIENT
    assert appointment.cancellation_reason == "I have a cold"
    with scope(tenant=booked.business):
        event = AppointmentEvent.objects.filter(appointment=appointment).latest("id")
    assert (event.actor_type, event.channel, event.to_status) == ("client", "online", "cancelled")
    assert event.reason == "I have a cold"
    page = http.get(url).content.decode()
    assert "Cancelled" in page and 'name="action"' not in page

    events, after_first = booked.events(), snapshot(booked)
    assert post(http, url, action="cancel").status_code == 303
    assert booked.events() == events
    assert snapshot(booked) == after_first
    assert "already cancelled" in http.get(url).content.decode()


def test_a_confirm_link_cannot_cancel_nor_reschedule(booked: Booked) -> None:
    url = booked.url(booked.token(AccessAction.CONFIRM))
    before = snapshot(booked)
    for data in (
        {"action": "cancel"},
        {"action": "reschedule"},
        {"action": "reschedule_to", "start": "2026-06-03T08:00:00+00:00"},
    ):
        response = post(DjangoClient(), url, **data)
        assert response.status_code == 403
        assert b"Nothing was changed" in response.content
    assert snapshot(booked) == before


def test_a_cancel_link_cannot_confirm(booked: Booked) -> None:
    url = booked.url(booked.token(AccessAction.CANCEL))
    before = snapshot(booked)
    assert post(DjangoClient(), url, action="confirm").status_code == 403
    assert snapshot(booked) == before


def test_an_unknown_action_changes_nothing(booked: Booked) -> None:
    url = booked.url(booked.token())
    before = snapshot(booked)
    assert post(DjangoClient(), url, action="delete").status_code == 303
    assert post(DjangoClient(), url).status_code == 303
    assert snapshot(booked) == before


def test_nothing_can_be_done_once_the_appointment_began(booked: Booked) -> None:
    url = booked.url(booked.token())
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        page = DjangoClient().get(url).content.decode()
        assert "Happening now" in page and 'name="action"' not in page
        before = snapshot(booked)
        assert post(DjangoClient(), url, action="cancel").status_code == 303
        assert snapshot(booked) == before


def test_the_posts_need_a_csrf_token(booked: Booked) -> None:
    url = booked.url(booked.token())
    http = DjangoClient(enforce_csrf_checks=True)
    assert http.post(url, {"action": "confirm"}).status_code == 403
    assert booked.fresh().status == AppointmentStatus.SCHEDULED
    http.get(url)
    token = http.cookies["csrftoken"].value
    response = http.post(url, {"action": "confirm", "csrfmiddlewaretoken": token})
    assert response.status_code == 303
    assert booked.fresh().status == AppointmentStatus.CONFIRMED


# --- Links that do not work ------------------------------------------------------------------


def assert_refused(response: Any, status: int = 404) -> None:
    assert response.status_code == status
    page = response.content.decode()
    assert "This link no longer works" in page
    assert "+34 910 000 000" in page  # how to reach the business
    assert "Limpieza dental" not in page and "Dra. Herrera" not in page
    assert response["Cache-Control"] == "no-store"


def test_unknown_tokens_get_the_friendly_page(booked: Booked) -> None:
    before = snapshot(booked)
    for token in ("x", "A" * 22, "A" * 200):
        assert_refused(DjangoClient().get(booked.url(token)))
        assert_refused(post(DjangoClient(), booked.url(token), action="confirm"))
    assert snapshot(booked) == before


def test_a_token_for_another_appointment_does_not_reach_this_one(booked: Booked) -> None:
    with scope(tenant=booked.business):
        other = appointment_book(
            tenant=booked.business,
            location=booked.appointment.location,
            staff=booked.appointment.staff,
            service=booked.appointment.service,
            client=ClientFactory(tenant=booked.business, name="Luis"),
            start=START + timedelta(days=1),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        other_token = link_issue(appointment=other, action=AccessAction.MANAGE)
    response = post(DjangoClient(), booked.url(other_token), action="cancel")
    assert response.status_code == 303
    assert booked.fresh().status == AppointmentStatus.SCHEDULED  # ours untouched
    with scope(tenant=booked.business):
        assert Appointment.objects.get(pk=other.pk).status == AppointmentStatus.CANCELLED


def test_another_business_slug_with_a_valid_token_is_404(booked: Booked) -> None:
    token = booked.token()
    elsewhere = BusinessFactory(name="Elsewhere", phone="+34 930 000 000")
    url = f"/{elsewhere.slug}/a/{token}/"
    before = snapshot(booked)
    for response in (DjangoClient().get(url), post(DjangoClient(), url, action="cancel")):
        assert response.status_code == 404
        assert b"This link no longer works" in response.content
        assert b"Limpieza" not in response.content and b"Ana" not in response.content
        assert b"+34 930 000 000" in response.content and b"+34 910" not in response.content
    assert snapshot(booked) == before
    assert DjangoClient().get(f"/no-such-business/a/{token}/").status_code == 404


def test_an_expired_link_is_410(booked: Booked) -> None:
    url = booked.url(booked.token())
    before = snapshot(booked)
    with time_machine.travel(START + timedelta(days=8), tick=False):
        assert_refused(DjangoClient().get(url), 410)
        assert_refused(post(DjangoClient(), url, action="cancel"), 410)
    assert snapshot(booked) == before


def test_links_to_an_older_version_stop_working_after_a_reschedule(booked: Booked) -> None:
    confirm_url = booked.url(booked.token(AccessAction.CONFIRM))
    with scope(tenant=booked.business):
        appointment_reschedule(
            appointment=booked.appointment, start=START + timedelta(days=1), actor=Actor.system()
        )
    before = snapshot(booked)
    assert_refused(DjangoClient().get(confirm_url))
    assert_refused(post(DjangoClient(), confirm_url, action="confirm"))
    assert snapshot(booked) == before


# --- Rescheduling through the page -----------------------------------------------------------


def test_reschedule_offers_slots_and_moves_the_appointment_with_a_new_link(booked: Booked) -> None:
    old_url = booked.url(booked.token())
    http = DjangoClient()
    before = snapshot(booked)
    offer = post(http, old_url, action="reschedule")
    assert offer.status_code == 200
    page = offer.content.decode()
    assert snapshot(booked) == before  # showing the times changes nothing
    assert "Monday 1 June" in page  # grouped by day in the location's zone
    assert 'value="2026-06-01T07:00:00+00:00"' in page  # Monday 09:00 in Madrid
    # Today, 10:00 in Madrid: the 2-hour minimum notice leaves noon as the first time.
    assert 'value="2026-05-28T09:45:00+00:00"' not in page
    assert 'value="2026-05-28T10:00:00+00:00"' in page
    assert f'value="{START.isoformat()}"' not in page  # the current time is not offered

    new_start = "2026-06-03T13:15:00+00:00"  # Wednesday 15:15 in Madrid
    response = post(http, old_url, action="reschedule_to", start=new_start)
    assert response.status_code == 303
    new_url = response["Location"]
    assert new_url != old_url
    appointment = booked.fresh()
    assert appointment.start == datetime.fromisoformat(new_start)
    assert appointment.version == 2
    with scope(tenant=booked.business):
        event = AppointmentEvent.objects.filter(appointment=appointment).latest("id")
    assert (event.kind, event.actor_type, event.channel) == (
        EventKind.RESCHEDULED,
        "client",
        "online",
    )

    page = http.get(new_url).content.decode()
    assert "Wednesday 3 June 2026" in page and "3:15 PM" in page
    assert "Your appointment is moved" in page
    assert_refused(DjangoClient().get(old_url))
    before = snapshot(booked)
    assert_refused(post(DjangoClient(), old_url, action="reschedule_to", start=new_start))
    assert snapshot(booked) == before


def test_reschedule_refuses_times_that_are_not_offered(booked: Booked) -> None:
    url = booked.url(booked.token())
    before = snapshot(booked)
    for start in (
        "2026-06-03T13:07:00+00:00",  # off the 15-minute grid
        "2026-05-28T08:30:00+00:00",  # inside the minimum notice
        "2026-06-06T09:00:00+00:00",  # a Saturday: no hours
        "2026-06-03T13:15:00",  # no time zone
        "tomorrow",
        "",
    ):
        response = post(DjangoClient(), url, action="reschedule_to", start=start)
        assert response.status_code in {400, 409}, start
        assert b"Change the time" in response.content
    assert snapshot(booked) == before


# --- Languages -------------------------------------------------------------------------------


def test_the_page_speaks_the_clients_language(db: None) -> None:
    booked = book(language="en", client_language="es")
    response = DjangoClient().get(booked.url(booked.token()), HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response["Content-Language"] == "es"
    assert '<html lang="es">' in page
    assert "Tu cita" in page and "martes 2 de junio de 2026" in page
    assert "Pendiente de confirmar" in page
    assert "10:00" in page and "hora de Europe/Madrid (CEST)" in page


def test_the_page_falls_back_to_the_business_language_and_the_switcher_wins(db: None) -> None:
    booked = book(language="es")
    url = booked.url(booked.token())
    http = DjangoClient()
    assert "Tu cita" in http.get(url).content.decode()
    response = http.post("/i18n/setlang/", {"language": "en", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    page = http.get(url).content.decode()
    assert "Your appointment" in page and "Tuesday 2 June 2026" in page


def test_the_friendly_page_and_the_messages_speak_spanish_too(db: None) -> None:
    booked = book(language="es")
    url = booked.url(booked.token())
    http = DjangoClient()
    post(http, url, action="confirm")
    page = http.get(url).content.decode()
    assert "Confirmada — nos vemos el martes." in page
    assert (
        DjangoClient().get(booked.url("nope")).content.decode().count("Este enlace ya no funciona")
    )
