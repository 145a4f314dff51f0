"""Writes on what a business offers: services, staff with their services and locations, their
hours and time off, and the business's booking rules."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from appointments.models import (
    BookingRules,
    Service,
    ServiceMode,
    StaffLocation,
    StaffMember,
    StaffService,
    TimeOff,
    WorkingHours,
)
from tenants.models import Business, Location


def _set_links(
    *, staff: StaffMember, services: Iterable[Any] | None, locations: Iterable[Location] | None
) -> None:
    tenant_id = staff.tenant_id
    if services is not None:
        wanted = {s.pk for s in services}
        StaffService.objects.filter(tenant_id=tenant_id, staff=staff).exclude(
            service_id__in=wanted
        ).delete()
        have = set(
            StaffService.objects.filter(tenant_id=tenant_id, staff=staff).values_list(
                "service_id", flat=True
            )
        )
        StaffService.objects.bulk_create(
            StaffService(tenant_id=tenant_id, staff=staff, service_id=pk) for pk in wanted - have
        )
    if locations is not None:
        wanted = {loc.pk for loc in locations}
        StaffLocation.objects.filter(tenant_id=tenant_id, staff=staff).exclude(
            location_id__in=wanted
        ).delete()
        have = set(
            StaffLocation.objects.filter(tenant_id=tenant_id, staff=staff).values_list(
                "location_id", flat=True
            )
        )
        StaffLocation.objects.bulk_create(
            StaffLocation(tenant_id=tenant_id, staff=staff, location_id=pk) for pk in wanted - have
        )


@transaction.atomic
def staff_create(
    *,
    tenant: Business,
    display_name: str,
    services: Iterable[Any] = (),
    locations: Iterable[Location] = (),
    **fields: Any,
) -> StaffMember:
    staff = StaffMember(tenant=tenant, display_name=display_name, **fields)
    staff.full_clean()
    staff.save()
    _set_links(staff=staff, services=services, locations=locations)
    return staff


@transaction.atomic
def staff_update(
    *,
    staff: StaffMember,
    services: Iterable[Any] | None = None,
    locations: Iterable[Location] | None = None,
    **fields: Any,
) -> StaffMember:
    for name, value in fields.items():
        setattr(staff, name, value)
    staff.full_clean()
    staff.save()
    _set_links(staff=staff, services=services, locations=locations)
    return staff


def working_hours_validate(hours: WorkingHours) -> None:
    """Hours must be at a location the staff member works at, and not overlap their other hours."""
    if hours.start_time >= hours.end_time:
        raise ValidationError({"end_time": [_("The end must be after the start.")]})
    if not StaffLocation.objects.filter(
        tenant_id=hours.tenant_id, staff_id=hours.staff_id, location_id=hours.location_id
    ).exists():
        raise ValidationError(
            {"location": [_("This staff member does not work at this location.")]}
        )
    clash = WorkingHours.objects.filter(
        tenant_id=hours.tenant_id,
        staff_id=hours.staff_id,
        weekday=hours.weekday,
        start_time__lt=hours.end_time,
        end_time__gt=hours.start_time,
    ).exclude(pk=hours.pk)
    if clash.exists():
        raise ValidationError(
            {"start_time": [_("These hours overlap other hours of the same day.")]}
        )


# --- Services (what is offered) ----------------------------------------------------------

SERVICE_FIELDS = (
    "name",
    "description",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "price",
    "mode",
    "meeting_link_template",
    "color",
    "is_active",
    "min_notice_minutes",
    "max_advance_days",
    "slot_step_minutes",
)


def _check_service(service: Service) -> None:
    errors: dict[str, list[str]] = {}
    try:
        service.full_clean(exclude=["tenant"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    clash = Service.objects.filter(tenant_id=service.tenant_id, name=service.name)
    if service.pk is not None:
        clash = clash.exclude(pk=service.pk)
    if service.name and clash.exists():
        errors.setdefault("name", []).append(_("This name is already used in this business."))
    if service.mode == ServiceMode.ONLINE and not service.meeting_link_template.strip():
        errors.setdefault("meeting_link_template", []).append(
            _("An online service needs the link clients join.")
        )
    if errors:
        raise ValidationError(errors)


def _set_performers(*, service: Service, staff: Iterable[StaffMember]) -> None:
    tenant_id = service.tenant_id
    wanted = {member.pk for member in staff}
    links = StaffService.objects.filter(tenant_id=tenant_id, service=service)
    links.exclude(staff_id__in=wanted).delete()
    have = set(links.values_list("staff_id", flat=True))
    StaffService.objects.bulk_create(
        StaffService(tenant_id=tenant_id, staff_id=pk, service=service) for pk in wanted - have
    )


@transaction.atomic
def service_create(
    *, tenant: Business, staff: Iterable[StaffMember] = (), **fields: Any
) -> Service:
    """A new service, performed by `staff`. ValidationError (field errors) on bad input."""
    unknown = set(fields) - set(SERVICE_FIELDS)
    if unknown:
        raise TypeError(f"Not a service field: {', '.join(sorted(unknown))}")
    service = Service(tenant=tenant, **fields)
    _check_service(service)
    service.save()
    _set_performers(service=service, staff=staff)
    return service


@transaction.atomic
def service_update(
    *, service: Service, staff: Iterable[StaffMember] | None = None, **fields: Any
) -> Service:
    """Change a service. Appointments already booked keep their time, buffers and price."""
    unknown = set(fields) - set(SERVICE_FIELDS)
    if unknown:
        raise TypeError(f"Not a service field: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(service, name, value)
    _check_service(service)
    service.save()
    if staff is not None:
        _set_performers(service=service, staff=staff)
    return service


# --- Booking rules -----------------------------------------------------------------------

BOOKING_RULES_FIELDS = ("min_notice_minutes", "max_advance_days", "slot_step_minutes")


@transaction.atomic
def booking_rules_update(*, tenant: Business, **fields: Any) -> BookingRules:
    """Set the business's booking rules (created with the defaults the first time)."""
    unknown = set(fields) - set(BOOKING_RULES_FIELDS)
    if unknown:
        raise TypeError(f"Not a booking rule: {', '.join(sorted(unknown))}")
    rules, _created = BookingRules.objects.select_for_update().get_or_create(tenant=tenant)
    for name, value in fields.items():
        setattr(rules, name, value)
    rules.full_clean(exclude=["tenant"], validate_constraints=False)
    rules.save()
    return rules


# --- Weekly hours and time off -----------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """One weekly interval of a staff member's hours, as an admin writes it."""

    weekday: int
    location: Location
    start_time: time
    end_time: time


@transaction.atomic
def working_hours_set(*, staff: StaffMember, intervals: Sequence[Interval]) -> list[WorkingHours]:
    """Replace the staff member's whole week with `intervals` (several per day make breaks).

    Every interval is checked as `working_hours_validate` checks one, against the others of
    the new week. ValidationError names each problem "<index>.<field>" (the interval's
    position in `intervals`); nothing is written then. Booked appointments are never moved by a change of hours.
    """
    StaffMember.objects.select_for_update().filter(pk=staff.pk, tenant_id=staff.tenant_id).get()
    errors: dict[str, list[str]] = {}
    linked = set(
        StaffLocation.objects.filter(tenant_id=staff.tenant_id, staff=staff).values_list(
            "location_id", flat=True
        )
    )
    for index, interval in enumerate(intervals):
        found: dict[str, str] = {}
        if interval.location.tenant_id != staff.tenant_id or interval.location.pk not in linked:
            found["location"] = _("This staff member does not work at this location.")
        if interval.start_time >= interval.end_time:
            found["end_time"] = _("The end must be after the start.")
        elif any(
            other.weekday == interval.weekday
            and other.start_time < interval.end_time
            and other.end_time > interval.start_time
            for position, other in enumerate(intervals)
            if position != index and other.start_time < other.end_time
        ):
            found["start_time"] = _("These hours overlap other hours of the same day.")
        for field, message in found.items():
            errors[f"{index}.{field}"] = [message]
    if errors:
        raise ValidationError(errors)
    WorkingHours.objects.filter(tenant_id=staff.tenant_id, staff=staff).delete()
    return WorkingHours.objects.bulk_create(
        WorkingHours(
            tenant_id=staff.tenant_id,
            staff=staff,
            location=interval.location,
            weekday=interval.weekday,
            start_time=interval.start_time,
            end_time=interval.end_time,
        )
        for interval in sorted(intervals, key=lambda i: (i.weekday, i.start_time))
    )


def time_off_create(
    *, staff: StaffMember, start: datetime, end: datetime, reason: str = ""
) -> TimeOff:
    """Block a period of the staff member's time (aware datetimes). Appointments already booked
    in it stay: the front desk moves them."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("time_off_create needs aware datetimes.")
    if start >= end:
        raise ValidationError({"end": [_("The end must be after the start.")]})
    time_off = TimeOff(tenant_id=staff.tenant_id, staff=staff, start=start, end=end, reason=reason)
    time_off.full_clean(exclude=["tenant", "staff"], validate_constraints=False)
    time_off.save()
    return time_off


def time_off_delete(*, time_off: TimeOff) -> None:
    TimeOff.objects.filter(pk=time_off.pk, tenant_id=time_off.tenant_id).delete()
