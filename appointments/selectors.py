"""Reads on appointments that need more than one line."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from appointments.models import Appointment, StaffMember
from tenants.models import Business


@dataclass(frozen=True)
class StaffDay:
    staff: StaffMember
    appointments: list[Appointment]


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
