"""The receptionist's dashboard: the day and week boards, the front desk's list, and the
actions on an appointment, with and without htmx. Browser journeys are in tests/browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appointments.models import (
    Appointment,
    AppointmentStatus,
    CancelledBy,
    Service,
    Source,
    StaffMember,
)
from appointments.services import (
    Actor,
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_confirm,
    appointment_mark_no_show,
)
from clients.models import Client
from policies.selectors import appointment_fee_outstanding
from policies.services import policy_terms_snapshot
from tenants.models import Business, Location, Role
from tests.conftest import login_member
from tests.factories import (
    ClientFactory,
    LocationFactory,
    MembershipFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
    staff_offering,
)

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
TODAY = date(2026, 6, 1)  # a Monday
NOW = datetime(2026, 6, 1, 10, 30, tzinfo=MADRID).astimezone(UTC)
BOOKED_AT = NOW - timedelta(days=3)
HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}


def at(hour: int, minute: int = 0, day: date = TODAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MADRID).astimezone(UTC)


@dataclass
class Clinic:
    business: Business
    location: Location
    cleaning: Service
    filling: Service
    herrera: StaffMember
    ruiz: StaffMember
    ana: Client
    luis: Client

    def book(
        self,
        start: datetime,
        *,
        staff: StaffMember | None = None,
        client: Client | None = None,
        service: Service | None = None,
    ) -> Appointment:
        with scope(tenant=self.business):
            return appointment_book(
                tenant=self.business,
                location=self.location,
                staff=staff or self.herrera,
                service=service or self.cleaning,
                client=client or self.ana,
                start=start,
                source=Source.DASHBOARD,
                actor=Actor.system(),
                now=BOOKED_AT,
            )


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic(business: Business) -> Clinic:
    with scope(tenant=business):
        location = LocationFactory(tenant=business, name="Sonrisa Centro")
        cleaning = ServiceFactory(
            tenant=business, name="Limpieza", duration_minutes=45, price=Decimal("60.00")
        )
        filling = ServiceFactory(
            tenant=business, name="Empaste", duration_minutes=30, price=Decimal("90.00")
        )
        herrera = staff_offering(
            tenant=business,
            location=location,
            services=[cleaning, filling],
            display_name="Dra. Lucía Herrera",
        )
        ruiz = staff_offering(
            tenant=business, location=location, services=[filling], display_name="Dr. Martín Ruiz"
        )
        ana = ClientFactory(tenant=business, name="Ana García")
        luis = ClientFactory(tenant=business, name="Luis Pérez")
    return Clinic(business, location, cleaning, filling, herrera, ruiz, ana, luis)


@pytest.fixture
def desk(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.RECEPTIONIST)


def _page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


# --- The day view ---------------------------------------------------------------------------


def test_the_day_view_shows_each_staff_member_s_appointments_as_blocks_by_status(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    waiting = clinic.book(at(11), client=clinic.ana)
    confirmed = clinic.book(at(12), staff=clinic.ruiz, client=clinic.luis, service=clinic.filling)
    with scope(tenant=clinic.business):
        appointment_confirm(appointment=confirmed, actor=Actor.system(), now=BOOKED_AT)
        appointment_check_in(appointment=waiting, actor=Actor.system(), now=NOW)

    page = _page(desk.get("/dashboard/"))

    assert "<h1>Today" in page
    assert "Dra. Lucía Herrera" in page and "Dr. Martín Ruiz" in page
    assert f'id="appt-{waiting.pk}" class="appt st-waiting"' in page
    assert f'id="appt-{confirmed.pk}" class="appt st-confirmed"' in page
    assert "Waiting · 0 min" in page
    # The current time is marked on today's board, at 10:30.
    assert 'class="now-label"' in page and "10:30" in page
    # Only what the workflow allows is offered: a confirmed appointment is not confirmed again.
    assert f"/dashboard/appointments/{confirmed.pk}/confirm/" not in page
    assert f"/dashboard/appointments/{waiting.pk}/confirm/" in page
    assert f"/dashboard/appointments/{waiting.pk}/check-in/" not in page  # already here


def test_the_day_view_counts_the_day(desk: DjangoClient, clinic: Clinic, frozen: None) -> None:
    first = clinic.book(at(9))
    second = clinic.book(at(10), client=clinic.luis)
    clinic.book(at(11, 30))
    cancelled = clinic.book(at(15))
    with scope(tenant=clinic.business):
        appointment_confirm(appointment=second, actor=Actor.system(), now=BOOKED_AT)
        appointment_mark_no_show(appointment=first, actor=Actor.system(), now=NOW)
        appointment_check_in(appointment=second, actor=Actor.system(), now=NOW)
        appointment_cancel(appointment=cancelled, actor=Actor.system(), now=NOW)

    response = desk.get("/dashboard/")
    numbers = response.context["board"].numbers
    assert (numbers.booked, numbers.confirmed, numbers.unconfirmed) == (3, 1, 1)
    assert (numbers.arrived, numbers.waiting, numbers.no_shows, numbers.cancelled) == (1, 1, 1, 1)
    assert numbers.confirmed_percent == 33


def test_the_day_view_filters_by_staff_service_and_location(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    clinic.book(at(11), client=clinic.ana)
    clinic.book(at(12), staff=clinic.ruiz, client=clinic.luis, service=clinic.filling)
    with scope(tenant=clinic.business):
        elsewhere = LocationFactory(tenant=clinic.business, name="Sonrisa Norte")

    by_staff = _page(desk.get("/dashboard/", {"staff": clinic.ruiz.pk}))
    assert "Luis Pérez" in by_staff and "Ana García" not in by_staff
    # Only Herrera performs the cleaning.
    by_service = _page(desk.get("/dashboard/", {"service": clinic.cleaning.pk}))
    assert "Ana García" in by_service and f'id="staff-{clinic.ruiz.pk}"' not in by_service
    by_location = _page(desk.get("/dashboard/", {"location": elsewhere.pk}))
    assert "No staff member matches these filters." in by_location


def test_another_day_has_no_current_time_and_a_bad_date_shows_today(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    clinic.book(at(11, day=TODAY + timedelta(days=1)), client=clinic.luis)
    tomorrow = _page(desk.get("/dashboard/", {"date": "2026-06-02"}))
    assert "Luis Pérez" in tomorrow and 'class="now-label"' not in tomorrow
    assert "<h1>Tuesday" in tomorrow
    for junk in ("yesterday", "2026-13-45", "0001-01-01", "9" * 40):
        response = desk.get("/dashboard/", {"date": junk, "staff": junk, "location": junk})
        assert response.status_code == 200
        assert "<h1>Today" in _page(response)


def test_the_board_alone_answers_htmx_refreshes(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    clinic.book(at(11))
    board = desk.get("/dashboard/", HTTP_HX_TARGET="board", **HTMX)
    assert board.templates[0].name == "dashboard/_day_board.html"
    numbers = desk.get("/dashboard/", HTTP_HX_TARGET="numbers", **HTMX)
    assert numbers.templates[0].name == "dashboard/_day_numbers.html"
    assert "<html" not in _page(board) and "<html" not in _page(numbers)


def test_a_provider_sees_only_their_own_column_and_changes_nothing(
    client: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    user = UserFactory()
    MembershipFactory(tenant=clinic.business, user=user, role=Role.PROVIDER)
    with scope(tenant=clinic.business):
        StaffMember.objects.filter(pk=clinic.ruiz.pk).update(user=user)
    mine = clinic.book(at(12), staff=clinic.ruiz, client=clinic.luis, service=clinic.filling)
    theirs = clinic.book(at(11))
    client.force_login(user)
    page = _page(client.get("/dashboard/"))
    assert "Luis Pérez" in page and "Ana García" not in page
    assert "/confirm/" not in page  # no actions for a provider
    assert client.get(f"/dashboard/appointments/{mine.pk}/").status_code == 200
    assert client.get(f"/dashboard/appointments/{theirs.pk}/").status_code == 404
    assert client.post(f"/dashboard/appointments/{mine.pk}/confirm/").status_code == 403
    assert _page(client.get("/dashboard/week/")).count("Luis Pérez") == 1


def _fill_day(clinic: Clinic, *, staff_count: int, per_staff: int) -> None:
    """`staff_count` staff members with `per_staff` appointments each today, in every status."""
    business = clinic.business
    statuses = [
        AppointmentStatus.SCHEDULED,
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.ATTENDED,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.CANCELLED,
    ]
    with scope(tenant=business):
        clients = Client.objects.bulk_create(
            Client(tenant=business, name=f"Cliente {i}", phone=f"+3460000{i:04d}")
            for i in range(50)
        )
        rows = []
        for s in range(staff_count):
            member = staff_offering(
                tenant=business,
                location=clinic.location,
                services=[clinic.cleaning],
                display_name=f"Staff {s:03d}",
            )
            for i in range(per_staff):
                start = at(9) + timedelta(minutes=25 * i)
                status = statuses[i % len(statuses)]
                rows.append(
                    Appointment(
                        tenant=business,
                        location=clinic.location,
                        staff=member,
                        service=clinic.cleaning,
                        client=clients[(s + i) % len(clients)],
                        start=start,
                        end=start + timedelta(minutes=15),
                        blocked_start=start,
                        blocked_end=start + timedelta(minutes=15),
                        status=status,
                        source=Source.DASHBOARD,
                        price=Decimal("60.00"),
                        arrived_at=start if i % 7 == 1 else None,
                        started_at=start if i % 14 == 1 else None,
                    )
                )
        Appointment.objects.bulk_create(rows)


def _day_view_queries(client: DjangoClient) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/dashboard/")
    assert response.status_code == 200
    return len(captured.captured_queries), _page(response)


def test_the_day_view_runs_the_same_queries_for_5_or_50_staff_members(
    client: DjangoClient, business: Business, frozen: None
) -> None:
    """50 staff members and 1,000 appointments that day cost what 5 and 100 do."""
    small = _clinic_in(business)
    _fill_day(small, staff_count=5, per_staff=20)
    login_member(client, business, Role.RECEPTIONIST)
    queries_small, page_small = _day_view_queries(client)

    other = Business.objects.create(name="Grande", slug="grande", timezone="Europe/Madrid")
    large = _clinic_in(other)
    _fill_day(large, staff_count=50, per_staff=20)
    client.logout()
    login_member(client, other, Role.RECEPTIONIST)
    queries_large, page_large = _day_view_queries(client)

    assert page_small.count('class="slot"') == 100
    assert page_large.count('class="slot"') == 1000
    assert queries_small == queries_large
    assert queries_large <= 12


def _clinic_in(business: Business) -> Clinic:
    with scope(tenant=business):
        location = LocationFactory(tenant=business)
        cleaning = ServiceFactory(tenant=business, name="Limpieza", duration_minutes=15)
        herrera = staff_offering(
            tenant=business, location=location, services=[cleaning], display_name="Herrera"
        )
        ana = ClientFactory(tenant=business)
    return Clinic(business, location, cleaning, cleaning, herrera, herrera, ana, ana)


# --- The week and the front desk --------------------------------------------------------------


def test_the_week_view_shows_a_staff_member_s_seven_days(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    clinic.book(at(11, day=TODAY + timedelta(days=2)), client=clinic.luis)
    clinic.book(at(11, day=TODAY + timedelta(days=8)), client=clinic.ana)
    page = _page(desk.get("/dashboard/week/", {"staff": clinic.herrera.pk}))
    assert "Luis Pérez" in page and "Ana García" not in page
    assert page.count('class="col"') == 7
    assert "Wed 3 Jun" in page
    next_week = _page(
        desk.get("/dashboard/week/", {"staff": str(clinic.herrera.pk), "date": "2026-06-08"})
    )
    assert "Ana García" in next_week


def test_the_front_desk_lists_who_waits_in_arrival_order_and_for_how_long(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    early = clinic.book(at(11), client=clinic.ana)
    later = clinic.book(at(11, 15), staff=clinic.ruiz, client=clinic.luis, service=clinic.filling)
    expected = clinic.book(at(9, 15), staff=clinic.ruiz, service=clinic.filling)
    with scope(tenant=clinic.business):
        # Luis arrived first though he is booked later.
        appointment_check_in(
            appointment=later, actor=Actor.system(), now=NOW - timedelta(minutes=20)
        )
        appointment_check_in(
            appointment=early, actor=Actor.system(), now=NOW - timedelta(minutes=5)
        )
    response = desk.get("/dashboard/front-desk/")
    desk_day = response.context["desk"]
    assert [row.appointment.pk for row in desk_day.waiting] == [later.pk, early.pk]
    assert [row.waiting_minutes for row in desk_day.waiting] == [20, 5]
    assert [row.appointment.pk for row in desk_day.expected] == [expected.pk]
    assert desk_day.expected[0].late_minutes == 75  # booked for 09:15, not here at 10:30
    page = _page(response)
    assert "20 min" in page and "75 min late" in page


# --- One-click actions ------------------------------------------------------------------------


def test_confirming_without_javascript_returns_to_the_page_with_a_message(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(11))
    response = desk.post(
        f"/dashboard/appointments/{appointment.pk}/confirm/",
        {"next": "/dashboard/?date=2026-06-01"},
        follow=True,
    )
    assert response.redirect_chain == [("/dashboard/?date=2026-06-01", 302)]
    assert "Ana García&#x27;s appointment is confirmed." in _page(response)
    with scope(tenant=clinic.business):
        appointment.refresh_from_db()
        event = appointment.events.order_by("pk").last()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert event is not None and event.actor_label.endswith("@example.com")
    assert event.channel == "dashboard"


def test_an_outside_next_is_ignored(desk: DjangoClient, clinic: Clinic, frozen: None) -> None:
    appointment = clinic.book(at(11))
    response = desk.post(
        f"/dashboard/appointments/{appointment.pk}/confirm/", {"next": "https://evil.test/"}
    )
    assert response["Location"] == f"/dashboard/appointments/{appointment.pk}/"


def test_check_in_start_and_attended_record_the_visit(desk: DjangoClient, clinic: Clinic) -> None:
    appointment = clinic.book(at(11))
    url = f"/dashboard/appointments/{appointment.pk}/"
    with time_machine.travel(at(10, 55), tick=False):
        desk.post(url + "check-in/")
    with time_machine.travel(at(11, 2), tick=False):
        desk.post(url + "start/")
    with time_machine.travel(at(11, 40), tick=False):
        desk.post(url + "attend/")
    with scope(tenant=clinic.business):
        appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.ATTENDED
    assert (appointment.arrived_at, appointment.started_at, appointment.finished_at) == (
        at(10, 55),
        at(11, 2),
        at(11, 40),
    )


def test_a_refused_change_is_a_message_never_an_error(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(11))  # not started yet: no no-show
    response = desk.post(f"/dashboard/appointments/{appointment.pk}/no-show/", follow=True)
    assert response.status_code == 200
    assert "can&#x27;t be marked attended or no-show before it starts" in _page(response)
    response = desk.post(f"/dashboard/appointments/{appointment.pk}/no-show/", **HTMX)
    assert response.status_code == 204
    event = json.loads(response["HX-Trigger"])
    assert event["showMessage"]["level"] == "error"
    with scope(tenant=clinic.business):
        appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED


def test_an_action_from_a_block_answers_the_block_and_asks_for_fresh_numbers(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(11))
    response = desk.post(
        f"/dashboard/appointments/{appointment.pk}/confirm/", {"view": "block"}, **HTMX
    )
    assert response.status_code == 200
    page = _page(response)
    assert page.startswith(f'<article id="appt-{appointment.pk}" class="appt st-confirmed">')
    events = json.loads(response["HX-Trigger"])
    assert events["numbersChanged"] is True
    assert events["showMessage"] == {
        "text": "Ana García's appointment is confirmed.",
        "level": "ok",
    }
    # The header is Latin-1 safe whatever the language: the JSON is ASCII-escaped.
    response["HX-Trigger"].encode("ascii")


def test_an_action_from_the_list_or_the_detail_asks_them_to_refresh(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(11))
    response = desk.post(
        f"/dashboard/appointments/{appointment.pk}/check-in/", {"view": "desk"}, **HTMX
    )
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["agendaChanged"] is True


def test_a_no_show_says_the_fee_the_client_s_terms_set(desk: DjangoClient, clinic: Clinic) -> None:
    with scope(tenant=clinic.business):
        PolicyFactory(
            tenant=clinic.business, no_show_consequence="fixed_fee", no_show_fee_amount=20
        )
    appointment = clinic.book(at(9))
    with scope(tenant=clinic.business):
        policy_terms_snapshot(appointment, now=BOOKED_AT)
    with time_machine.travel(at(9, 20), tick=False):
        response = desk.post(f"/dashboard/appointments/{appointment.pk}/no-show/", follow=True)
    assert "Ana García is marked as a no-show. Under the client&#x27;s terms: Fee €20.00." in (
        _page(response)
    )


def test_changes_need_a_post_with_a_csrf_token(clinic: Clinic, frozen: None) -> None:
    appointment = clinic.book(at(11))
    strict = DjangoClient(enforce_csrf_checks=True)
    login_member(strict, clinic.business, Role.RECEPTIONIST)
    url = f"/dashboard/appointments/{appointment.pk}/confirm/"
    assert strict.post(url).status_code == 403
    assert strict.get(url).status_code == 405
    with scope(tenant=clinic.business):
        assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.SCHEDULED


# --- Cancel -----------------------------------------------------------------------------------


@pytest.fixture
def late_fee(clinic: Clinic) -> None:
    with scope(tenant=clinic.business):
        PolicyFactory(
            tenant=clinic.business,
            cancellation_window_hours=48,
            late_cancellation_consequence="fixed_fee",
            late_cancellation_fee_amount=15,
            no_show_consequence="fixed_fee",
            no_show_fee_amount=25,
        )


def test_the_cancel_form_says_what_the_client_s_terms_mean_for_each_choice(
    desk: DjangoClient, clinic: Clinic, late_fee: None, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    with scope(tenant=clinic.business):
        policy_terms_snapshot(appointment, now=BOOKED_AT)
    page = _page(desk.get(f"/dashboard/appointments/{appointment.pk}/cancel/"))
    assert "Late: inside the cancellation window." in page
    assert "Fee €15.00." in page
    assert "Cancelling now costs a €15.00 late-cancellation fee." in page  # the client's words
    assert "Nothing to pay." in page  # when the business cancels
    assert "Waive the late-cancellation fee" not in page  # receptionists do not waive


def test_cancelling_needs_a_reason_and_records_who_asked(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    url = f"/dashboard/appointments/{appointment.pk}/cancel/"
    response = desk.post(url, {"by": "client", "reason": "  "})
    assert response.status_code == 400
    assert "Write why the appointment is cancelled." in _page(response)
    response = desk.post(url, {"by": "nobody", "reason": "x"})
    assert response.status_code == 400
    with scope(tenant=clinic.business):
        assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.SCHEDULED

    response = desk.post(
        url, {"by": "business", "reason": "Dr. Herrera is ill", "next": "/dashboard/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    with scope(tenant=clinic.business):
        appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancelled_by == CancelledBy.STAFF
    assert appointment.cancellation_reason == "Dr. Herrera is ill"

    again = desk.post(url, {"by": "client", "reason": "Twice"})
    assert again.status_code == 409
    assert "This change is not possible" in _page(again)


def test_a_cancellation_in_the_panel_closes_it_and_refreshes_the_agenda(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    url = f"/dashboard/appointments/{appointment.pk}/cancel/"
    form = desk.get(url, **HTMX)
    assert form.templates[0].name == "dashboard/_cancel.html"
    response = desk.post(url, {"by": "client", "reason": "Called: the flu"}, **HTMX)
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert events["closePanel"] and events["agendaChanged"]
    with scope(tenant=clinic.business):
        appointment.refresh_from_db()
    assert appointment.cancelled_by == CancelledBy.CLIENT


def test_only_owners_and_admins_waive_a_fee_and_only_with_a_reason(
    client: DjangoClient, clinic: Clinic, late_fee: None
) -> None:
    appointment = clinic.book(at(9))
    with scope(tenant=clinic.business):
        # Marking the no-show charges the fee of the terms stored at booking.
        appointment_mark_no_show(appointment=appointment, actor=Actor.system(), now=at(9, 20))
    url = f"/dashboard/appointments/{appointment.pk}/waive-fee/"
    with time_machine.travel(NOW, tick=False):
        login_member(client, clinic.business, Role.RECEPTIONIST)
        assert client.post(url, {"reason": "Emergency"}).status_code == 403
        detail = _page(client.get(f"/dashboard/appointments/{appointment.pk}/"))
        assert "€25.00" in detail and "Waive the fee" not in detail

        login_member(client, clinic.business, Role.ADMIN)
        assert "Waive the fee" in _page(client.get(f"/dashboard/appointments/{appointment.pk}/"))
        no_reason = client.post(url, {"reason": " "}, follow=True)
        assert "An exception needs a written reason." in _page(no_reason)
        with scope(tenant=clinic.business):
            assert appointment_fee_outstanding(appointment=appointment) == Decimal("25.00")
        client.post(url, {"reason": "A real emergency: hospital note"})
    with scope(tenant=clinic.business):
        assert appointment_fee_outstanding(appointment=appointment) == 0


# --- Move -------------------------------------------------------------------------------------


def test_the_move_page_offers_free_times_with_the_appointment_s_own(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(16))
    page = _page(desk.get(f"/dashboard/appointments/{appointment.pk}/move/"))
    own = f'value="{at(16).isoformat()}|{clinic.herrera.pk}" class="is-current"'
    assert own in page
    assert f'value="{at(16, 15).isoformat()}|{clinic.herrera.pk}"' in page  # overlaps its own
    assert f'value="{at(11).isoformat()}|' not in page  # inside the minimum notice


def test_moving_to_an_offered_time_reschedules_the_appointment(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    response = desk.post(
        f"/dashboard/appointments/{appointment.pk}/move/",
        {"slot": f"{at(16).isoformat()}|{clinic.herrera.pk}", "reason": "Client asked"},
        follow=True,
    )
    assert "Ana García&#x27;s appointment is moved to 01/06 at 16:00." in _page(response)
    with scope(tenant=clinic.business):
        appointment.refresh_from_db()
    assert (appointment.start, appointment.version) == (at(16), 2)


def test_a_time_taken_meanwhile_is_a_clear_message_with_fresh_times(
    desk: DjangoClient, clinic: Clinic, frozen: None
) -> None:
    appointment = clinic.book(at(12))
    clinic.book(at(16), client=clinic.luis)  # someone else took 16:00 meanwhile
    response = desk.post(
        f"/dashboard/appointments/{appointment.pk}/move/",
        {"slot": f"{at(16).isoformat()}|{clinic.herrera.pk}", "date": "2026-06-01"},
    )
    assert response.status_code == 409
    page = _page(response)
    assert "That time is no longer available." in page
    assert f'value="{at(16).isoformat()}|' not in page
    assert f'value="{at(17).isoformat()}|{clinic.herrera.pk}"' in page


@pytest.mark.parametrize(
    "slot", ["", "tomorrow", "2026-06-01T16:00:00|1", "2026-06-01T16:00:00+00:00|999999", "|"]
)
def test_a_bad_slot_is_a_message_not_an_error(
    desk: DjangoClient, clinic: Clinic, frozen: None, slot: str
) -> None:
    appointment = clinic.book(at(12))
    response = desk.post(f"/dashboard/appointments/{appointment.pk}/move/", {"slot": slot})
    assert response.status_code == 400
    assert "Choose one of the offered times." in _page(response)


def test_names_on_the_board_are_escaped(desk: DjangoClient, clinic: Clinic, frozen: None) -> None:
    with scope(tenant=clinic.business):
        Client.objects.filter(pk=clinic.ana.pk).update(name='<script>alert("x")</script>')
        Service.objects.filter(pk=clinic.cleaning.pk).update(name="Limpieza & <b>pulido</b>")
    appointment = clinic.book(at(11))
    page = _page(desk.get("/dashboard/"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "Limpieza &amp; &lt;b&gt;pulido&lt;/b&gt;" in page
    block = _page(
        desk.post(f"/dashboard/appointments/{appointment.pk}/confirm/", {"view": "block"}, **HTMX)
    )
    assert "<script>alert" not in block
