"""Promise 1, no double booking ever: racing requests on real PostgreSQL.

Every test here starts real threads, each with its own database connection, releases them
together with a barrier and checks what the database holds afterwards. Nothing is faked
except, in one test, Puntual's own friendly pre-check, to prove the database's guard alone.
"""

from __future__ import annotations

import json
import random
import threading
import time as system_time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test import Client as HttpClient
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from appointments.errors import SchedulingError, SlotTaken
from appointments.models import (
    BLOCKING_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventKind,
    Service,
    Source,
    StaffMember,
)
from appointments.services import (
    Actor,
    appointment_book,
    appointment_book_any,
    appointment_cancel,
    appointment_correct,
    appointment_mark_no_show,
    appointment_reschedule,
)
from clients.models import Client
from tenants.models import Business, Location
from tenants.services import api_key_create
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    booking_rules,
    staff_offering,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MADRID = ZoneInfo("Europe/Madrid")
MONDAY = date(2026, 6, 1)
DAYS = (MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=2))
# A week before MONDAY: whatever the channel, the booking window is open on DAYS.
NOW = datetime(2026, 5, 25, 8, 0, tzinfo=UTC)
THREAD_TIMEOUT = 60.0  # seconds; a thread still alive after this is a hang, and a failure


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MADRID)


def _race(tenant: Business, work: Callable[[int], Any], *, threads: int) -> list[Any]:
    """Run `work(i)` in `threads` threads released together; each one's result or exception.

    Each thread opens its own connection before the barrier (so the race is on the
    statements, not on connecting), runs inside the tenant's scope (a contextvar: the main
    thread's scope does not reach it) and closes its connection at the end.
    """
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(i: int) -> None:
        try:
            with scope(tenant=tenant):
                connection.ensure_connection()
                barrier.wait(timeout=THREAD_TIMEOUT)
                results[i] = work(i)
        except BaseException as exc:  # every outcome is the test's to judge
            results[i] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in pool), "a racing thread hung"
    return results


class _HeldOpen:
    """`work()` done in a thread of its own, whose transaction stays open until released.

    Meanwhile its rows are written but uncommitted: invisible to everyone else's checks, and
    a lock, through the exclusion constraint, for anyone who writes an overlapping row.
    """

    def __init__(self, tenant: Business, work: Callable[[], Any], *, commit: bool) -> None:
        self.result: Any = None
        self.waiters_seen = False
        self._written, self._release = threading.Event(), threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(tenant, work, commit), daemon=True)
        ]
        self._threads[0].start()
        assert self._written.wait(THREAD_TIMEOUT)
        assert not isinstance(self.result, BaseException), self.result

    def _run(self, tenant: Business, work: Callable[[], Any], commit: bool) -> None:
        try:
            with scope(tenant=tenant), transaction.atomic():
                self.result = work()
                self._written.set()
                self._release.wait(THREAD_TIMEOUT)
                transaction.set_rollback(not commit)
        except BaseException as exc:  # reported by __init__ or the test
            self.result = exc
        finally:
            self._written.set()
            connection.close()

    def release_when_waited_on(self, waiters: int) -> None:
        """End the transaction as soon as `waiters` sessions wait on a lock (at most 15 s)."""

        def watch() -> None:
            try:
                deadline = system_time.monotonic() + 15
                with connection.cursor() as cursor:
                    while not self.waiters_seen and system_time.monotonic() < deadline:
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                        row = cursor.fetchone()
                        self.waiters_seen = row is not None and row[0] >= waiters
                        system_time.sleep(0.02)
            finally:
                self._release.set()
                connection.close()

        self._threads.append(threading.Thread(target=watch, daemon=True))
        self._threads[-1].start()

    def join(self) -> None:
        self._release.set()
        for thread in self._threads:
            thread.join(THREAD_TIMEOUT)
        assert not any(thread.is_alive() for thread in self._threads), "a helper thread hung"


def _outcomes(results: list[Any]) -> Counter[str]:
    """ "booked" / "SlotTaken" / the name of any other exception, counted."""
    return Counter(
        "booked" if isinstance(result, Appointment) else type(result).__name__ for result in results
    )


def _unexpected(results: list[Any]) -> list[BaseException]:
    return [
        result
        for result in results
        if isinstance(result, BaseException) and not isinstance(result, SlotTaken)
    ]


def _active(staff: StaffMember) -> list[Appointment]:
    with scopes_disabled():
        return list(Appointment.objects.filter(staff=staff, status__in=BLOCKING_STATUSES))


@pytest.fixture
def business(transactional_db: None) -> Business:
    return BusinessFactory(timezone="Europe/Madrid")


@pytest.fixture
def location(business: Business) -> Location:
    with scope(tenant=business):
        return LocationFactory(tenant=business, timezone="Europe/Madrid")


@pytest.fixture
def service(business: Business) -> Service:
    with scope(tenant=business):
        return ServiceFactory(
            tenant=business, duration_minutes=30, buffer_before_minutes=5, buffer_after_minutes=10
        )


@pytest.fixture
def staff(business: Business, location: Location, service: Service) -> StaffMember:
    with scope(tenant=business):
        return staff_offering(tenant=business, location=location, services=[service])


def _clients(business: Business, count: int) -> list[Client]:
    with scope(tenant=business):
        return [ClientFactory(tenant=business) for _ in range(count)]


def test_fifty_clients_racing_for_one_slot_get_one_booking_and_forty_nine_slot_taken(
    business: Business, location: Location, service: Service, staff: StaffMember
) -> None:
    clients = _clients(business, 50)
    start = _at(MONDAY, 10)

    def book(i: int) -> Appointment:
        return appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=clients[i],
            start=start,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )

    results = _race(business, book, threads=50)

    assert _unexpected(results) == []
    assert _outcomes(results) == {"booked": 1, "SlotTaken": 49}
    [winner] = [result for result in results if isinstance(result, Appointment)]
    assert [a.pk for a in _active(staff)] == [winner.pk]
    with scopes_disabled():
        # The 49 losers wrote nothing: no event, no half-made appointment in another status.
        assert Appointment.objects.filter(staff=staff).count() == 1
        assert list(AppointmentEvent.objects.values_list("appointment_id", "kind")) == [
            (winner.pk, EventKind.CREATED)
        ]


def test_twenty_racing_bookings_past_a_disabled_pre_check_still_leave_one_booking_and_slot_taken(
    business: Business,
    location: Location,
    service: Service,
    staff: StaffMember,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Puntual's own Python-level slot check is switched off here, and only here, so that
    # every thread reaches the INSERT: what stops the double booking is then the PostgreSQL
    # exclusion constraint alone, and the service must still answer SlotTaken (the translated
    # IntegrityError), never a database error that an API client would see as a 500.
    monkeypatch.setattr("appointments.services.booking._check_slot", lambda **kwargs: None)
    clients = _clients(business, 20)
    # Twenty different starts, every one overlapping every other through the buffers.
    starts = [_at(MONDAY, 10) + timedelta(minutes=i) for i in range(20)]

    def book(i: int) -> Appointment:
        return appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=clients[i],
            start=starts[i],
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )

    results = _race(business, book, threads=20)

    assert _unexpected(results) == []
    assert _outcomes(results) == {"booked": 1, "SlotTaken": 19}
    for result in results:
        if isinstance(result, SlotTaken):
            # Proof that the constraint, not a check, refused it.
            assert "appointment_no_overlap" in str(result.__cause__)
    assert len(_active(staff)) == 1


def test_bookings_queued_behind_one_that_rolls_back_get_one_booking_and_slot_taken(
    business: Business, location: Location, service: Service, staff: StaffMember
) -> None:
    """The race no pre-check can see: a booking that wrote its row, then failed.

    While its row is uncommitted the others' checks pass and their INSERTs queue behind it on
    the exclusion constraint; when it rolls back they are left racing each other inside
    PostgreSQL's check. One must get the slot and the rest SlotTaken, not a database error
    (which the API would answer with a 500).
    """
    racers = 5
    clients = _clients(business, racers + 1)
    start = _at(MONDAY, 10)

    def book(i: int) -> Appointment:
        return appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=clients[i],
            start=start,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )

    # Whatever fails after the INSERT in the same transaction (a hook, the API's response).
    doomed = _HeldOpen(business, lambda: book(racers), commit=False)
    doomed.release_when_waited_on(racers)
    results = _race(business, book, threads=racers)
    doomed.join()

    assert doomed.waiters_seen, "the racers never queued behind the doomed booking"
    assert _unexpected(results) == []
    assert _outcomes(results) == {"booked": 1, "SlotTaken": racers - 1}
    [winner] = [result for result in results if isinstance(result, Appointment)]
    assert [a.pk for a in _active(staff)] == [winner.pk]


def test_a_no_show_corrected_to_attended_after_its_time_was_booked_again_gets_slot_taken(
    business: Business, location: Location, service: Service, staff: StaffMember
) -> None:
    first, second = _clients(business, 2)
    start = _at(MONDAY, 10)

    def book(client: Client) -> Appointment:
        return appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=start,
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )

    with scope(tenant=business):
        no_show = appointment_mark_no_show(
            appointment=book(first), actor=Actor.system(), now=start + timedelta(minutes=20)
        )
    # The freed time is booked again; that booking is still uncommitted when the front desk
    # corrects the no-show (the client came after all), so the correction's check misses it.
    rebooked = _HeldOpen(business, lambda: book(second), commit=True)
    rebooked.release_when_waited_on(1)
    results = _race(
        business,
        lambda i: appointment_correct(
            appointment=no_show,
            to_status=AppointmentStatus.ATTENDED,
            actor=Actor.system(),
            reason="She was in the waiting room.",
        ),
        threads=1,
    )
    rebooked.join()

    assert rebooked.waiters_seen, "the correction never waited for the new booking"
    assert [type(result) for result in results] == [SlotTaken], results
    with scopes_disabled():
        assert Appointment.objects.get(pk=no_show.pk).status == AppointmentStatus.NO_SHOW
    assert [a.pk for a in _active(staff)] == [rebooked.result.pk]


def test_random_overlapping_bookings_from_sixteen_threads_never_overlap(
    business: Business, location: Location
) -> None:
    with scope(tenant=business):
        services: list[Service] = [
            ServiceFactory(
                tenant=business,
                duration_minutes=30,
                buffer_before_minutes=5,
                buffer_after_minutes=10,
            ),
            ServiceFactory(
                tenant=business,
                duration_minutes=45,
                buffer_before_minutes=0,
                buffer_after_minutes=15,
            ),
            ServiceFactory(
                tenant=business,
                duration_minutes=20,
                buffer_before_minutes=10,
                buffer_after_minutes=0,
            ),
        ]
        team = [
            staff_offering(tenant=business, location=location, services=services) for _ in range(3)
        ]
    clients = _clients(business, 16)
    # Starts inside the working hours (09-14, 15-19) every 5 minutes: most refusals are then
    # "slot taken" rather than "outside hours", and neighbours overlap through the buffers.
    minutes = [m for m in range(9 * 60, 18 * 60 + 30, 5) if not 13 * 60 + 15 < m < 15 * 60]
    deadline = system_time.monotonic() + 5.0
    attempts_per_thread = 60
    actor = Actor.system()

    def random_start(rng: random.Random) -> datetime:
        minute = rng.choice(minutes)
        return _at(rng.choice(DAYS), minute // 60, minute % 60)

    def churn(i: int) -> Counter[str]:
        rng = random.Random(1000 + i)  # reproducible load, not security
        mine: list[Appointment] = []
        done: Counter[str] = Counter()
        for _ in range(attempts_per_thread):
            if system_time.monotonic() > deadline:
                break
            roll = rng.random()
            action = (
                "book"
                if roll < 0.4 or not mine
                else "book_any"
                if roll < 0.6
                else "reschedule"
                if roll < 0.85
                else "cancel"
            )
            try:
                if action == "book":
                    mine.append(
                        appointment_book(
                            tenant=business,
                            location=location,
                            staff=rng.choice(team),
                            service=rng.choice(services),
                            client=clients[i],
                            start=random_start(rng),
                            source=Source.DASHBOARD,
                            actor=actor,
                            now=NOW,
                        )
                    )
                elif action == "book_any":
                    mine.append(
                        appointment_book_any(
                            tenant=business,
                            location=location,
                            service=rng.choice(services),
                            client=clients[i],
                            start=random_start(rng),
                            source=Source.DASHBOARD,
                            actor=actor,
                            staff=None,
                            now=NOW,
                        )
                    )
                elif action == "reschedule":
                    index = rng.randrange(len(mine))
                    mine[index] = appointment_reschedule(
                        appointment=mine[index],
                        start=random_start(rng),
                        actor=actor,
                        staff=rng.choice([None, *team]),
                        now=NOW,
                    )
                else:
                    appointment_cancel(appointment=mine.pop(rng.randrange(len(mine))), actor=actor)
            except SchedulingError as exc:
                done[f"{action}:{type(exc).__name__}"] += 1
            else:
                done[f"{action}:ok"] += 1
        return done

    results = _race(business, churn, threads=16)

    errors = [result for result in results if isinstance(result, BaseException)]
    assert errors == [], errors  # only SchedulingErrors are acceptable, and they were caught
    totals: Counter[str] = sum(results, Counter())
    booked = totals["book:ok"] + totals["book_any:ok"]
    taken = sum(count for key, count in totals.items() if key.endswith(":SlotTaken"))
    assert booked > 10, totals
    assert taken > 10, totals
    assert totals["reschedule:ok"] > 0, totals
    assert totals["cancel:ok"] > 0, totals
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*)
            FROM appointments_appointment a
            JOIN appointments_appointment b
              ON a.tenant_id = b.tenant_id
             AND a.staff_id = b.staff_id
             AND a.id < b.id
             AND tstzrange(a.blocked_start, a.blocked_end, '[)')
              && tstzrange(b.blocked_start, b.blocked_end, '[)')
            WHERE a.status = ANY(%(active)s) AND b.status = ANY(%(active)s)
            """,
            {"active": [str(status) for status in BLOCKING_STATUSES]},
        )
        assert cursor.fetchone() == (0,)
        # And the blocked ranges compared are the real ones: the appointment plus its buffers.
        cursor.execute(
            """
            SELECT count(*)
            FROM appointments_appointment a
            JOIN appointments_service s ON s.id = a.service_id
            WHERE a.blocked_start <> a.start - make_interval(mins => s.buffer_before_minutes)
               OR a.blocked_end <> a.end + make_interval(mins => s.buffer_after_minutes)
               OR a.end <> a.start + make_interval(mins => s.duration_minutes)
            """
        )
        assert cursor.fetchone() == (0,)
    with scopes_disabled():
        assert Appointment.objects.filter(status__in=BLOCKING_STATUSES).count() > 10


def test_ten_reschedules_into_one_free_slot_move_one_appointment_and_leave_the_others_untouched(
    business: Business, location: Location, service: Service, staff: StaffMember
) -> None:
    clients = _clients(business, 10)
    with scope(tenant=business):
        other = staff_offering(tenant=business, location=location, services=[service])
        # Ten appointments with two staff members on Monday; all want Tuesday 10:00 with `staff`.
        booked = [
            appointment_book(
                tenant=business,
                location=location,
                staff=staff if i % 2 else other,
                service=service,
                client=clients[i],
                start=_at(MONDAY, 9 + i // 2, 0 if i % 2 else 15),
                source=Source.DASHBOARD,
                actor=Actor.system(),
                now=NOW,
            )
            for i in range(10)
        ]
    target = _at(MONDAY + timedelta(days=1), 10)

    def move(i: int) -> Appointment:
        return appointment_reschedule(
            appointment=booked[i], start=target, staff=staff, actor=Actor.system(), now=NOW
        )

    results = _race(business, move, threads=10)

    assert _unexpected(results) == []
    assert _outcomes(results) == {"booked": 1, "SlotTaken": 9}
    [moved] = [result for result in results if isinstance(result, Appointment)]
    with scopes_disabled():
        for before in booked:
            after = Appointment.objects.get(pk=before.pk)
            if after.pk == moved.pk:
                assert (after.start, after.staff_id, after.version) == (target, staff.pk, 2)
            else:
                assert (after.start, after.staff_id, after.version) == (
                    before.start,
                    before.staff_id,
                    1,
                )
        assert list(
            AppointmentEvent.objects.filter(kind=EventKind.RESCHEDULED).values_list(
                "appointment_id", flat=True
            )
        ) == [moved.pk]


def test_twelve_clients_booking_anyone_at_one_time_fill_each_free_staff_member_once(
    business: Business, location: Location, service: Service
) -> None:
    with scope(tenant=business):
        team = [
            staff_offering(tenant=business, location=location, services=[service]) for _ in range(3)
        ]
    clients = _clients(business, 12)
    start = _at(MONDAY, 11)

    def book_anyone(i: int) -> Appointment:
        return appointment_book_any(
            tenant=business,
            location=location,
            service=service,
            client=clients[i],
            start=start,
            source=Source.ONLINE,  # a client booking online: an offered slot, in the window
            actor=Actor.client(Source.ONLINE),
            staff=None,
            now=NOW,
        )

    results = _race(business, book_anyone, threads=12)

    assert _unexpected(results) == []
    assert _outcomes(results) == {"booked": 3, "SlotTaken": 9}
    winners = [result for result in results if isinstance(result, Appointment)]
    assert sorted(a.staff_id for a in winners) == sorted(s.pk for s in team)
    for member in team:
        assert len(_active(member)) == 1


@pytest.fixture
def api_start(business: Business) -> datetime:
    """10:00 in the location's zone on a weekday of the coming week, bookable through the API."""
    with scope(tenant=business):
        booking_rules(tenant=business, min_notice_minutes=0)
    day = timezone.now().astimezone(MADRID).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return _at(day, 10)


def test_two_identical_requests_with_one_idempotency_key_book_once(
    business: Business,
    location: Location,
    service: Service,
    staff: StaffMember,
    api_start: datetime,
) -> None:
    with scope(tenant=business):
        _, raw_key = api_key_create(tenant=business, name="integration")
    body = {
        "service": service.pk,
        "location": location.pk,
        "staff": staff.pk,
        "start": api_start.isoformat(),
        "new_client": {"name": "Ana Ruiz", "phone": "+34 600 000 001"},
    }

    def post(payload: dict[str, Any]) -> Any:
        return HttpClient().post(
            "/api/v1/appointments/",
            data=json.dumps(payload),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw_key}",
            HTTP_IDEMPOTENCY_KEY="k1",
        )

    responses = _race(business, lambda i: post(body), threads=8)

    assert [r for r in responses if isinstance(r, BaseException)] == []
    assert [r.status_code for r in responses] == [201] * 8, [r.content for r in responses]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1
    assert (
        sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == [""] + ["true"] * 7
    )
    with scopes_disabled():
        assert list(Appointment.objects.values_list("pk", flat=True)) == list(ids)
        assert Client.objects.filter(tenant=business).count() == 1  # the new client, once

    changed = {**body, "start": (api_start + timedelta(hours=1)).isoformat()}
    reused = post(changed)

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    with scopes_disabled():
        assert Appointment.objects.count() == 1
        assert Appointment.objects.get().start == api_start
        assert AppointmentStatus.SCHEDULED == Appointment.objects.get().status
