"""Reads on appointments that need more than one line."""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.availability import (
    Interval,
    OpenInterval,
    Refusal,
    Slot,
    StaffSchedule,
    WallHours,
    compute_slots,
    refusal_for,
    schedules_from,
    working_intervals,
)
from appointments.errors import (
    InvalidBookingRequest,
    OffGrid,
    OutsideBookingWindow,
    OutsideHours,
    SlotTaken,
)
from appointments.models import (
    BLOCKING_STATUSES,
    Appointment,
    BookingRules,
    Service,
    StaffLocation,
    StaffMember,
    StaffService,
    TimeOff,
    WorkingHours,
)
from tenants.models import Business, Location


@dataclass(frozen=True)
class StaffDay:
    staff: StaffMember
    appointments: list[Appointment]


def local_day(moment: datetime, tz_name: str) -> date:
    """The date `moment` (aware) falls on in `tz_name`."""
    return moment.astimezone(zoneinfo.ZoneInfo(tz_name)).date()


def local_day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """The UTC instants where `day` begins and ends in `tz_name` (23 or 25 hours on DST days)."""
    tz = zoneinfo.ZoneInfo(tz_name)
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


def agenda_for_day(*, tenant: Business, day: date) -> list[StaffDay]:
    """Each active staff member with their appointments of `day` (business time), in 2 queries."""
    start, end = local_day_bounds(day, tenant.timezone)
    staff = list(StaffMember.objects.filter(tenant=tenant, is_active=True).order_by("display_name"))
    by_staff: dict[int, list[Appointment]] = {s.pk: [] for s in staff}
    appointments = (
        Appointment.objects.filter(tenant=tenant, start__gte=start, start__lt=end)
        .select_related("client", "service")
        .order_by("start")
    )
    for appointment in appointments:
        by_staff.setdefault(appointment.staff_id, []).append(appointment)
    return [StaffDay(staff=s, appointments=by_staff[s.pk]) for s in staff]


# --- Availability ------------------------------------------------------------------------------


def _rules_default(name: str) -> int:
    default = getattr(BookingRules._meta.get_field(name), "default", None)
    assert isinstance(default, int)  # noqa: S101 - the model declares plain integers
    return default


@dataclass(frozen=True)
class SlotRules:
    """The rules one service's slots follow: the service's overrides, else the business's."""

    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    step: timedelta
    min_notice: timedelta
    max_advance: timedelta

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The earliest and the latest start (both inclusive) bookable at `now`."""
        return now + self.min_notice, now + self.max_advance


def slot_rules_for(*, service: Service, business_rules: tuple[int, int, int] | None) -> SlotRules:
    """`business_rules`: (min notice minutes, max advance days, step minutes), or None when the
    business has no BookingRules row (the model's defaults apply)."""
    notice, advance, step = business_rules or (
        _rules_default("min_notice_minutes"),
        _rules_default("max_advance_days"),
        _rules_default("slot_step_minutes"),
    )
    return SlotRules(
        duration=timedelta(minutes=service.duration_minutes),
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        # The 5-minute minimum is a form validator only; never let a 0 in the table loop forever.
        step=timedelta(minutes=max(service.slot_step_minutes or step, 1)),
        min_notice=timedelta(
            minutes=notice if service.min_notice_minutes is None else service.min_notice_minutes
        ),
        max_advance=timedelta(
            days=advance if service.max_advance_days is None else service.max_advance_days
        ),
    )


@dataclass(frozen=True)
class _Loaded:
    rules: SlotRules
    schedules: list[StaffSchedule]


# The loader runs on every booking and every availability request. The ORM spent ~4 ms
# building these four statements (their SQL runs in ~0.5 ms), so they are written out; the
# tenant is explicit in each, as the scoped managers would have made it.
_RULES = BookingRules._meta.db_table
_HOURS = WorkingHours._meta.db_table
_STAFF = StaffMember._meta.db_table
_STAFF_SERVICE = StaffService._meta.db_table
_STAFF_LOCATION = StaffLocation._meta.db_table
_TIME_OFF = TimeOff._meta.db_table
_APPOINTMENTS = Appointment._meta.db_table
_END = connection.ops.quote_name("end")
_RULES_COLUMNS = ("min_notice_minutes", "max_advance_days", "slot_step_minutes")


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _utc(moment: datetime) -> datetime:
    """Rows read without the ORM: SQLite gives naive UTC datetimes, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class DayInputs:
    """What judging one staff member's start on one local day needs besides their bookings:
    the business's rules row, their hours there that weekday and their time off that day.

    A booking reads these in its validation statement, before it takes the staff member's
    lock (`day_inputs_sql`), so that only the blocked ranges are read under the lock.
    """

    staff_id: int
    day: date
    business_rules: tuple[int, int, int] | None
    hours: tuple[WallHours, ...]
    time_off: tuple[Interval, ...]


def _json_rows(columns: str) -> str:
    """An aggregate of the selected rows as one JSON array of arrays (NULL over no rows)."""
    if connection.vendor == "postgresql":
        return f"json_agg(json_build_array({columns}))"
    return f"json_group_array(json_array({columns}))"


def day_inputs_sql(
    *, tenant: Business, location: Location, staff: StaffMember, day: date
) -> tuple[str, list[Any]]:
    """Five select expressions (the rules' three columns, the hours, the time off) and their
    parameters, to read a `DayInputs` within another statement; `day_inputs_from` reads the
    values back. The time off is the whole local day's: `_load_schedules` keeps what it would
    have read itself."""
    day_start, day_end = local_day_bounds(day, location.timezone)
    ops = connection.ops
    rules = f"(SELECT {{}} FROM {_RULES} WHERE tenant_id = %s ORDER BY id LIMIT 1)"  # noqa: S608 - only _meta table names and %s placeholders
    sql = ", ".join(
        [
            *(rules.format(column) for column in _RULES_COLUMNS),
            f"(SELECT {_json_rows('weekday, start_time, end_time')} FROM {_HOURS}"  # noqa: S608 - only _meta table names and %s placeholders
            " WHERE tenant_id = %s AND location_id = %s AND staff_id = %s AND weekday = %s)",
            f"(SELECT {_json_rows(f'start, {_END}')} FROM {_TIME_OFF}"  # noqa: S608 - only _meta table names and %s placeholders
            f" WHERE tenant_id = %s AND staff_id = %s AND start < %s AND {_END} > %s)",
        ]
    )
    params = [
        *([tenant.pk] * len(_RULES_COLUMNS)),
        *(tenant.pk, location.pk, staff.pk, day.weekday()),
        *(tenant.pk, staff.pk),
        ops.adapt_datetimefield_value(day_end),
        ops.adapt_datetimefield_value(day_start),
    ]
    return sql, params


def day_inputs_from(values: Sequence[Any], *, staff: StaffMember, day: date) -> DayInputs:
    """The `DayInputs` from the five values `day_inputs_sql` selected."""
    notice, advance, step, hours, time_off = values

    def rows(value: Any) -> list[list[Any]]:
        # PostgreSQL's json arrives decoded, SQLite's as text; no rows: NULL (PostgreSQL).
        return [] if value is None else json.loads(value) if isinstance(value, str) else value

    return DayInputs(
        staff_id=staff.pk,
        day=day,
        business_rules=None if notice is None else (notice, advance, step),
        hours=tuple(
            (weekday, time.fromisoformat(start), time.fromisoformat(end))
            for weekday, start, end in rows(hours)
        ),
        time_off=tuple(
            (_utc(datetime.fromisoformat(start)), _utc(datetime.fromisoformat(end)))
            for start, end in rows(time_off)
        ),
    )


def _busy_sql(
    *, tenant_id: int, staff_ids: Sequence[int], lo: datetime, hi: datetime
) -> tuple[str, list[Any]]:
    """The blocked ranges of these staff members' appointments that hold time in [lo, hi).

    On PostgreSQL the search goes through the GiST index behind the no-overlap constraint
    (appointments/migrations/0005): it finds the ranges that meet [lo, hi) directly, however
    long the staff member's history. A B-tree on blocked_start can only bound one side, so it
    read every earlier appointment of the staff member. The ids are cast to bigint, the
    columns' type: btree_gist has no cross-type operators, and with an integer literal
    PostgreSQL could not use the index for them at all. The status list is the index's
    predicate, which the planner must see implied."""
    ops = connection.ops
    if connection.vendor == "postgresql":
        ids = ", ".join(["%s::bigint"] * len(staff_ids))
        where = (
            f"tenant_id = %s::bigint AND staff_id IN ({ids})"
            f" AND status IN ({_placeholders(BLOCKING_STATUSES)})"
            " AND tstzrange(blocked_start, blocked_end, '[)') && tstzrange(%s, %s, '[)')"
        )
        bounds = [ops.adapt_datetimefield_value(lo), ops.adapt_datetimefield_value(hi)]
    else:
        where = (
            f"tenant_id = %s AND staff_id IN ({_placeholders(staff_ids)})"
            f" AND status IN ({_placeholders(BLOCKING_STATUSES)})"
            " AND blocked_start < %s AND blocked_end > %s"
        )
        bounds = [ops.adapt_datetimefield_value(hi), ops.adapt_datetimefield_value(lo)]
    sql = f"SELECT staff_id, blocked_start, blocked_end FROM {_APPOINTMENTS} WHERE {where}"  # noqa: S608 - only _meta table names and %s placeholders
    return sql, [tenant_id, *staff_ids, *BLOCKING_STATUSES, *bounds]


def _hours_by_staff(
    cursor: Any,
    tenant: Business,
    service: Service,
    location: Location,
    start_date: date,
    end_date: date,
    staff: StaffMember | None,
) -> dict[int, list[WallHours]]:
    """The hours at `location` of the staff who are active, perform `service` and work there."""
    sql = (
        f"SELECT wh.staff_id, wh.weekday, wh.start_time, wh.end_time FROM {_HOURS} wh"  # noqa: S608 - only _meta table names and %s placeholders
        f" JOIN {_STAFF} s ON s.id = wh.staff_id AND s.tenant_id = wh.tenant_id"
        f" WHERE wh.tenant_id = %s AND wh.location_id = %s AND s.is_active"
        f" AND wh.staff_id IN (SELECT staff_id FROM {_STAFF_SERVICE} WHERE tenant_id = %s AND service_id = %s)"
        f" AND wh.staff_id IN (SELECT staff_id FROM {_STAFF_LOCATION} WHERE tenant_id = %s AND location_id = %s)"
    )
    params: list[Any] = [tenant.pk, location.pk, tenant.pk, service.pk, tenant.pk, location.pk]
    if staff is not None:
        sql += " AND wh.staff_id = %s"
        params.append(staff.pk)
    if (end_date - start_date).days < 6:
        days = (end_date - start_date).days + 1
        weekdays = sorted({(start_date + timedelta(days=i)).weekday() for i in range(days)})
        sql += f" AND wh.weekday IN ({_placeholders(weekdays)})"
        params.extend(weekdays)
    cursor.execute(sql, params)
    hours_by_staff: dict[int, list[WallHours]] = {}
    for staff_id, weekday, start_time, end_time in cursor.fetchall():
        hours_by_staff.setdefault(staff_id, []).append((weekday, start_time, end_time))
    return hours_by_staff


def _load_schedules(
    *,
    tenant: Business,
    service: Service,
    location: Location,
    start_date: date,
    end_date: date,
    staff: StaffMember | None,
    now: datetime,
    exclude_appointment_id: int | None = None,
    booking_window: bool = True,
    inputs: DayInputs | None = None,
) -> _Loaded | None:
    """Everything availability needs for the dates, in at most four queries whatever the range:
    the rules, the working hours of the staff who may take the service there, their time off,
    and the blocked ranges of their appointments that hold time. None: the service or the
    location is inactive (no query then).

    `inputs`: the first three, already read for `staff` on the one day asked (a booking's
    validation statement read them, and checked that `staff` may take the service there);
    then only the blocked ranges are read.
    """
    if inputs is not None and not (
        staff is not None and inputs.staff_id == staff.pk and start_date == end_date == inputs.day
    ):
        raise ValueError("DayInputs are for their own staff member and day.")
    if not (service.tenant_id == location.tenant_id == tenant.pk):
        raise InvalidBookingRequest(_("The service and the location must belong to the business."))
    if staff is not None and staff.tenant_id != tenant.pk:
        raise InvalidBookingRequest(_("The staff member must belong to the business."))
    if not (service.is_active and location.is_active):
        return None
    ops = connection.ops
    with connection.cursor() as cursor:
        if inputs is not None:
            business_rules = inputs.business_rules
        else:
            cursor.execute(
                f"SELECT {', '.join(_RULES_COLUMNS)} FROM {_RULES}"  # noqa: S608 - only _meta table names and %s placeholders
                " WHERE tenant_id = %s ORDER BY id LIMIT 1",
                [tenant.pk],
            )
            row = cursor.fetchone()
            business_rules = tuple(row) if row else None
        rules = slot_rules_for(service=service, business_rules=business_rules)
        earliest, latest = rules.window(now)
        nothing = _Loaded(rules=rules, schedules=[])
        if end_date < start_date:
            return nothing

        hours_by_staff = (
            _hours_by_staff(cursor, tenant, service, location, start_date, end_date, staff)
            if inputs is None
            else {inputs.staff_id: list(inputs.hours)}
            if inputs.hours
            else {}
        )

        tz = zoneinfo.ZoneInfo(location.timezone)
        open_by_staff: dict[int, list[OpenInterval]] = {}
        for staff_id, staff_hours in hours_by_staff.items():
            intervals = working_intervals(
                staff_hours, tz=tz, start_date=start_date, end_date=end_date
            )
            if intervals:
                open_by_staff[staff_id] = intervals
        if not open_by_staff:
            return nothing
        # Only time a slot can occupy matters: it starts inside the window and the open intervals.
        lo = min(intervals[0].start for intervals in open_by_staff.values())
        hi = max(intervals[-1].end for intervals in open_by_staff.values())
        if booking_window:
            lo, hi = max(earliest, lo), min(latest + rules.duration, hi)
        if lo >= hi:
            return nothing
        staff_ids = sorted(open_by_staff)

        time_off_by_staff: dict[int, list[Interval]] = {}
        if inputs is not None:
            # The day's time off, kept as the query below would have chosen it.
            time_off = [(a, b) for a, b in inputs.time_off if a < hi and b > lo]
            if time_off:
                time_off_by_staff[inputs.staff_id] = time_off
        else:
            cursor.execute(
                f"SELECT staff_id, start, {_END} FROM {_TIME_OFF}"  # noqa: S608 - only _meta table names and %s placeholders
                f" WHERE tenant_id = %s AND staff_id IN ({_placeholders(staff_ids)})"
                f" AND start < %s AND {_END} > %s",
                [
                    tenant.pk,
                    *staff_ids,
                    ops.adapt_datetimefield_value(hi),
                    ops.adapt_datetimefield_value(lo),
                ],
            )
            for staff_id, off_start, off_end in cursor.fetchall():
                time_off_by_staff.setdefault(staff_id, []).append((_utc(off_start), _utc(off_end)))

        sql, params = _busy_sql(
            tenant_id=tenant.pk,
            staff_ids=staff_ids,
            lo=lo - rules.buffer_before,
            hi=hi + rules.buffer_after,
        )
        if exclude_appointment_id is not None:
            sql += " AND id <> %s"
            params.append(exclude_appointment_id)
        cursor.execute(sql + " ORDER BY staff_id, blocked_start", params)
        busy_by_staff: dict[int, list[Interval]] = {}
        for staff_id, blocked_start, blocked_end in cursor.fetchall():
            busy_by_staff.setdefault(staff_id, []).append((_utc(blocked_start), _utc(blocked_end)))

    return _Loaded(
        rules=rules,
        schedules=schedules_from(
            staff_ids=staff_ids,
            open_by_staff=open_by_staff,
            time_off_by_staff=time_off_by_staff,
            busy_by_staff=busy_by_staff,
        ),
    )


def availability_for(
    *,
    tenant: Business,
    service: Service,
    location: Location,
    start_date: date,
    end_date: date,
    staff: StaffMember | None = None,
    now: datetime | None = None,
    exclude_appointment_id: int | None = None,
    booking_window: bool = True,
) -> list[Slot]:
    """The bookable slots of `service` at `location` from `start_date` to `end_date` (inclusive,
    dates in the location's time zone), sorted by start, then staff id.

    `staff=None` means any staff member: every (start, staff) pair is returned; collapse with
    `appointments.availability.one_per_start`. `exclude_appointment_id`: the appointment being
    rescheduled, whose own time does not count as taken (it is the time it leaves), exactly as
    `slot_check` judges the move. At most four queries, whatever the range.

    `booking_window=False` is the front desk's view: no minimum notice and no maximum advance
    (it books walk-ins), only the past is closed — a slot that began less than one step ago
    still takes the client standing at the desk.
    """
    now = now or timezone.now()
    loaded = _load_schedules(
        tenant=tenant,
        service=service,
        location=location,
        start_date=start_date,
        end_date=end_date,
        staff=staff,
        now=now,
        exclude_appointment_id=exclude_appointment_id,
        booking_window=booking_window,
    )
    if loaded is None:
        return []
    rules = loaded.rules
    earliest: datetime
    latest: datetime | None
    if booking_window:
        earliest, latest = rules.window(now)
    else:
        earliest, latest = now - rules.step + timedelta(microseconds=1), None
    return compute_slots(
        loaded.schedules,
        duration=rules.duration,
        step=rules.step,
        buffer_before=rules.buffer_before,
        buffer_after=rules.buffer_after,
        earliest=earliest,
        latest=latest,
    )


def _refusals_at(
    *,
    tenant: Business,
    service: Service,
    location: Location,
    start: datetime,
    staff: StaffMember | None,
    now: datetime | None,
    on_grid: bool,
    booking_window: bool,
    exclude_appointment_id: int | None = None,
    inputs: DayInputs | None = None,
) -> dict[int, Refusal | None]:
    """For each staff member who may take `service` at `location`, why `start` is refused
    (None: it is not). Staff with no hours that day are absent. At most four queries."""
    if timezone.is_naive(start):
        raise InvalidBookingRequest(_("The start time needs a time zone."))
    now = now or timezone.now()
    day = local_day(start, location.timezone)
    loaded = _load_schedules(
        tenant=tenant,
        service=service,
        location=location,
        start_date=day,
        end_date=day,
        staff=staff,
        now=now,
        exclude_appointment_id=exclude_appointment_id,
        booking_window=booking_window,
        inputs=inputs,
    )
    if loaded is None:
        return {}  # an inactive service or location has no hours
    rules = loaded.rules
    earliest, latest = rules.window(now) if booking_window else (None, None)
    schedules = list(loaded.schedules)
    if staff is not None and all(s.staff_id != staff.pk for s in schedules):
        # No open time that day (or none inside the window): still judged, so that "too
        # soon" or "too far" is said before "outside working hours".
        schedules.append(StaffSchedule(staff_id=staff.pk, open=()))
    return {
        schedule.staff_id: refusal_for(
            schedule,
            start,
            duration=rules.duration,
            step=rules.step,
            buffer_before=rules.buffer_before,
            buffer_after=rules.buffer_after,
            earliest=earliest,
            latest=latest,
            on_grid=on_grid,
        )
        for schedule in schedules
    }


def slot_refusal(
    *,
    tenant: Business,
    service: Service,
    location: Location,
    staff: StaffMember,
    start: datetime,
    now: datetime | None = None,
    on_grid: bool = True,
    exclude_appointment_id: int | None = None,
    booking_window: bool = True,
    inputs: DayInputs | None = None,
) -> Refusal | None:
    """Why `availability_for` would not offer `start` with `staff`; None when it would.

    `on_grid=False` also accepts starts between the offered times; `exclude_appointment_id`
    ignores that appointment's own time (a reschedule); `booking_window=False` ignores the
    minimum notice and maximum advance (the front desk booking a walk-in). At most four queries;
    one with `inputs` (`day_inputs_sql`, read for `staff` on `start`'s local day).
    """
    refusals = _refusals_at(
        tenant=tenant,
        service=service,
        location=location,
        start=start,
        staff=staff,
        now=now,
        on_grid=on_grid,
        booking_window=booking_window,
        exclude_appointment_id=exclude_appointment_id,
        inputs=inputs,
    )
    return refusals.get(staff.pk, Refusal.OUTSIDE_HOURS)


def slot_check(
    *,
    tenant: Business,
    service: Service,
    location: Location,
    staff: StaffMember,
    start: datetime,
    now: datetime | None = None,
    on_grid: bool = True,
    exclude_appointment_id: int | None = None,
    booking_window: bool = True,
    inputs: DayInputs | None = None,
) -> None:
    """Raise the SchedulingError that says why `start` is not bookable; return if it is."""
    refusal = slot_refusal(
        tenant=tenant,
        service=service,
        location=location,
        staff=staff,
        start=start,
        now=now,
        on_grid=on_grid,
        exclude_appointment_id=exclude_appointment_id,
        booking_window=booking_window,
        inputs=inputs,
    )
    if refusal is None:
        return
    if refusal in (Refusal.TOO_SOON, Refusal.TOO_FAR):
        raise OutsideBookingWindow
    if refusal is Refusal.TAKEN:
        raise SlotTaken
    if refusal is Refusal.OFF_GRID:
        raise OffGrid
    raise OutsideHours


def staff_free_at(
    *,
    tenant: Business,
    service: Service,
    location: Location,
    start: datetime,
    now: datetime | None = None,
    on_grid: bool = True,
    booking_window: bool = True,
) -> list[int]:
    """Ids of the staff members who could take `service` at `start`, lowest id first.

    The same rules as `slot_refusal`, for every eligible staff member at once (four queries).
    """
    refusals = _refusals_at(
        tenant=tenant,
        service=service,
        location=location,
        start=start,
        staff=None,
        now=now,
        on_grid=on_grid,
        booking_window=booking_window,
    )
    return sorted(staff_id for staff_id, refusal in refusals.items() if refusal is None)
