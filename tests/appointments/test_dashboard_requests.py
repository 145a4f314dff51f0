"""Requests on the dashboard: the queue and its badge, the blocks, Accept and Decline (with
and without htmx), and another business's requests never shown."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Appointment, AppointmentEvent, EventKind, Source
from appointments.services import Actor, appointment_book, appointment_cancel
from tests.appointments.test_dashboard import (
    BOOKED_AT,
    HTMX,
    Clinic,
    _page,
    at,
    clinic,
    desk,
    frozen,
)
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]
__all__ = ["clinic", "desk", "frozen"]  # fixtures shared with test_dashboard


def _request(clinic: Clinic, start: datetime, name: str = "Nueva Clienta") -> Appointment:
    with scope(tenant=clinic.business):
        return appointment_book(
            tenant=clinic.business,
            location=clinic.location,
            staff=clinic.herrera,
            service=clinic.cleaning,
            client=ClientFactory(tenant=clinic.business, name=name),
            start=start,
            source=Source.ONLINE,
            actor=Actor.client("online"),
            now=BOOKED_AT,
            as_request=True,
        )


@pytest.fixture
def approving(clinic: Clinic) -> Clinic:
    clinic.business.approve_new_clients = True
    clinic.business.save()
    return clinic


def test_the_queue_lists_the_requests_soonest_first_with_accept_and_decline(
    desk: DjangoClient, approving: Clinic
) -> None:
    later = _request(approving, at(13), name="Later Client")
    sooner = _request(approving, at(12), name="Sooner Client")
    page = _page(desk.get("/dashboard/requests/"))
    assert page.index("Sooner Client") < page.index("Later Client")
    for appointment in (sooner, later):
        assert f"/dashboard/appointments/{appointment.pk}/accept/" in page
        assert f"/dashboard/appointments/{appointment.pk}/decline/" in page


def test_the_navigation_counts_the_requests_waiting(desk: DjangoClient, approving: Clinic) -> None:
    _request(approving, at(12))
    _request(approving, at(13))
    page = _page(desk.get("/dashboard/"))
    assert 'href="/dashboard/requests/"' in page
    assert _page(desk.get("/dashboard/requests/count/")).count(">2<") == 1


def test_the_navigation_has_no_requests_where_the_business_does_not_approve(
    desk: DjangoClient, clinic: Clinic
) -> None:
    assert 'href="/dashboard/requests/"' not in _page(desk.get("/dashboard/"))


def test_a_request_is_a_requested_block_on_the_board_with_accept_and_decline(
    desk: DjangoClient, approving: Clinic
) -> None:
    request = _request(approving, at(12))
    page = _page(desk.get("/dashboard/"))
    assert f'id="appt-{request.pk}" class="appt st-requested"' in page
    assert ">Requested<" in page
    assert f"/dashboard/appointments/{request.pk}/accept/" in page
    assert f"/dashboard/appointments/{request.pk}/confirm/" not in page
    detail = _page(desk.get(f"/dashboard/appointments/{request.pk}/"))
    assert "Requested" in detail and "Booking requested" in detail


def test_accept_with_htmx_swaps_the_block_and_tells_the_desk(
    desk: DjangoClient, approving: Clinic
) -> None:
    request = _request(approving, at(12))
    response = desk.post(f"/dashboard/appointments/{request.pk}/accept/", {"view": "block"}, **HTMX)
    assert response.status_code == 200
    assert "st-scheduled" in _page(response)
    events = json.loads(response["HX-Trigger"])
    assert events["requestsChanged"] and "accepted" in events["showMessage"]["text"]
    request.refresh_from_db()
    assert request.status == "scheduled"


def test_accept_without_javascript_goes_back_with_a_message(
    desk: DjangoClient, approving: Clinic
) -> None:
    request = _request(approving, at(12))
    response = desk.post(
        f"/dashboard/appointments/{request.pk}/accept/", {"next": "/dashboard/requests/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/requests/"
    page = _page(desk.get("/dashboard/requests/"))
    assert "request is accepted" in page and "No requests waiting." in page


def test_accepting_what_is_no_request_says_why_and_changes_nothing(
    desk: DjangoClient, approving: Clinic
) -> None:
    booked = approving.book(at(12))
    response = desk.post(f"/dashboard/appointments/{booked.pk}/accept/", **HTMX)
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["showMessage"]["level"] == "error"
    booked.refresh_from_db()
    assert booked.status == "scheduled"


def test_accept_is_post_only(desk: DjangoClient, approving: Clinic) -> None:
    request = _request(approving, at(12))
    assert desk.get(f"/dashboard/appointments/{request.pk}/accept/").status_code == 405
    request.refresh_from_db()
    assert request.status == "requested"


def test_decline_asks_for_an_optional_reason_then_declines(
    desk: DjangoClient, approving: Clinic
) -> None:
    request = _request(approving, at(12))
    panel = _page(desk.get(f"/dashboard/appointments/{request.pk}/decline/", **HTMX))
    assert "Decline the request" in panel and 'name="reason"' in panel
    request.refresh_from_db()
    assert request.status == "requested"  # GET changes nothing
    response = desk.post(
        f"/dashboard/appointments/{request.pk}/decline/", {"reason": "Solo niños"}, **HTMX
    )
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["closePanel"]
    request.refresh_from_db()
    assert (request.status, request.cancelled_by, request.cancellation_reason) == (
        "cancelled",
        "staff",
        "Solo niños",
    )
    with scope(tenant=approving.business):
        assert AppointmentEvent.objects.filter(
            appointment=request, kind=EventKind.DECLINED
        ).exists()


def test_a_declined_or_withdrawn_request_says_so_where_the_desk_reads_it(
    desk: DjangoClient, approving: Clinic
) -> None:
    """Both are stored as cancelled (they hold no time); the client's history and the
    appointment's page say how the request ended, not "Cancelled"."""
    declined = _request(approving, at(12), name="Nueva Clienta")
    desk.post(f"/dashboard/appointments/{declined.pk}/decline/", {}, **HTMX)
    withdrawn = _request(approving, at(13), name="Otra Clienta")
    with scope(tenant=approving.business):
        appointment_cancel(appointment=withdrawn, actor=Actor.client("link"), now=BOOKED_AT)
        cancelled = appointment_book(
            tenant=approving.business,
            location=approving.location,
            staff=approving.herrera,
            service=approving.cleaning,
            client=declined.client,
            start=at(15),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=BOOKED_AT,
        )
        appointment_cancel(appointment=cancelled, actor=Actor.system(), now=BOOKED_AT)

    def pill(page: str) -> str:
        return page.split('class="state-pill', 1)[1].split(">", 1)[1].split("<", 1)[0]

    history = _page(desk.get(f"/dashboard/clients/{declined.client_id}/"))
    assert "Declined" in history and "Cancelled" in history  # the request, then a booking
    assert pill(_page(desk.get(f"/dashboard/appointments/{declined.pk}/"))) == "Declined"
    assert pill(_page(desk.get(f"/dashboard/appointments/{withdrawn.pk}/"))) == (
        "Request withdrawn"
    )
    assert "Request withdrawn" in _page(desk.get(f"/dashboard/clients/{withdrawn.client_id}/"))
    assert pill(_page(desk.get(f"/dashboard/appointments/{cancelled.pk}/"))) == "Cancelled"


def test_declining_twice_is_a_clear_409(desk: DjangoClient, approving: Clinic) -> None:
    request = _request(approving, at(12))
    desk.post(f"/dashboard/appointments/{request.pk}/decline/", {}, **HTMX)
    response = desk.post(f"/dashboard/appointments/{request.pk}/decline/", {}, **HTMX)
    assert response.status_code == 409
    assert "already been answered" in _page(response)


def test_another_business_s_requests_are_never_listed(
    desk: DjangoClient, approving: Clinic
) -> None:
    other = BusinessFactory(approve_new_clients=True)
    with scope(tenant=other):
        location = LocationFactory(tenant=other)
        service = ServiceFactory(tenant=other, duration_minutes=30)
        staff = staff_offering(tenant=other, location=location, services=[service])
        theirs = appointment_book(
            tenant=other,
            location=location,
            staff=staff,
            service=service,
            client=ClientFactory(tenant=other, name="Their Secret Client"),
            start=at(12),
            source=Source.ONLINE,
            actor=Actor.client("online"),
            now=BOOKED_AT,
            as_request=True,
        )
    page = _page(desk.get("/dashboard/requests/"))
    assert "Their Secret Client" not in page
    assert desk.post(f"/dashboard/appointments/{theirs.pk}/accept/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "requested"
