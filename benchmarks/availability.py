"""availability_30d_one_staff and availability_7d_any_staff: `availability_for` on the seed."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from appointments.models import Service, StaffMember
from appointments.selectors import availability_for
from benchmarks.report import summary
from benchmarks.seed import AVAILABILITY_SERVICE, Seed

TARGET_ONE_STAFF_MS = 20
TARGET_QUERIES = 5
TARGET_ANY_STAFF_MS = 60


def _measure(call: Any, *, n: int, warmup: int) -> tuple[list[float], int]:
    for _ in range(warmup):
        call()
    durations: list[float] = []
    slots = 0
    for _ in range(n):
        started = time.perf_counter()
        slots = len(call())
        durations.append(time.perf_counter() - started)
    return durations, slots


def _queries(call: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def availability_30d_one_staff(seed: Seed, *, n: int, warmup: int) -> dict[str, Any]:
    with scope(tenant=seed.business):
        service = Service.objects.get(pk=seed.service_ids[AVAILABILITY_SERVICE])
        staff = StaffMember.objects.get(pk=seed.staff_ids[0])

        def days(count: int) -> Any:
            return lambda: availability_for(
                tenant=seed.business,
                service=service,
                location=seed.location,
                staff=staff,
                start_date=seed.anchor,
                end_date=seed.anchor + timedelta(days=count - 1),
                now=seed.now,
            )

        queries_30d, queries_1d = _queries(days(30)), _queries(days(1))
        durations, slots = _measure(days(30), n=n, warmup=warmup)
    result = {"name": "availability_30d_one_staff", **summary(durations)}
    result.update(
        queries=queries_30d,
        queries_1d=queries_1d,
        slots=slots,
        target_median_ms=TARGET_ONE_STAFF_MS,
        target_queries=TARGET_QUERIES,
    )
    result["ok"] = (
        result["median_ms"] <= TARGET_ONE_STAFF_MS
        and queries_30d <= TARGET_QUERIES
        and queries_30d == queries_1d
    )
    return result


def availability_7d_any_staff(seed: Seed, *, n: int, warmup: int) -> dict[str, Any]:
    with scope(tenant=seed.business):
        service = Service.objects.get(pk=seed.service_ids[AVAILABILITY_SERVICE])

        def call() -> Any:
            return availability_for(
                tenant=seed.business,
                service=service,
                location=seed.location,
                staff=None,
                start_date=seed.anchor,
                end_date=seed.anchor + timedelta(days=6),
                now=seed.now,
            )

        queries = _queries(call)
        durations, slots = _measure(call, n=n, warmup=warmup)
    result = {"name": "availability_7d_any_staff", **summary(durations)}
    result.update(queries=queries, slots=slots, target_median_ms=TARGET_ANY_STAFF_MS)
    result["ok"] = result["median_ms"] <= TARGET_ANY_STAFF_MS
    return result
