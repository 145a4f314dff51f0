"""Writes on what a business offers: staff with their services and locations, and their hours."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from appointments.models import StaffLocation, StaffMember, StaffService, WorkingHours
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
