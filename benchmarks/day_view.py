"""day_view: the receptionist's day view (GET /dashboard/) for a business with 50 staff members
and 1,000 appointments that day, through the whole request stack (session, tenant, language,
template), as a logged-in receptionist.

The business is the benchmark's own (not the shared seed's): created on the first run, kept;
its day's appointments are written again at each run for the run's "today" (one bulk insert),
so that the board shows the current time and every kind of block: not confirmed, confirmed,
waiting, in service, attended, no-show, cancelled.
"""

from __future__ import annotations

import time
import zoneinfo
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from appointments.models import (
    Appointment,
    AppointmentStatus,
    Service,
    Source,
    StaffLocation,
    StaffMember,
    StaffService,
    WorkingHours,
)
from benchmarks.report import summary
from clients.models import Client
from tenants.models import Business, Location, Membership, Role, User

TARGET_MEDIAN_MS = 150
TARGET_QUERIES = 12

SLUG = "bench-day-view-v1"
TIMEZONE = "Europe/Madrid"
STAFF_COUNT = 50
PER_STAFF = 20  # 1,000 appointments
CLIENT_COUNT = 500
RECEPTIONIST_EMAIL = "reception@day-view.bench.puntual.test"
STATUSES = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ATTENDED,
    AppointmentStatus.NO_SHOW,
    AppointmentStatus.CANCELLED,
)


def _business() -> tuple[Business, Location, Service, list[StaffMember], list[Client]]:
    """The benchmark's business, created once: 50 staff working 08:00-20:00 every day."""
    with scopes_disabled():
        business = Business.objects.filter(slug=SLUG).first()
    if business is None:
        with transaction.atomic():
            business = Business.objects.create(
                name="Day view bench", slug=SLUG, timezone=TIMEZONE, language="en"
            )
            with scope(tenant=business):
                location = Location.objects.create(
                    tenant=business, name="Centro", timezone=TIMEZONE
                )
                service = Service.objects.create(
                    tenant=business, name="Consulta", duration_minutes=15, price=Decimal("40")
                )
                staff = StaffMember.objects.bulk_create(
                    StaffMember(tenant=business, display_name=f"Profesional {i:02d}")
                    for i in range(STAFF_COUNT)
                )
                StaffLocation.objects.bulk_create(
                    StaffLocation(tenant=business, staff=s, location=location) for s in staff
                )
                StaffService.objects.bulk_create(
                    StaffService(tenant=business, staff=s, service=service) for s in staff
                )
                WorkingHours.objects.bulk_create(
                    WorkingHours(
                        tenant=business,
                        staff=s,
                        location=location,
                        weekday=day,
                        start_time=clock(8),
                        end_time=clock(20),
                    )
                    for s in staff
                    for day in range(7)
                )
                Client.objects.bulk_create(
                    Client(tenant=business, name=f"Cliente {i:03d}", phone=f"+3460010{i:04d}")
                    for i in range(CLIENT_COUNT)
                )
                user = User.objects.filter(email=RECEPTIONIST_EMAIL).first()
                if user is None:
                    user = User.objects.create_user(email=RECEPTIONIST_EMAIL, password=None)
                Membership.objects.create(tenant=business, user=user, role=Role.RECEPTIONIST)
    with scope(tenant=business):
        location = Location.objects.get(tenant=business)
        service = Service.objects.get(tenant=business)
        staff = list(StaffMember.objects.filter(tenant=business).order_by("pk"))
        clients = list(Client.objects.filter(tenant=business).order_by("pk"))
    return business, location, service, staff, clients


def _fill_today(
    business: Business,
    location: Location,
    service: Service,
    staff: list[StaffMember],
    clients: list[Client],
) -> int:
    """Today's 1,000 appointments, written again (a 15-minute visit every 25 minutes from 09:00)."""
    zone = zoneinfo.ZoneInfo(TIMEZONE)
    today = timezone.now().astimezone(zone).date()
    nine = datetime.combine(today, clock(9), tzinfo=zone)
    rows = []
    for s, member in enumerate(staff):
        for i in range(PER_STAFF):
            start = nine + timedelta(minutes=25 * i)
            end = start + timedelta(minutes=15)
            rows.append(
                Appointment(
                    tenant=business,
                    location=location,
                    staff=member,
                    service=service,
                    client=clients[(s * PER_STAFF + i) % len(clients)],
                    start=start,
                    end=end,
                    blocked_start=start,
                    blocked_end=end,
                    status=STATUSES[i % len(STATUSES)],
                    source=Source.DASHBOARD,
                    price=service.price,
                    arrived_at=start if i % 7 == 1 else None,
                    started_at=start if i % 14 == 1 else None,
                )
            )
    with transaction.atomic(), scope(tenant=business):
        Appointment.objects.filter(tenant=business).delete()
        Appointment.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Appointment._meta.db_table}")
    return len(rows)


def day_view(*, n: int, warmup: int) -> dict[str, Any]:
    business, location, service, staff, clients = _business()
    appointments = _fill_today(business, location, service, staff, clients)
    with scopes_disabled():
        user = User.objects.get(email=RECEPTIONIST_EMAIL)
    http = HttpClient(HTTP_HOST="127.0.0.1")
    http.force_login(user)

    def get(path: str) -> tuple[int, bytes]:
        response = http.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}.")
        return response.status_code, response.content

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            get(path)
        return len(captured.captured_queries)

    for _ in range(warmup):
        get("/dashboard/")
    durations: list[float] = []
    content = b""
    for _ in range(n):
        started = time.perf_counter()
        _status, content = get("/dashboard/")
        durations.append(time.perf_counter() - started)
    queries_all = queries("/dashboard/")
    queries_one = queries(f"/dashboard/?staff={staff[0].pk}")
    result: dict[str, Any] = {"name": "day_view", **summary(durations)}
    result.update(
        queries=queries_all,
        queries_one_staff=queries_one,
        staff=len(staff),
        appointments=appointments,
        blocks=content.count(b'class="slot"'),
        page_kb=round(len(content) / 1024),
        target_median_ms=TARGET_MEDIAN_MS,
        target_queries=TARGET_QUERIES,
    )
    result["ok"] = (
        result["median_ms"] is not None
        and result["median_ms"] <= TARGET_MEDIAN_MS
        and queries_all <= TARGET_QUERIES
        and queries_all == queries_one
        and result["blocks"] == appointments
    )
    return result
