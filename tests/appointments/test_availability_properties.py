"""Properties of the availability engine, over random hours, appointments, rules and zones.

The pure function is checked against a brute-force search that shares none of its code: every
wall-clock start on each day's grid, every UTC instant showing it, every constraint checked
minute by minute. Then, on the database, booking any offered slot succeeds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointments.availability import (
    Interval,
    Slot,
    StaffSchedule,
    WallHours,
    compute_slots,
    one_per_start,
    refusal_for,
    subtract,
    working_intervals,
)
from appointments.models import Service, Source, TimeOff
from appointments.selectors import availability_for, day_inputs_from, day_inputs_sql, slot_refusal
from appointments.services import Actor, appointment_book
from tenants.models import Business
from tests.factories import (
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    booking_rules,
    staff_offering,
)

# Each zone with the local dates of its 2026 clock changes.
CHANGES = {
    "Europe/Madrid": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],  # 30-minute changes
    "Pacific/Chatham": [date(2026, 4, 5), date(2026, 9, 27)],  # +12:45 / +13:45
    "America/Santiago": [date(2026, 4, 4), date(2026, 9, 6)],  # at midnight
    "UTC": [date(2026, 6, 15)],
}
FIVE_MINUTES = timedelta(minutes=5)


def _wall(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    zone_name = draw(st.sampled_from(sorted(CHANGES)))
    zone = ZoneInfo(zone_name)
    changes = st.sampled_from(CHANGES[zone_name])
    around = draw(changes | changes | st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    first = around - timedelta(days=draw(st.integers(0, 1)))
    last = first + timedelta(days=draw(st.integers(0, 2)))
    weekdays = sorted(
        {(first + timedelta(days=i)).weekday() for i in range((last - first).days + 1)}
    )
    region_start = datetime.combine(first, time.min, tzinfo=UTC) - timedelta(hours=16)
    region_minutes = ((last - first).days + 2) * 24 * 60 + 32 * 60

    def instants(max_length: int) -> st.SearchStrategy[Interval]:
        return st.tuples(st.integers(0, region_minutes // 5), st.integers(1, max_length // 5)).map(
            lambda t: (
                region_start + t[0] * FIVE_MINUTES,
                region_start + (t[0] + t[1]) * FIVE_MINUTES,
            )
        )

    # Start times in 5-minute units, often at night, when the clocks change.
    opening = st.integers(0, 286) | st.integers(0, 5 * 12) | st.integers(22 * 12, 286)
    in_five_minutes = st.tuples(
        st.sampled_from(weekdays), opening, st.integers(1, 12 * 12)
    ) | st.tuples(
        st.just(around.weekday()),
        st.integers(0, 3 * 12) | st.integers(22 * 12, 286),
        st.integers(1, 6 * 12),
    )  # the second: hours on the day of the change, at night
    hours_row: st.SearchStrategy[WallHours] = in_five_minutes.map(
        lambda t: (t[0], _wall(t[1] * 5), _wall(min(t[1] + t[2], 287) * 5))
    )
    staff = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "hours": st.lists(hours_row, min_size=1, max_size=4),
                    "time_off": st.lists(instants(6 * 60), max_size=2),
                    "busy": st.lists(instants(3 * 60), max_size=8),
                }
            ),
            min_size=1,
            max_size=3,
        )
    )
    window = (
        st.none()
        | st.none()
        | st.integers(0, region_minutes).map(
            lambda minutes: region_start + timedelta(minutes=minutes)
        )
    )
    return {
        "zone": zone,
        "first": first,
        "last": last,
        "staff": staff,
        "duration": timedelta(minutes=draw(st.integers(1, 24)) * 5),
        "step": timedelta(minutes=draw(st.sampled_from([5, 7, 10, 15, 20, 25, 30, 45, 60]))),
        "buffer_before": timedelta(minutes=draw(st.integers(0, 60))),
        "buffer_after": timedelta(minutes=draw(st.integers(0, 60))),
        "earliest": draw(window),
        "latest": draw(window),
    }


def _slots(scenario: dict[str, Any]) -> list[Slot]:
    schedules = [
        StaffSchedule(
            staff_id=staff_id,
            open=subtract(
                working_intervals(
                    staff["hours"],
                    tz=scenario["zone"],
                    start_date=scenario["first"],
                    end_date=scenario["last"],
                ),
                staff["time_off"],
            ),
            busy=staff["busy"],
        )
        for staff_id, staff in enumerate(scenario["staff"], start=1)
    ]
    return compute_slots(
        schedules,
        duration=scenario["duration"],
        step=scenario["step"],
        buffer_before=scenario["buffer_before"],
        buffer_after=scenario["buffer_after"],
        earliest=scenario["earliest"],
        latest=scenario["latest"],
    )


# --- The brute-force reference -------------------------------------------------------------


def _merged_wall_hours(hours: list[WallHours]) -> dict[int, list[tuple[time, time]]]:
    merged: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in sorted(hours):
        day = merged.setdefault(weekday, [])
        if day and start <= day[-1][1]:
            day[-1] = (day[-1][0], max(day[-1][1], end))
        else:
            day.append((start, end))
    return merged


def _local_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _wall_interval_of(
    instant: datetime, zone: ZoneInfo, merged: dict[int, list[tuple[time, time]]]
) -> tuple[time, time] | None:
    wall = _local_wall(instant, zone)
    for start, end in merged.get(wall.weekday(), []):
        if start <= wall.time() < end:
            return (start, end)
    return None


def _working_test(scenario: dict[str, Any], staff: dict[str, Any]) -> Callable[[datetime], bool]:
    zone, merged = scenario["zone"], _merged_wall_hours(staff["hours"])

    @functools.cache
    def working(instant: datetime) -> bool:
        wall_date = _local_wall(instant, zone).date()
        return (
            scenario["first"] <= wall_date <= scenario["last"]
            and _wall_interval_of(instant, zone, merged) is not None
            and not any(start <= instant < end for start, end in staff["time_off"])
        )

    return working


def _fits(start: datetime, end: datetime, working: Callable[[datetime], bool]) -> bool:
    """Every instant of [start, end) works. All boundaries fall on the 5-minute UTC grid, so
    checking `start` and each grid point after it is enough."""
    if not working(start):
        return False
    point = datetime.fromtimestamp((start.timestamp() // 300 + 1) * 300, UTC)
    while point < end:
        if not working(point):
            return False
        point += FIVE_MINUTES
    return True


def _blocked_overlaps(slot_start: datetime, scenario: dict[str, Any], busy: list[Interval]) -> bool:
    blocked_start = slot_start - scenario["buffer_before"]
    blocked_end = slot_start + scenario["duration"] + scenario["buffer_after"]
    return any(start < blocked_end and end > blocked_start for start, end in busy)


def _brute_force(scenario: dict[str, Any]) -> set[tuple[datetime, int]]:
    zone, step, duration = scenario["zone"], scenario["step"], scenario["duration"]
    expected: set[tuple[datetime, int]] = set()
    for staff_id, staff in enumerate(scenario["staff"], start=1):
        working = _working_test(scenario, staff)
        merged = _merged_wall_hours(staff["hours"])
        day = scenario["first"]
        while day <= scenario["last"]:
            for start, end in merged.get(day.weekday(), []):
                wall = datetime.combine(day, start)
                while wall < datetime.combine(day, end):
                    for fold in (0, 1):
                        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
                        if _local_wall(instant, zone) != wall:
                            continue  # this wall time does not exist today
                        if scenario["earliest"] and instant < scenario["earliest"]:
                            continue
                        if scenario["latest"] and instant > scenario["latest"]:
                            continue
                        if not _fits(instant, instant + duration, working):
                            continue
                        if _blocked_overlaps(instant, scenario, staff["busy"]):
                            continue
                        expected.add((instant, staff_id))
                    wall += step
            day += timedelta(days=1)
    return expected


# --- Properties of the pure function --------------------------------------------------------

PURE = settings(max_examples=150, deadline=None)


@PURE
@given(scenarios())
def test_no_slot_overlaps_a_busy_interval_leaves_working_hours_or_falls_off_the_grid(
    scenario: dict[str, Any],
) -> None:
    slots = _slots(scenario)
    zone = scenario["zone"]
    working_tests = [_working_test(scenario, staff) for staff in scenario["staff"]]
    for slot in slots:
        staff = scenario["staff"][slot.staff_id - 1]
        assert slot.end - slot.start == scenario["duration"]
        assert not _blocked_overlaps(slot.start, scenario, staff["busy"])
        assert _fits(slot.start, slot.end, working_tests[slot.staff_id - 1])
        wall_interval = _wall_interval_of(slot.start, zone, _merged_wall_hours(staff["hours"]))
        assert wall_interval is not None
        wall = _local_wall(slot.start, zone)
        since_opening = wall - datetime.combine(wall.date(), wall_interval[0])
        assert since_opening % scenario["step"] == timedelta(0)
        if scenario["earliest"]:
            assert slot.start >= scenario["earliest"]
        if scenario["latest"]:
            assert slot.start <= scenario["latest"]


@PURE
@given(scenarios())
def test_it_offers_exactly_the_starts_a_brute_force_search_finds(scenario: dict[str, Any]) -> None:
    slots = _slots(scenario)
    assert slots == sorted(slots, key=lambda slot: (slot.start, slot.staff_id))
    pairs = [(slot.start, slot.staff_id) for slot in slots]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == _brute_force(scenario)


@PURE
@given(scenarios())
def test_a_single_start_is_refused_exactly_when_it_is_not_offered(scenario: dict[str, Any]) -> None:
    offered = {(slot.start, slot.staff_id) for slot in _slots(scenario)}
    for staff_id, staff in enumerate(scenario["staff"], start=1):
        schedule = StaffSchedule(
            staff_id=staff_id,
            open=subtract(
                working_intervals(
                    staff["hours"],
                    tz=scenario["zone"],
                    start_date=scenario["first"],
                    end_date=scenario["last"],
                ),
                staff["time_off"],
            ),
            busy=staff["busy"],
        )
        candidates = {start for start, _ in offered} | {start for start, _ in staff["busy"]}
        for start in candidates:
            refusal = refusal_for(
                schedule,
                start,
                duration=scenario["duration"],
                step=scenario["step"],
                buffer_before=scenario["buffer_before"],
                buffer_after=scenario["buffer_after"],
                earliest=scenario["earliest"],
                latest=scenario["latest"],
            )
            assert (refusal is None) == ((start, staff_id) in offered)


@PURE
@given(scenarios())
def test_one_per_start_keeps_every_start_once_with_a_staff_member_free_then(
    scenario: dict[str, Any],
) -> None:
    slots = _slots(scenario)
    collapsed = one_per_start(slots)
    assert [slot.start for slot in collapsed] == sorted({slot.start for slot in slots})
    assert set(collapsed) <= set(slots)


# --- Booking what is offered, on the database -----------------------------------------------

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
DAYS = [date(2026, 10, 22), date(2026, 10, 23), date(2026, 10, 25), date(2026, 10, 26)]


@pytest.fixture
def salon(in_business: Business) -> dict[str, Any]:
    """A location with three staff members, three services and a busy morning already booked."""
    business = in_business
    booking_rules(tenant=business, min_notice_minutes=60, max_advance_days=30, slot_step_minutes=15)
    location = LocationFactory(tenant=business, timezone="Europe/Madrid")
    services: list[Service] = [
        ServiceFactory(tenant=business, duration_minutes=30),
        ServiceFactory(
            tenant=business, duration_minutes=45, buffer_before_minutes=10, buffer_after_minutes=15
        ),
        ServiceFactory(
            tenant=business, duration_minutes=20, buffer_after_minutes=5, slot_step_minutes=10
        ),
    ]
    every_day = range(7)
    staff = [
        staff_offering(tenant=business, location=location, services=services, weekdays=every_day),
        staff_offering(
            tenant=business,
            location=location,
            services=services[:2],
            weekdays=every_day,
            hours=((time(1), time(4)), (time(10), time(13, 30))),
        ),
        staff_offering(
            tenant=business,
            location=location,
            services=services[1:],
            weekdays=every_day,
            hours=((time(8, 30), time(17, 45)),),
        ),
    ]
    client = ClientFactory(tenant=business)
    for day in DAYS:
        for member, service, at in (
            (staff[0], services[0], time(10)),
            (staff[1], services[1], time(11, 15)),
            (staff[2], services[2], time(9, 40)),
        ):
            appointment_book(
                tenant=business,
                location=location,
                staff=member,
                service=service,
                client=client,
                start=datetime.combine(day, at, tzinfo=MADRID),
                source=Source.DASHBOARD,
                actor=Actor.system(),
                now=NOW,
            )
    return {
        "business": business,
        "location": location,
        "services": services,
        "staff": staff,
        "client": client,
    }


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_booking_any_offered_slot_succeeds(salon: dict[str, Any], data: st.DataObject) -> None:
    business, location = salon["business"], salon["location"]
    service = data.draw(st.sampled_from(salon["services"]))
    chosen_staff = data.draw(st.sampled_from([None, *salon["staff"]]))
    day = data.draw(st.sampled_from(DAYS))
    staff_by_id = {member.pk: member for member in salon["staff"]}

    def offered() -> list[Slot]:
        return availability_for(
            tenant=business,
            service=service,
            location=location,
            start_date=day,
            end_date=day,
            staff=chosen_staff,
            now=NOW,
        )

    with scope(tenant=business), transaction.atomic():
        performs = chosen_staff is None or chosen_staff.services.filter(pk=service.pk).exists()
        assert bool(offered()) == performs  # every one of these days has room
        for _ in range(3):  # book one offered slot after another: each must succeed
            slots = offered()
            if not slots:
                break
            slot = data.draw(st.sampled_from(slots))
            appointment = appointment_book(
                tenant=business,
                location=location,
                staff=staff_by_id[slot.staff_id],
                service=service,
                client=salon["client"],
                start=slot.start,
                source=Source.ONLINE,
                actor=Actor.system(),
                now=NOW,
            )
            assert (appointment.start, appointment.end) == (slot.start, slot.end)
            assert slot not in offered()
        transaction.set_rollback(True)


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_booking_judges_a_start_exactly_as_availability_does_with_its_day_read_ahead(
    salon: dict[str, Any], data: st.DataObject
) -> None:
    """A booking reads the staff member's rules, hours and time off in its validation statement
    (`day_inputs_sql`) and only their bookings under the lock: every start on the day must get
    the answer the four-query path gives, whatever the time off (before the hours, across
    lunch, over midnight) and however the notice clips the day."""
    business, location = salon["business"], salon["location"]
    service = data.draw(st.sampled_from(salon["services"]))
    member = data.draw(
        st.sampled_from([m for m in salon["staff"] if m.services.filter(pk=service.pk).exists()])
    )
    day = data.draw(st.sampled_from(DAYS))
    midnight = datetime.combine(day, time.min, tzinfo=MADRID)
    quarter_hours = st.integers(-8, 4 * 24 + 8).map(lambda q: midnight + q * timedelta(minutes=15))
    with scope(tenant=business), transaction.atomic():
        for off_start in data.draw(st.lists(quarter_hours, max_size=3)):
            length = data.draw(st.integers(1, 40)) * timedelta(minutes=5)
            TimeOff.objects.create(
                tenant=business, staff=member, start=off_start, end=off_start + length
            )
        now = data.draw(st.sampled_from([NOW, midnight + timedelta(hours=7, minutes=50)]))
        window = data.draw(st.booleans())
        on_grid = data.draw(st.booleans())
        sql, params = day_inputs_sql(tenant=business, location=location, staff=member, day=day)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {sql}", params)
            inputs = day_inputs_from(cursor.fetchone(), staff=member, day=day)
        start = midnight
        while start.astimezone(MADRID).date() == day:
            judged = {
                "tenant": business,
                "service": service,
                "location": location,
                "staff": member,
                "start": start,
                "now": now,
                "on_grid": on_grid,
                "booking_window": window,
            }
            assert slot_refusal(**judged, inputs=inputs) == slot_refusal(**judged), start
            start += timedelta(minutes=5)
        transaction.set_rollback(True)
