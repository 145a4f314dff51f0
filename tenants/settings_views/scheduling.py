"""What the business offers: services, and staff with their weekly hours and time off."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.models import Service, StaffMember, TimeOff, WorkingHours
from appointments.services.setup import (
    Interval,
    service_create,
    service_update,
    staff_create,
    staff_update,
    time_off_create,
    time_off_delete,
    working_hours_set,
)
from tenants.forms.base import add_service_errors
from tenants.forms.scheduling import HoursFormSet, ServiceForm, StaffForm, TimeOffForm
from tenants.settings_views.common import (
    admin_only,
    owned,
    posted,
    render_settings,
    tenant_of,
)

# --- Services ----------------------------------------------------------------------------


@admin_only
def service_list(request: HttpRequest) -> HttpResponse:
    services = (
        Service.objects.filter(tenant=tenant_of(request))
        .annotate(performers=Count("staff", filter=Q(staff__is_active=True)))
        .order_by("-is_active", "name")
    )
    return render_settings(
        request, "settings/services.html", {"services": services}, section="services"
    )


def _service_page(
    request: HttpRequest, service: Service | None, initial: dict[str, Any]
) -> HttpResponse:
    tenant = tenant_of(request)
    form = ServiceForm(posted(request), initial=initial, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            if service is None:
                service_create(tenant=tenant, **form.cleaned_data)
                messages.success(request, _("The service is added."))
            else:
                service_update(service=service, **form.cleaned_data)
                messages.success(request, _("The service is saved."))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("settings:services")
    return render_settings(
        request,
        "settings/service_form.html",
        {"form": form, "service": service},
        section="services",
        status=400 if form.errors else 200,
    )


@admin_only
def service_new(request: HttpRequest) -> HttpResponse:
    return _service_page(request, None, {"duration_minutes": 30, "is_active": True})


@admin_only
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    service = owned(request, Service, pk)
    initial = model_to_dict(service, fields=ServiceForm.model_fields)
    initial["staff"] = list(service.staff.values_list("pk", flat=True))
    return _service_page(request, service, initial)


# --- Staff -------------------------------------------------------------------------------


@admin_only
def staff_list(request: HttpRequest) -> HttpResponse:
    staff = (
        StaffMember.objects.filter(tenant=tenant_of(request))
        .prefetch_related("services", "locations")
        .order_by("-is_active", "display_name")
    )
    return render_settings(request, "settings/staff.html", {"staff": staff}, section="staff")


@admin_only
def staff_new(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    form = StaffForm(posted(request), initial={"is_active": True}, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            staff = staff_create(tenant=tenant, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The staff member is added. Now set their hours."))
            return redirect("settings:staff_edit", pk=staff.pk)
    return render_settings(
        request,
        "settings/staff_new.html",
        {"form": form},
        section="staff",
        status=400 if form.errors else 200,
    )


def _staff_zone(staff: StaffMember) -> zoneinfo.ZoneInfo:
    """Where the staff member's time off is written: their first location's zone."""
    location = staff.locations.order_by("pk").first()
    return zoneinfo.ZoneInfo(location.timezone if location else staff.tenant.timezone)


def _hours_initial(staff: StaffMember) -> list[dict[str, Any]]:
    return [
        {
            "weekday": hours.weekday,
            "location": hours.location_id,
            "start_time": hours.start_time,
            "end_time": hours.end_time,
        }
        for hours in WorkingHours.objects.filter(tenant_id=staff.tenant_id, staff=staff).order_by(
            "weekday", "start_time"
        )
    ]


def _staff_page(
    request: HttpRequest,
    staff: StaffMember,
    *,
    form: StaffForm | None = None,
    hours: Any = None,
    time_off_form: TimeOffForm | None = None,
) -> HttpResponse:
    tenant = tenant_of(request)
    zone = _staff_zone(staff)
    if form is None:
        initial = model_to_dict(staff, fields=[*StaffForm.model_fields, "user"])
        initial["services"] = list(staff.services.values_list("pk", flat=True))
        initial["locations"] = list(staff.locations.values_list("pk", flat=True))
        form = StaffForm(initial=initial, tenant=tenant)
    if hours is None:
        hours = HoursFormSet(initial=_hours_initial(staff), prefix="hours", tenant=tenant)
    time_off = TimeOff.objects.filter(tenant=tenant, staff=staff, end__gt=timezone.now()).order_by(
        "start"
    )
    failed = bool(
        form.errors or hours.total_error_count() or (time_off_form and time_off_form.errors)
    )
    with timezone.override(zone):
        return render_settings(
            request,
            "settings/staff_edit.html",
            {
                "staff": staff,
                "form": form,
                "hours": hours,
                "time_off": time_off,
                "time_off_form": time_off_form or TimeOffForm(prefix="off"),
                "zone": zone.key,
            },
            section="staff",
            status=400 if failed else 200,
        )


@admin_only
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    staff = owned(request, StaffMember, pk)
    if request.method != "POST":
        return _staff_page(request, staff)
    form = StaffForm(request.POST, tenant=tenant_of(request), staff=staff)
    if form.is_valid():
        try:
            staff_update(staff=staff, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(name)s is saved.") % {"name": staff.display_name})
            return redirect("settings:staff_edit", pk=staff.pk)
    staff.refresh_from_db()
    return _staff_page(request, staff, form=form)


@admin_only
@require_POST
def staff_hours(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace the staff member's week with the rows posted (blank and removed rows dropped)."""
    staff = owned(request, StaffMember, pk)
    hours = HoursFormSet(request.POST, prefix="hours", tenant=tenant_of(request))
    if hours.is_valid():
        rows = [row for row in hours.forms if not row.is_blank()]
        intervals = [
            Interval(
                weekday=row.cleaned_data["weekday"],
                location=row.cleaned_data["location"],
                start_time=row.cleaned_data["start_time"],
                end_time=row.cleaned_data["end_time"],
            )
            for row in rows
        ]
        try:
            working_hours_set(staff=staff, intervals=intervals)
        except ValidationError as exc:
            for key, messages_ in exc.message_dict.items():
                index, field = key.split(".", 1)
                rows[int(index)].add_error(field, messages_)
        else:
            messages.success(request, _("The weekly hours are saved."))
            return redirect("settings:staff_edit", pk=staff.pk)
    return _staff_page(request, staff, hours=hours)


@admin_only
@require_POST
def staff_time_off(request: HttpRequest, pk: int) -> HttpResponse:
    staff = owned(request, StaffMember, pk)
    form = TimeOffForm(request.POST, prefix="off")
    # The times are written in the staff member's zone (the form reads them in the current one).
    with timezone.override(_staff_zone(staff)):
        valid = form.is_valid()
    if valid:
        try:
            time_off_create(staff=staff, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The time off is added."))
            return redirect("settings:staff_edit", pk=staff.pk)
    return _staff_page(request, staff, time_off_form=form)


@admin_only
@require_POST
def time_off_remove(request: HttpRequest, pk: int) -> HttpResponse:
    time_off = owned(request, TimeOff, pk)
    time_off_delete(time_off=time_off)
    messages.success(request, _("The time off is removed."))
    return redirect("settings:staff_edit", pk=time_off.staff_id)
