"""Available minutes: staff working hours (local wall time of the location) minus time off.

Two queries whatever the range: the weekly hours, and the time off that overlaps the range.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from appointments.models import TimeOff, WorkingHours
from tenants.models import Business

Key = tuple[date, int, int]  # (local day, staff id, location id)


def _overlap_seconds(
    start: datetime, end: datetime, busy: list[tuple[datetime, datetime]]
) -> float:
    """Seconds of [start, end) covered by the union of `busy` (sorted by start)."""
    covered = 0.0
    cursor = start
    for off_start, off_end in busy:
        if off_end <= cursor:
            continue
        if off_start >= end:
            break
        lo = max(cursor, off_start)
        hi = min(end, off_end)
        if hi > lo:
            covered += (hi - lo).total_seconds()
            cursor = hi
    return covered


def available_minutes(
    *,
    tenant: Business,
    first_day: date,
    last_day: date,
    location_id: int | None = None,
    staff_id: int | None = None,
) -> dict[Key, float]:
    """Minutes each active staff member could be booked on each day, by location."""
    hours = WorkingHours.objects.filter(
        tenant=tenant, staff__is_active=True, location__is_active=True
    ).select_related("location")
    if location_id is not None:
        hours = hours.filter(location_id=location_id)
    if staff_id is not None:
        hours = hours.filter(staff_id=staff_id)
    by_weekday: dict[int, list[WorkingHours]] = defaultdict(list)
    for row in hours:
        by_weekday[row.weekday].append(row)
    # Local days can be a day off UTC either way: read a day of margin.
    margin = timedelta(days=1)
    range_start = datetime.combine(first_day - margin, datetime.min.time(), tzinfo=UTC)
    range_end = datetime.combine(last_day + margin * 2, datetime.min.time(), tzinfo=UTC)
    off = TimeOff.objects.filter(tenant=tenant, start__lt=range_end, end__gt=range_start)
    if staff_id is not None:
        off = off.filter(staff_id=staff_id)
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for item in off.order_by("start").only("staff_id", "start", "end"):
        busy[item.staff_id].append((item.start, item.end))
    zones: dict[str, zoneinfo.ZoneInfo] = {}
    result: dict[Key, float] = defaultdict(float)
    day = first_day
    while day <= last_day:
        for row in by_weekday.get(day.weekday(), ()):
            zone = zones.setdefault(row.location.timezone, zoneinfo.ZoneInfo(row.location.timezone))
            # In UTC: a difference of two datetimes in one zone ignores a DST change between.
            start = datetime.combine(day, row.start_time, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, row.end_time, tzinfo=zone).astimezone(UTC)
            seconds = (end - start).total_seconds() - _overlap_seconds(
                start, end, busy.get(row.staff_id, [])
            )
            result[(day, row.staff_id, row.location_id)] += seconds / 60
        day += timedelta(days=1)
    return dict(result)
