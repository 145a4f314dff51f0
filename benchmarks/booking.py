"""booking_service: `appointment_book` under the API's rules, one committed booking per call."""

from __future__ import annotations

import itertools
import time
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appointments.models import Service, Source, StaffMember
from appointments.services import Actor, appointment_book
from benchmarks.report import summary
from benchmarks.seed import BOOKING_SERVICE, SERVICE_BOOKING_DAYS, Seed, delete_bench_bookings
from clients.models import Client

TARGET_MEDIAN_MS = 5


def booking_service(seed: Seed, *, n: int, warmup: int) -> dict[str, Any]:
    """Book `n` distinct free times (after `warmup` others), each in its own transaction with
    its commit, through the same function and rules as the API; all deleted at the end."""
    try:
        with scope(tenant=seed.business):
            service = Service.objects.get(pk=seed.service_ids[BOOKING_SERVICE])
            staff = list(StaffMember.objects.filter(pk__in=seed.staff_ids).order_by("pk"))
            clients = list(Client.objects.filter(pk__in=seed.client_ids[: n + warmup + 1]))
            actor = Actor.api_key("benchmark")
            # One start after the other across staff members: every booking is free.
            slots = (
                (member, start)
                for start in seed.starts(SERVICE_BOOKING_DAYS, 15, service.duration_minutes)
                for member in staff
            )
            jobs = list(
                zip(itertools.islice(slots, n + warmup + 1), itertools.cycle(clients), strict=False)
            )
            if len(jobs) < n + warmup + 1:
                raise RuntimeError("Not enough free times for booking_service.")

            def book(job: tuple[tuple[StaffMember, Any], Client]) -> None:
                (member, start), client = job
                appointment_book(
                    tenant=seed.business,
                    location=seed.location,
                    staff=member,
                    service=service,
                    client=client,
                    start=start,
                    source=Source.API,
                    actor=actor,
                )

            with CaptureQueriesContext(connection) as captured:
                book(jobs[0])
            queries = len(captured.captured_queries)
            errors = 0
            first_error = ""
            durations: list[float] = []
            for index, job in enumerate(jobs[1:]):
                started = time.perf_counter()
                try:
                    book(job)
                except Exception as exc:  # counted and shown: every booking here must succeed
                    errors += 1
                    first_error = first_error or f"{type(exc).__name__}: {exc}"
                    continue
                if index >= warmup:
                    durations.append(time.perf_counter() - started)
    finally:
        delete_bench_bookings(seed)
    result = {"name": "booking_service", **summary(durations)}
    result.update(errors=errors, queries=queries, target_median_ms=TARGET_MEDIAN_MS)
    if first_error:
        result["first_error"] = first_error
    result["ok"] = (
        errors == 0 and result["median_ms"] is not None and result["median_ms"] <= TARGET_MEDIAN_MS
    )
    return result
