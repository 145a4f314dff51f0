import zoneinfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from appointments.models import AppointmentStatus
from appointments.selectors import agenda_for_day


@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """Today's agenda, per staff member, in the business's time zone."""
    tenant = request.tenant  # type: ignore[attr-defined]
    if tenant is None:
        return render(request, "dashboard/no_business.html", status=403)
    tz = zoneinfo.ZoneInfo(tenant.timezone)
    today = timezone.now().astimezone(tz).date()
    columns = agenda_for_day(tenant=tenant, day=today)
    appointments = [a for column in columns for a in column.appointments]
    counts = {
        "booked": sum(1 for a in appointments if a.status != AppointmentStatus.CANCELLED),
        "unconfirmed": sum(1 for a in appointments if a.status == AppointmentStatus.SCHEDULED),
        "cancelled": sum(1 for a in appointments if a.status == AppointmentStatus.CANCELLED),
    }
    with timezone.override(tz):
        return render(
            request,
            "dashboard/home.html",
            {"columns": columns, "today": today, "counts": counts, "tz_name": tenant.timezone},
        )
