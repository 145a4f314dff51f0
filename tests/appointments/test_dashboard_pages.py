"""The dashboard's other pages: a new appointment, an appointment's page (its timeline, the
link sent again, notes), a client's page, and the inbox of SMS replies."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, AppointmentStatus, EventKind, Source
from appointments.services import Actor, appointment_cancel, appointment_mark_no_show
from clients.models import Client
from policies.services import client_flag
from reminders.models import Channel as MessageChannel
from reminders.models import (
    InboundMessage,
    MessageKind,
    MessageStatus,
    OutboundMessage,
)
from tenants.models import Business, Role
from tests.appointments import test_dashboard as base
from tests.appointments.test_dashboard import BOOKED_AT, HTMX, NOW, TODAY, Clinic, _page, at
from tests.conftest import login_member
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db

# The same clinic, receptionist and frozen clock as the boards' tests.
clinic = base.clinic
desk = base.desk
frozen = base.frozen

TOMORROW = TODAY + timedelta(days=1)


def _booking(clinic: Clinic, **extra: str) -> dict[str, str]:
    return {
        "do": "book",
        "service": str(clinic.cleaning.pk),
        "location": str(clinic.location.pk),
        "staff": str(clinic.herrera.pk),
        "slot": at(10, day=TOMORROW).isoformat(),
        **extra,
    }


# --- A new appointment ------------------------------------------------------------------------


def test_the_booking_page_offers_free_times_and_the_terms_of_the_service(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    with scope(tenant=clinic.business):
        PolicyFactory(tenant=clinic.business, deposit_kind="fixed", deposit_amount=20)
    clinic.book(at(10, day=TOMORROW))
    page = _page(
        desk.get(
            "/dashboard/appointments/new/",
            {
                "service": str(clinic.cleaning.pk),
                "staff": str(clinic.herrera.pk),
                "date": "2026-06-02",
            },
        )
    )
    assert f'value="{at(9, day=TOMORROW).isoformat()}"' in page
    assert f'value="{at(10, day=TOMORROW).isoformat()}"' not in page  # taken
    assert "Deposit: €20.00" in page
    assert "A deposit of €20.00 holds this appointment." in page


def test_the_front_desk_is_offered_walk_in_times_inside_the_minimum_notice(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    """Clients booking online need two hours' notice; a client at the desk at 10:30 can be
    seen at 11:00 (or now), and the receptionist books it from the picker."""
    query = {
        "service": str(clinic.cleaning.pk),
        "staff": str(clinic.herrera.pk),
        "date": TODAY.isoformat(),
    }
    page = _page(desk.get("/dashboard/appointments/new/", query))
    assert f'value="{at(11).isoformat()}"' in page
    assert f'value="{at(10, 30).isoformat()}"' in page  # starting now
    assert f'value="{at(10).isoformat()}"' not in page  # over
    response = desk.post(
        "/dashboard/appointments/new/",
        _booking(clinic, slot=at(11).isoformat(), name="Walk-in", phone="612 000 111"),
    )
    assert response.status_code == 302
    with scope(tenant=clinic.business):
        assert Appointment.objects.get(client__name="Walk-in").start == at(11)


def test_a_receptionist_books_a_new_client_into_a_free_slot(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    response = desk.post(
        "/dashboard/appointments/new/",
        _booking(
            clinic,
            name="Marta Ruiz",
            phone="612 345 678",
            email="",
            sms_consent="on",
            notes="First visit",
        ),
    )
    assert response.status_code == 302
    with scope(tenant=clinic.business):
        appointment = Appointment.objects.select_related("client").get(client__name="Marta Ruiz")
    assert response["Location"] == f"/dashboard/appointments/{appointment.pk}/"
    assert (appointment.start, appointment.staff_id, appointment.source) == (
        at(10, day=TOMORROW),
        clinic.herrera.pk,
        Source.DASHBOARD,
    )
    assert appointment.client.phone == "+34612345678" and appointment.client.sms_consent
    assert appointment.notes == "First visit"
    detail = _page(desk.get(response["Location"]))
    assert "Marta Ruiz is booked for Limpieza on 02/06 at 10:00 with Dra. Lucía Herrera." in detail


def test_a_known_phone_books_the_known_client_and_anyone_books_whoever_is_free(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    clinic.book(at(10, day=TOMORROW), service=clinic.filling)  # Herrera is busy at 10:00
    with scope(tenant=clinic.business):
        phone = Client.objects.get(pk=clinic.luis.pk).phone
    response = desk.post(
        "/dashboard/appointments/new/",
        _booking(clinic, service=str(clinic.filling.pk), staff="any", name="Luis", phone=phone),
    )
    assert response.status_code == 302
    with scope(tenant=clinic.business):
        assert Client.objects.filter(tenant=clinic.business).count() == 2
        booked = Appointment.objects.get(client=clinic.luis)
    assert booked.staff_id == clinic.ruiz.pk


def test_a_slot_taken_meanwhile_shows_a_clear_message_and_fresh_times_and_adds_no_client(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    clinic.book(at(10, day=TOMORROW))  # someone else booked it while the form was open
    response = desk.post(
        "/dashboard/appointments/new/", _booking(clinic, name="Marta", phone="612345678")
    )
    assert response.status_code == 409
    page = _page(response)
    assert "That time was just taken. Here are the free times now; choose another." in page
    assert f'value="{at(10, day=TOMORROW).isoformat()}"' not in page
    assert f'value="{at(9, day=TOMORROW).isoformat()}"' in page
    assert 'value="Marta"' in page  # what was typed is kept
    with scope(tenant=clinic.business):
        assert not Client.objects.filter(name="Marta").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"name": "", "phone": "612345678"},
            "Choose a client, or give the new client&#x27;s name.",
        ),
        ({"name": "Marta", "phone": "", "email": ""}, "Give a phone number or an email address."),
        ({"name": "Marta", "phone": "not a phone"}, "phone"),
        ({"name": "Marta", "phone": "612345678", "slot": "soon"}, "Choose a free time."),
        ({"name": "Marta", "phone": "612345678", "staff": "999999"}, "does not offer"),
        ({"name": "Marta", "email": "marta@", "phone": ""}, "email"),
    ],
)
def test_bad_input_is_marked_and_nothing_is_booked(
    desk: DjangoClient, clinic: Clinic, frozen: None, extra: dict[str, str], message: str
) -> None:
    response = desk.post("/dashboard/appointments/new/", _booking(clinic, **extra))
    assert response.status_code == 400
    page = _page(response)
    assert "The appointment is not booked yet" in page and message in page
    with scope(tenant=clinic.business):
        assert not Appointment.objects.exists()
        assert Client.objects.count() == 2


def test_searching_and_choosing_a_day_book_nothing(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    for do in ("search", "times", ""):
        response = desk.post(
            "/dashboard/appointments/new/", {**_booking(clinic, name="M", phone="612"), "do": do}
        )
        assert response.status_code == 200
    with scope(tenant=clinic.business):
        assert not Appointment.objects.exists()


def test_the_client_search_finds_by_name_phone_and_email(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    with scope(tenant=clinic.business):
        Client.objects.filter(pk=clinic.ana.pk).update(phone="+34611222333", email="ana@x.test")
    for query in ("garcía", "611 222", "ANA@X", "Ana"):
        response = desk.get(
            "/dashboard/appointments/new/", {"q": query}, HTTP_HX_TARGET="client-results", **HTMX
        )
        page = _page(response)
        assert response.templates[0].name == "dashboard/_client_results.html"
        assert f'name="client" value="{clinic.ana.pk}"' in page, query
        assert "Luis Pérez" not in page
    nothing = _page(desk.get("/dashboard/clients/", {"q": "zzz"}))
    assert "No client matches “zzz”." in nothing


def test_booking_for_a_chosen_client(desk: DjangoClient, clinic: Clinic, frozen: None) -> None:
    page = _page(desk.get("/dashboard/appointments/new/", {"client": clinic.ana.pk}))
    assert f'name="client" value="{clinic.ana.pk}"' in page and "Ana García" in page
    response = desk.post(
        "/dashboard/appointments/new/", _booking(clinic, client=str(clinic.ana.pk))
    )
    assert response.status_code == 302
    with scope(tenant=clinic.business):
        assert Appointment.objects.get().client_id == clinic.ana.pk


# --- An appointment's page ----------------------------------------------------------------


def test_the_timeline_merges_events_messages_with_their_status_and_replies(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    with scope(tenant=clinic.business):
        for key, status, minutes in (
            ("rule:a", MessageStatus.DELIVERED, 10),
            ("rule:b", MessageStatus.FAILED, 20),
            ("rule:c", MessageStatus.UNKNOWN, 30),
        ):
            OutboundMessage.objects.create(
                tenant=clinic.business,
                appointment=appointment,
                kind=MessageKind.RULE,
                dedupe_key=key,
                channel=MessageChannel.SMS,
                to="+34600000000",
                send_at=BOOKED_AT + timedelta(minutes=minutes),
                sent_at=BOOKED_AT + timedelta(minutes=minutes),
                status=status,
                status_reason="undelivered: 30003" if status == MessageStatus.FAILED else "",
            )
        InboundMessage.objects.create(
            tenant=clinic.business,
            provider_id="SM1",
            from_number="+34600000000",
            body="¿Puedo ir más tarde?",
            client=clinic.ana,
            appointment=appointment,
            outcome=InboundMessage.Outcome.NEEDS_HUMAN,
            received_at=BOOKED_AT + timedelta(minutes=40),
        )
    page = _page(desk.get(f"/dashboard/appointments/{appointment.pk}/"))
    order = [
        page.index("Appointment booked"),
        page.index("Delivered"),
        page.index("Failed"),
        page.index("undelivered: 30003"),
        page.index("Unknown"),
        page.index("¿Puedo ir más tarde?"),
    ]
    assert order == sorted(order)
    assert "Needs a person" in page


def test_the_link_is_sent_again_once_per_request(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    url = f"/dashboard/appointments/{appointment.pk}/resend-link/"
    first = desk.post(url, {"key": "form-one-abc"}, follow=True)
    assert "The link goes out to the client within a minute." in _page(first)
    again = desk.post(url, {"key": "form-one-abc"}, follow=True)  # a double click
    assert "The link was already sent again." in _page(again)
    desk.post(url, {"key": "form-two-xyz"})
    with scope(tenant=clinic.business):
        resent = OutboundMessage.objects.filter(
            appointment=appointment, dedupe_key__startswith="resend:"
        )
        assert sorted(resent.values_list("dedupe_key", flat=True)) == [
            "resend:form-one-abc",
            "resend:form-two-xyz",
        ]
        row = resent.first()
        assert row is not None
        assert (row.kind, row.status, row.send_at) == (
            MessageKind.BOOKING_CONFIRMATION,
            MessageStatus.PENDING,
            NOW,
        )
    page = _page(desk.get(f"/dashboard/appointments/{appointment.pk}/"))
    assert page.count("Link sent again") == 2  # two messages
    assert page.count("Asked to send the link again") == 2  # by whom, when


def test_no_link_is_sent_for_a_cancelled_appointment_a_client_who_accepts_nothing_or_a_bad_key(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    url = f"/dashboard/appointments/{appointment.pk}/resend-link/"
    assert "The page was out of date" in _page(desk.post(url, {"key": "x"}, follow=True))
    with scope(tenant=clinic.business):
        Client.objects.filter(pk=clinic.ana.pk).update(sms_consent=False, email_consent=False)
    assert "accepts neither SMS nor email" in _page(
        desk.post(url, {"key": "consent-check"}, follow=True)
    )
    with scope(tenant=clinic.business):
        appointment_cancel(appointment=appointment, actor=Actor.system(), now=NOW)
    assert "only for appointments still to come" in _page(
        desk.post(url, {"key": "after-cancel"}, follow=True)
    )
    with scope(tenant=clinic.business):
        assert not OutboundMessage.objects.filter(dedupe_key__startswith="resend:").exists()


def test_a_note_joins_the_history_with_its_author(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    url = f"/dashboard/appointments/{appointment.pk}/notes/"
    assert "Write the note first." in _page(desk.post(url, {"note": "  "}, follow=True))
    # Pasted with a control character (a vertical tab): stored without it.
    response = desk.post(url, {"note": "Allergic\x0b to latex"}, **HTMX)
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["agendaChanged"] is True
    with scope(tenant=clinic.business):
        note = appointment.events.get(kind=EventKind.NOTE)
    assert note.reason == "Allergic to latex" and note.actor_label.endswith("@example.com")
    assert "Allergic to latex" in _page(desk.get(f"/dashboard/appointments/{appointment.pk}/"))


# --- A client's page ----------------------------------------------------------------------


def test_the_client_page_shows_contact_reliability_money_history_and_upcoming(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    past = clinic.book(at(9))
    upcoming = clinic.book(at(10, day=TOMORROW))
    with scope(tenant=clinic.business):
        appointment_mark_no_show(appointment=past, actor=Actor.system(), now=at(9, 20))
        client_flag(client=clinic.ana, actor=Actor.system(), reason="Two no-shows in May")
    page = _page(desk.get(f"/dashboard/clients/{clinic.ana.pk}/"))
    assert "Ana García" in page and "Accepts SMS" in page
    assert "Watch" in page  # one strike
    assert "0 attended · 1 no-shows · 0 late cancellations" in page
    assert "Flagged: Two no-shows in May" in page
    assert "€0.00" in page
    history = page.index('id="history-title"')
    assert page.index(f"/dashboard/appointments/{upcoming.pk}/") < history
    assert page.index(f"/dashboard/appointments/{past.pk}/") > history


def test_the_client_s_notes_are_saved(desk: DjangoClient, clinic: Clinic, frozen: None) -> None:
    url = f"/dashboard/clients/{clinic.ana.pk}/notes/"
    response = desk.post(url, {"notes": "Prefers\x07 mornings"})
    assert response["Location"] == f"/dashboard/clients/{clinic.ana.pk}/"
    assert "x" * 5001 not in _page(desk.post(url, {"notes": "x" * 5001}, follow=True))
    with scope(tenant=clinic.business):
        assert Client.objects.get(pk=clinic.ana.pk).notes == "Prefers mornings"


# --- The inbox ------------------------------------------------------------------------------


def _reply(clinic: Clinic, appointment: Appointment | None, body: str, sid: str) -> InboundMessage:
    with scope(tenant=clinic.business):
        return InboundMessage.objects.create(
            tenant=clinic.business,
            provider_id=sid,
            from_number="+34600000000",
            body=body,
            client=clinic.ana,
            appointment=appointment,
            outcome=InboundMessage.Outcome.NEEDS_HUMAN,
        )


def test_the_inbox_lists_the_replies_waiting_and_the_navigation_counts_them(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    _reply(clinic, appointment, "¿Puedo llevar a mi hija?", "SM1")
    handled = _reply(clinic, None, "Gracias", "SM2")
    with scope(tenant=clinic.business):
        InboundMessage.objects.filter(pk=handled.pk).update(handled_at=NOW)
        InboundMessage.objects.create(
            tenant=clinic.business,
            provider_id="SM3",
            from_number="+34600000000",
            body="SI",
            outcome=InboundMessage.Outcome.CONFIRMED,
        )
    page = _page(desk.get("/dashboard/inbox/"))
    assert "¿Puedo llevar a mi hija?" in page and "Gracias" not in page and ">SI<" not in page
    assert '1<span class="visually-hidden"> waiting</span>' in page
    assert "Gracias" in _page(desk.get("/dashboard/inbox/", {"all": "1"}))
    count = _page(desk.get("/dashboard/inbox/count/"))
    assert 'id="inbox-count"' in count and ">1<" in count


def test_confirming_from_the_inbox_confirms_and_marks_the_reply_handled(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    reply = _reply(clinic, appointment, "Vale, allí estaré", "SM1")
    response = desk.post(f"/dashboard/inbox/{reply.pk}/confirm/", **HTMX)
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["inboxChanged"] is True
    with scope(tenant=clinic.business):
        appointment.refresh_from_db()
        reply.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED and reply.handled_at == NOW
    # Again: the appointment is confirmed already, said as a message.
    again = desk.post(f"/dashboard/inbox/{reply.pk}/confirm/", follow=True)
    assert "This change is not possible" in _page(again)


def test_cancelling_from_the_inbox_marks_the_reply_handled(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    reply = _reply(clinic, appointment, "No puedo ir", "SM1")
    other = _reply(clinic, None, "Otro", "SM2")
    url = f"/dashboard/appointments/{appointment.pk}/cancel/"
    form = _page(desk.get(url, {"inbound": str(reply.pk), "next": "/dashboard/inbox/"}))
    assert f'name="inbound" value="{reply.pk}"' in form
    # A reply about another appointment is not marked by this cancellation.
    desk.post(url, {"by": "client", "reason": "SMS: no puedo ir", "inbound": str(other.pk)})
    with scope(tenant=clinic.business):
        assert InboundMessage.objects.get(pk=other.pk).handled_at is None
    second = clinic.book(at(16))
    reply_two = _reply(clinic, second, "Tampoco", "SM3")
    response = desk.post(
        f"/dashboard/appointments/{second.pk}/cancel/",
        {
            "by": "client",
            "reason": "SMS",
            "inbound": str(reply_two.pk),
            "next": "/dashboard/inbox/",
        },
    )
    assert response["Location"] == "/dashboard/inbox/"
    with scope(tenant=clinic.business):
        assert InboundMessage.objects.get(pk=reply_two.pk).handled_at == NOW


def test_marking_a_reply_handled(desk: DjangoClient, clinic: Clinic, frozen: None) -> None:
    reply = _reply(clinic, None, "Hola", "SM1")
    response = desk.post(f"/dashboard/inbox/{reply.pk}/handled/", follow=True)
    assert "The reply is marked as handled." in _page(response)
    with scope(tenant=clinic.business):
        assert InboundMessage.objects.get(pk=reply.pk).handled_at == NOW


def test_the_business_language_speaks_spanish(
    client: DjangoClient, business: Business, clinic: Clinic
) -> None:
    Business.objects.filter(pk=business.pk).update(language="es")
    login_member(client, business, Role.RECEPTIONIST, language="")
    appointment = clinic.book(at(12))
    with time_machine.travel(NOW, tick=False):
        page = _page(client.get("/dashboard/"))
        assert "<h1>Hoy" in page and "Sin confirmar" in page and "Registrar llegada" in page
        detail = _page(client.get(f"/dashboard/appointments/{appointment.pk}/"))
    assert "Historial y mensajes" in detail and "Cita reservada" in detail
