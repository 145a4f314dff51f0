"""Availability: which slots a service offers, with whom, in the location's own time."""

from __future__ import annotations

import os
import time as system_time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from appointments.availability import Slot, one_per_start
from appointments.errors import (
    InvalidBookingRequest,
    OffGrid,
    OutsideBookingWindow,
    OutsideHours,
    SlotTaken,
)
from appointments.models import (
    Appointment,
    AppointmentStatus,
    Service,
    Source,
    StaffLocation,
    StaffMember,
    TimeOff,
    WorkingHours,
)
from appointments.selectors import availability_for, slot_check, slot_refusal
from appointments.services import Actor, appointment_book, appointment_cancel
from tenants.models import Business, Location
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    booking_rules,
    staff_offering,
)

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2026, 6, 1)
TUESDAY = MONDAY + timedelta(days=1)
# A week before MONDAY: every rule's window is open on the days the tests look at.
NOW = datetime(2026, 5, 25, 8, 0, tzinfo=UTC)


@pytest.fixture
def location(in_business: Business) -> Location:
    return LocationFactory(tenant=in_business, timezone="Europe/Madrid")


@pytest.fixture
def service(in_business: Business) -> Service:
    return ServiceFactory(tenant=in_business, duration_minutes=30)


def _at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = MADRID) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def _times(slots: list[Slot], tz: ZoneInfo = MADRID) -> list[str]:
    """Local start times, with the UTC offset: "01:30+0100"."""
    return [slot.start.astimezone(tz).strftime("%H:%M%z") for slot in slots]


def _clock(slots: list[Slot], tz: ZoneInfo = MADRID) -> list[str]:
    return [slot.start.astimezone(tz).strftime("%H:%M") for slot in slots]


def _every(start: str, end: str, minutes: int) -> list[str]:
    """Wall times from `start` to `end` inclusive, `minutes` apart: _every("09:00", "09:30", 15)."""
    first = datetime.strptime(start, "%H:%M")  # noqa: DTZ007 - a wall-clock reading, no instant
    last = datetime.strptime(end, "%H:%M")  # noqa: DTZ007
    result = []
    while first <= last:
        result.append(first.strftime("%H:%M"))
        first += timedelta(minutes=minutes)
    return result


def _book(
    business: Business, location: Location, staff: StaffMember, service: Service, start: datetime
) -> Appointment:
    return appointment_book(
        tenant=business,
        location=location,
        staff=staff,
        service=service,
        client=ClientFactory(tenant=business),
        start=start,
        source=Source.DASHBOARD,
        actor=Actor.system(),
        now=NOW,
    )


def _slots(
    business: Business,
    location: Location,
    service: Service,
    day: date = MONDAY,
    end_day: date | None = None,
    staff: StaffMember | None = None,
    now: datetime = NOW,
) -> list[Slot]:
    return availability_for(
        tenant=business,
        service=service,
        location=location,
        start_date=day,
        end_date=end_day or day,
        staff=staff,
        now=now,
    )


# --- Working hours, breaks, steps ------------------------------------------------------------


def test_it_offers_slots_every_step_inside_working_hours(
    in_business: Business, location: Location, service: Service
) -> None:
    booking_rules(tenant=in_business, slot_step_minutes=15)
    staff = staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(14)),)
    )

    slots = _slots(in_business, location, service, staff=staff)

    assert _clock(slots) == _every("09:00", "13:30", 15)
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)
    assert {slot.staff_id for slot in slots} == {staff.pk}


def test_it_leaves_out_the_lunch_break(
    in_business: Business, location: Location, service: Service
) -> None:
    staff_offering(tenant=in_business, location=location, services=[service])  # 9-14 and 15-19

    assert _clock(_slots(in_business, location, service)) == (
        _every("09:00", "13:30", 15) + _every("15:00", "18:30", 15)
    )


def test_it_offers_nothing_on_days_without_working_hours(
    in_business: Business, location: Location, service: Service
) -> None:
    staff_offering(tenant=in_business, location=location, services=[service], weekdays=range(5))
    saturday, sunday = MONDAY + timedelta(days=5), MONDAY + timedelta(days=6)

    assert _slots(in_business, location, service, saturday, sunday) == []


def test_working_hours_that_touch_make_one_interval(
    in_business: Business, location: Location
) -> None:
    hour_long = ServiceFactory(tenant=in_business, duration_minutes=60, slot_step_minutes=30)
    staff_offering(
        tenant=in_business,
        location=location,
        services=[hour_long],
        hours=((time(9), time(10, 30)), (time(10, 30), time(11))),
    )

    assert _clock(_slots(in_business, location, hour_long)) == ["09:00", "09:30", "10:00"]


def test_a_service_with_its_own_step_uses_it(in_business: Business, location: Location) -> None:
    booking_rules(tenant=in_business, slot_step_minutes=15)
    hourly = ServiceFactory(tenant=in_business, duration_minutes=45, slot_step_minutes=60)
    staff_offering(
        tenant=in_business, location=location, services=[hourly], hours=((time(9, 30), time(13)),)
    )

    assert _clock(_slots(in_business, location, hourly)) == ["09:30", "10:30", "11:30"]


# --- Appointments and buffers --------------------------------------------------------------


def test_it_keeps_buffers_of_both_appointments_apart(
    in_business: Business, location: Location
) -> None:
    cleaning_after = ServiceFactory(
        tenant=in_business, duration_minutes=30, buffer_after_minutes=15
    )
    setup_before = ServiceFactory(tenant=in_business, duration_minutes=30, buffer_before_minutes=10)
    staff = staff_offering(
        tenant=in_business,
        location=location,
        services=[cleaning_after, setup_before],
        hours=((time(9), time(12)),),
    )
    _book(in_business, location, staff, cleaning_after, _at(MONDAY, 10))  # holds 10:00-10:45

    times = _clock(_slots(in_business, location, setup_before))

    # 09:30 ends at 10:00, when the other appointment begins; 11:00's buffer starts at 10:50.
    assert times == [*_every("09:00", "09:30", 15), *_every("11:00", "11:30", 15)]


def test_back_to_back_appointments_are_offered(
    in_business: Business, location: Location, service: Service
) -> None:
    staff = staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(11)),)
    )
    _book(in_business, location, staff, service, _at(MONDAY, 10))

    assert _clock(_slots(in_business, location, service)) == [
        "09:00",
        "09:15",
        "09:30",
        "10:30",
    ]


def test_cancelled_appointments_free_their_time_and_others_do_not(
    in_business: Business, location: Location, service: Service
) -> None:
    staff = staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(11)),)
    )
    kept = _book(in_business, location, staff, service, _at(MONDAY, 9))
    cancelled = _book(in_business, location, staff, service, _at(MONDAY, 10))
    appointment_cancel(appointment=cancelled, actor=Actor.system(), now=NOW)
    assert kept.status == AppointmentStatus.SCHEDULED

    assert _clock(_slots(in_business, location, service)) == _every("09:30", "10:30", 15)


def test_an_appointment_at_another_location_still_takes_the_staff_members_time(
    in_business: Business, location: Location, service: Service
) -> None:
    elsewhere = LocationFactory(tenant=in_business, timezone="Europe/Madrid")
    staff = staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(11)),)
    )
    StaffLocation.objects.create(tenant=in_business, staff=staff, location=elsewhere)
    # Bookable at both places that morning (booking checks the hours of the place booked).
    WorkingHours.objects.create(
        tenant=in_business,
        staff=staff,
        location=elsewhere,
        weekday=MONDAY.weekday(),
        start_time=time(9),
        end_time=time(11),
    )
    _book(in_business, elsewhere, staff, service, _at(MONDAY, 9, 30))  # holds 09:30-10:00

    assert _clock(_slots(in_business, location, service)) == ["09:00", "10:00", "10:15", "10:30"]


def test_appointments_of_another_business_change_nothing(
    in_business: Business, location: Location, service: Service
) -> None:
    staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(10)),)
    )
    before = _slots(in_business, location, service)
    other = BusinessFactory()
    with scope(tenant=other):
        other_location = LocationFactory(tenant=other)
        other_service = ServiceFactory(tenant=other)
        other_staff = staff_offering(
            tenant=other,
            location=other_location,
            services=[other_service],
            hours=((time(9), time(10)),),
        )
        _book(other, other_location, other_staff, other_service, _at(MONDAY, 9))

    assert _slots(in_business, location, service) == before


# --- Booking rules ---------------------------------------------------------------------------


def test_it_honours_minimum_notice_and_maximum_advance(
    in_business: Business, location: Location, service: Service
) -> None:
    booking_rules(tenant=in_business, min_notice_minutes=120, max_advance_days=2)
    staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(12)),)
    )
    now = _at(MONDAY, 7, 50).astimezone(UTC)  # earliest 09:50 Monday, latest 07:50 Wednesday

    slots = _slots(in_business, location, service, MONDAY, MONDAY + timedelta(days=3), now=now)

    assert _clock([s for s in slots if s.start.astimezone(MADRID).date() == MONDAY]) == _every(
        "10:00", "11:30", 15
    )
    assert _clock([s for s in slots if s.start.astimezone(MADRID).date() == TUESDAY]) == _every(
        "09:00", "11:30", 15
    )
    assert max(slot.start for slot in slots) <= now + timedelta(days=2)
    assert {slot.start.astimezone(MADRID).date() for slot in slots} == {MONDAY, TUESDAY}


def test_a_start_exactly_at_the_limits_of_the_window_is_offered(
    in_business: Business, location: Location, service: Service
) -> None:
    booking_rules(tenant=in_business, min_notice_minutes=60, max_advance_days=1)
    staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(12)),)
    )
    now = _at(MONDAY, 9).astimezone(UTC)

    slots = _slots(in_business, location, service, MONDAY, TUESDAY, now=now)

    assert slots[0].start == _at(MONDAY, 10)
    assert slots[-1].start == _at(TUESDAY, 9)


def test_the_services_own_rules_override_the_business_rules(
    in_business: Business, location: Location
) -> None:
    booking_rules(
        tenant=in_business, min_notice_minutes=24 * 60, max_advance_days=60, slot_step_minutes=15
    )
    walk_in = ServiceFactory(
        tenant=in_business,
        duration_minutes=30,
        min_notice_minutes=0,
        max_advance_days=0,
        slot_step_minutes=30,
    )
    staff_offering(
        tenant=in_business, location=location, services=[walk_in], hours=((time(9), time(12)),)
    )
    now = _at(MONDAY, 10, 10).astimezone(UTC)

    slots = _slots(in_business, location, walk_in, MONDAY, TUESDAY, now=now)

    assert slots == []  # max advance 0: nothing after now; the business's 24 h notice is ignored
    walk_in.max_advance_days = 1
    assert _clock(_slots(in_business, location, walk_in, MONDAY, MONDAY, now=now)) == [
        "10:30",
        "11:00",
        "11:30",
    ]


def test_without_booking_rules_it_uses_the_models_defaults(
    in_business: Business, location: Location, service: Service
) -> None:
    staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(12)),)
    )
    now = _at(MONDAY, 8, 10).astimezone(UTC)  # 120 minutes of notice: from 10:10

    slots = _slots(in_business, location, service, MONDAY, MONDAY + timedelta(days=90), now=now)

    assert _clock(slots)[:3] == ["10:15", "10:30", "10:45"]  # a 15-minute step
    assert max(slot.start for slot in slots) <= now + timedelta(days=60)
    assert max(slot.start for slot in slots) > now + timedelta(days=59)


def test_now_is_the_current_time_unless_given(
    in_business: Business, location: Location, service: Service
) -> None:
    staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(12)),)
    )

    with time_machine.travel(_at(MONDAY, 8), tick=False):
        slots = availability_for(
            tenant=in_business,
            service=service,
            location=location,
            start_date=MONDAY,
            end_date=MONDAY,
        )

    assert _clock(slots)[0] == "10:00"


# --- Time off ------------------------------------------------------------------------------


def test_it_leaves_out_time_off(
    in_business: Business, location: Location, service: Service
) -> None:
    staff = staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(13)),)
    )
    TimeOff.objects.create(
        tenant=in_business,
        staff=staff,
        start=_at(MONDAY, 10, 10),
        end=_at(MONDAY, 11, 20),
        reason="dentist",
    )

    # The grid stays on the quarter hours after the time off.
    assert _clock(_slots(in_business, location, service)) == [
        *_every("09:00", "09:30", 15),
        *_every("11:30", "12:30", 15),
    ]


def test_time_off_over_several_days_closes_them_all(
    in_business: Business, location: Location, service: Service
) -> None:
    staff = staff_offering(tenant=in_business, location=location, services=[service])
    TimeOff.objects.create(
        tenant=in_business,
        staff=staff,
        start=_at(MONDAY, 0),
        end=_at(MONDAY + timedelta(days=2), 12),
    )

    slots = _slots(in_business, location, service, MONDAY, MONDAY + timedelta(days=2))

    assert slots[0].start == _at(MONDAY + timedelta(days=2), 12)


# --- Who may take the service --------------------------------------------------------------


def test_only_active_staff_who_perform_the_service_at_the_location_are_offered(
    in_business: Business, location: Location, service: Service
) -> None:
    other_service = ServiceFactory(tenant=in_business)
    other_location = LocationFactory(tenant=in_business, timezone="Europe/Madrid")
    hours = ((time(9), time(10)),)
    able = staff_offering(tenant=in_business, location=location, services=[service], hours=hours)
    staff_offering(tenant=in_business, location=location, services=[other_service], hours=hours)
    staff_offering(tenant=in_business, location=other_location, services=[service], hours=hours)
    staff_offering(
        tenant=in_business, location=location, services=[service], hours=hours, is_active=False
    )

    assert {slot.staff_id for slot in _slots(in_business, location, service)} == {able.pk}


def test_hours_at_another_location_do_not_count(
    in_business: Business, location: Location, service: Service
) -> None:
    other_location = LocationFactory(tenant=in_business, timezone="Europe/Madrid")
    staff = staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(10)),)
    )
    StaffLocation.objects.create(tenant=in_business, staff=staff, location=other_location)
    staff.working_hours.create(
        tenant=in_business,
        location=other_location,
        weekday=0,
        start_time=time(16),
        end_time=time(18),
    )

    assert _clock(_slots(in_business, location, service)) == _every("09:00", "09:30", 15)


def test_an_inactive_service_or_location_offers_nothing(
    in_business: Business, location: Location, service: Service
) -> None:
    staff_offering(tenant=in_business, location=location, services=[service])
    service.is_active = False
    assert _slots(in_business, location, service) == []
    service.is_active = True
    location.is_active = False
    assert _slots(in_business, location, service) == []


def test_a_service_of_another_business_is_refused(
    in_business: Business, location: Location
) -> None:
    with scopes_disabled():
        foreign = ServiceFactory(tenant=BusinessFactory())

    with pytest.raises(InvalidBookingRequest):
        _slots(in_business, location, foreign)


def test_any_staff_returns_who_would_take_each_slot(
    in_business: Business, location: Location, service: Service
) -> None:
    hours = ((time(9), time(10, 30)),)
    ana = staff_offering(tenant=in_business, location=location, services=[service], hours=hours)
    ben = staff_offering(tenant=in_business, location=location, services=[service], hours=hours)
    _book(in_business, location, ana, service, _at(MONDAY, 9, 30))

    slots = _slots(in_business, location, service)

    by_time: dict[str, list[int]] = {}
    for slot in slots:
        by_time.setdefault(slot.start.astimezone(MADRID).strftime("%H:%M"), []).append(
            slot.staff_id
        )
    assert by_time == {
        "09:00": [ana.pk, ben.pk],
        "09:15": [ben.pk],
        "09:30": [ben.pk],
        "09:45": [ben.pk],
        "10:00": [ana.pk, ben.pk],
    }
    assert [(s.start, s.staff_id) for s in one_per_start(slots)] == [
        (_at(MONDAY, 9), ana.pk),
        (_at(MONDAY, 9, 15), ben.pk),
        (_at(MONDAY, 9, 30), ben.pk),
        (_at(MONDAY, 9, 45), ben.pk),
        (_at(MONDAY, 10), ana.pk),
    ]
    assert one_per_start(slots, preference=[ben.pk])[0].staff_id == ben.pk


def test_asking_for_one_staff_member_returns_only_theirs(
    in_business: Business, location: Location, service: Service
) -> None:
    hours = ((time(9), time(10)),)
    staff_offering(tenant=in_business, location=location, services=[service], hours=hours)
    ben = staff_offering(tenant=in_business, location=location, services=[service], hours=hours)

    slots = _slots(in_business, location, service, staff=ben)

    assert {slot.staff_id for slot in slots} == {ben.pk}
    assert len(slots) == 3


# --- Queries -------------------------------------------------------------------------------


def test_the_number_of_queries_is_the_same_for_one_day_and_thirty(
    in_business: Business, location: Location, service: Service
) -> None:
    booking_rules(tenant=in_business)
    team = [
        staff_offering(tenant=in_business, location=location, services=[service]) for _ in range(3)
    ]
    for offset in range(30):
        day = MONDAY + timedelta(days=offset)
        if day.weekday() < 5:
            _book(in_business, location, team[offset % 3], service, _at(day, 11))
            TimeOff.objects.create(
                tenant=in_business,
                staff=team[(offset + 1) % 3],
                start=_at(day, 16),
                end=_at(day, 17),
            )

    counts = []
    for last in (MONDAY, MONDAY + timedelta(days=29)):
        with CaptureQueriesContext(connection) as queries:
            slots = _slots(in_business, location, service, MONDAY, last)
        assert slots
        counts.append(len(queries))
        with CaptureQueriesContext(connection) as queries:
            _slots(in_business, location, service, MONDAY, last, staff=team[0])
        counts.append(len(queries))

    assert counts[0] == counts[1] == counts[2] == counts[3] <= 5


# --- Daylight saving time -------------------------------------------------------------------


@pytest.fixture
def night_shift(in_business: Business) -> Callable[[str, date, time, time], list[Slot]]:
    """The slots of a 30-minute service, 15-minute step, for hours on one day in a zone."""

    def slots(tz_name: str, day: date, start: time, end: time) -> list[Slot]:
        location = LocationFactory(tenant=in_business, timezone=tz_name)
        service = ServiceFactory(tenant=in_business, duration_minutes=30, slot_step_minutes=15)
        staff_offering(
            tenant=in_business,
            location=location,
            services=[service],
            hours=((start, end),),
            weekdays=range(day.weekday(), day.weekday() + 1),
        )
        now = datetime.combine(day - timedelta(days=7), time(12), tzinfo=UTC)
        return _slots(in_business, location, service, day, now=now)

    return slots


def test_madrid_spring_forward_offers_nothing_in_the_skipped_hour(night_shift: Callable) -> None:
    slots = night_shift("Europe/Madrid", date(2026, 3, 29), time(1), time(4))

    # 02:00-03:00 does not exist; 01:45 ends at 03:15 (30 real minutes); the day is 2 hours long.
    assert _times(slots) == [
        "01:00+0100",
        "01:15+0100",
        "01:30+0100",
        "01:45+0100",
        "03:00+0200",
        "03:15+0200",
        "03:30+0200",
    ]
    assert slots[1].end - slots[1].start == timedelta(minutes=30)


def test_hours_that_begin_inside_the_skipped_hour_begin_when_the_clock_jumps(
    night_shift: Callable,
) -> None:
    slots = night_shift("Europe/Madrid", date(2026, 3, 29), time(2, 30), time(4))

    assert _times(slots) == ["03:00+0200", "03:15+0200", "03:30+0200"]


def test_madrid_fall_back_offers_both_occurrences_of_the_repeated_hour(
    night_shift: Callable,
) -> None:
    slots = night_shift("Europe/Madrid", date(2026, 10, 25), time(1), time(4))

    assert _times(slots) == [
        "01:00+0200",
        "01:15+0200",
        "01:30+0200",
        "01:45+0200",
        "02:00+0200",
        "02:15+0200",
        "02:30+0200",
        "02:45+0200",
        "02:00+0100",
        "02:15+0100",
        "02:30+0100",
        "02:45+0100",
        "03:00+0100",
        "03:15+0100",
        "03:30+0100",
    ]
    assert len({slot.start for slot in slots}) == 15
    # The 02:45 of summer time runs into the second 02:00-02:15: one slot, 30 real minutes.
    assert slots[7].end == datetime(2026, 10, 25, 1, 15, tzinfo=UTC)


def test_new_york_spring_forward_offers_nothing_in_the_skipped_hour(night_shift: Callable) -> None:
    slots = night_shift("America/New_York", date(2026, 3, 8), time(1), time(4))

    assert _times(slots, NEW_YORK) == [
        "01:00-0500",
        "01:15-0500",
        "01:30-0500",
        "01:45-0500",
        "03:00-0400",
        "03:15-0400",
        "03:30-0400",
    ]


def test_new_york_fall_back_offers_both_occurrences_of_the_repeated_hour(
    night_shift: Callable,
) -> None:
    slots = night_shift("America/New_York", date(2026, 11, 1), time(0), time(3))

    assert _times(slots, NEW_YORK) == [
        "00:00-0400",
        "00:15-0400",
        "00:30-0400",
        "00:45-0400",
        "01:00-0400",
        "01:15-0400",
        "01:30-0400",
        "01:45-0400",
        "01:00-0500",
        "01:15-0500",
        "01:30-0500",
        "01:45-0500",
        "02:00-0500",
        "02:15-0500",
        "02:30-0500",
    ]
    first_one, second_one = slots[4].start, slots[8].start
    assert second_one - first_one == timedelta(hours=1)


@pytest.mark.parametrize(
    ("tz_name", "day"),
    [
        ("Europe/Madrid", date(2026, 3, 29)),
        ("Europe/Madrid", date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
    ],
)
def test_an_afternoon_schedule_keeps_its_local_times_on_the_day_the_clocks_change(
    night_shift: Callable, tz_name: str, day: date
) -> None:
    slots = night_shift(tz_name, day, time(15), time(19))

    assert _clock(slots, ZoneInfo(tz_name)) == _every("15:00", "18:30", 15)
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)


def test_a_week_across_the_change_keeps_the_same_local_times_every_day(
    in_business: Business, location: Location, service: Service
) -> None:
    staff_offering(tenant=in_business, location=location, services=[service], weekdays=range(7))
    first = date(2026, 3, 26)
    now = datetime(2026, 3, 20, tzinfo=UTC)

    slots = _slots(in_business, location, service, first, first + timedelta(days=6), now=now)

    by_day: dict[date, list[str]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(MADRID).date(), []).append(
            slot.start.astimezone(MADRID).strftime("%H:%M")
        )
    assert len(by_day) == 7
    assert all(times == by_day[first] for times in by_day.values())
    assert {s.start.astimezone(MADRID).utcoffset() for s in slots} == {
        timedelta(hours=1),
        timedelta(hours=2),
    }


@pytest.fixture
def server_time_zone() -> Iterator[Callable[[str], None]]:
    """Set the process's TZ (what naive local-time functions use); restored afterwards."""
    original = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        system_time.tzset()

    yield use
    if original is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = original
    system_time.tzset()


@pytest.mark.parametrize(
    "server_zone", ["Pacific/Auckland", "America/Los_Angeles", "Asia/Kathmandu"]
)
def test_results_do_not_depend_on_the_servers_time_zone(
    in_business: Business,
    location: Location,
    service: Service,
    server_time_zone: Callable[[str], None],
    server_zone: str,
) -> None:
    staff = staff_offering(
        tenant=in_business,
        location=location,
        services=[service],
        weekdays=range(7),
        hours=((time(1), time(4)), (time(15), time(19))),
    )
    _book(in_business, location, staff, service, _at(date(2026, 10, 25), 2, 30))
    days = (date(2026, 3, 28), date(2026, 3, 30), date(2026, 10, 24), date(2026, 10, 26))
    now = datetime(2026, 3, 1, tzinfo=UTC)

    def everything() -> list[list[Slot]]:
        return [
            _slots(in_business, location, service, days[0], days[1], now=now),
            _slots(
                in_business,
                location,
                service,
                days[2],
                days[3],
                now=datetime(2026, 10, 1, tzinfo=UTC),
            ),
        ]

    server_time_zone("UTC")
    expected = everything()
    server_time_zone(server_zone)
    assert system_time.localtime(0).tm_gmtoff != 0 or server_zone == "UTC"

    assert everything() == expected
    assert all(expected)


# --- Checking one start time (for booking) -------------------------------------------------


def test_slot_check_accepts_an_offered_start_and_explains_a_refused_one(
    in_business: Business, location: Location, service: Service
) -> None:
    booking_rules(tenant=in_business, min_notice_minutes=60, max_advance_days=7)
    staff = staff_offering(
        tenant=in_business, location=location, services=[service], hours=((time(9), time(12)),)
    )
    taken = _book(in_business, location, staff, service, _at(MONDAY, 10))
    now = _at(MONDAY, 8).astimezone(UTC)

    def check(start: datetime, **kwargs: object) -> None:
        slot_check(
            tenant=in_business,
            service=service,
            location=location,
            staff=staff,
            start=start,
            now=now,
            **kwargs,  # type: ignore[arg-type]
        )

    check(_at(MONDAY, 9))
    with pytest.raises(OutsideBookingWindow):
        check(_at(MONDAY, 8, 45))  # less than an hour's notice
    with pytest.raises(OutsideBookingWindow):
        check(_at(MONDAY + timedelta(days=8), 9))
    with pytest.raises(OutsideHours):
        check(_at(MONDAY, 11, 45))  # would end after 12:00
    with pytest.raises(OffGrid):
        check(_at(MONDAY, 9, 5))  # between offered times
    check(_at(MONDAY, 9, 5), on_grid=False)
    with pytest.raises(SlotTaken):
        check(_at(MONDAY, 10, 15))
    check(_at(MONDAY, 10, 15), exclude_appointment_id=taken.pk)  # moving that appointment itself


def test_slot_refusal_agrees_with_availability_for_every_quarter_hour(
    in_business: Business, location: Location, service: Service
) -> None:
    staff = staff_offering(
        tenant=in_business,
        location=location,
        services=[service],
        weekdays=range(7),
        hours=((time(1), time(4)), (time(15), time(19))),
    )
    _book(in_business, location, staff, service, _at(date(2026, 10, 25), 2, 15))  # the first 02:15
    day = date(2026, 10, 25)
    now = datetime(2026, 10, 20, tzinfo=UTC)
    offered = {
        slot.start for slot in _slots(in_business, location, service, day, staff=staff, now=now)
    }

    instant = datetime(2026, 10, 24, 22, tzinfo=UTC)
    while instant < datetime(2026, 10, 25, 23, tzinfo=UTC):
        refusal = slot_refusal(
            tenant=in_business,
            service=service,
            location=location,
            staff=staff,
            start=instant,
            now=now,
        )
        assert (refusal is None) == (instant in offered), instant
        instant += timedelta(minutes=15)
