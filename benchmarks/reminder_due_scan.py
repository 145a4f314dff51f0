"""reminder_due_scan: one dispatcher tick over a large outbox, as the worker runs it every minute.

The outbox holds 1,000,000 future pending rows and 1,000 due ones. A tick is the real task
`dispatch_due_messages`, run in this process: settle crashed rows, claim what is due (pending
-> queued) and publish its send tasks to the benchmark's Redis. Between ticks the 1,000 rows go
back to pending and the queue is emptied (no worker runs here). The EXPLAIN (ANALYZE) of the
due query is recorded: it must read `outbound_due_idx`, stopping at the first future row.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from benchmarks import broker
from benchmarks.outbox import DueRows, create_due_rows, delete_due_rows, ensure_future_rows
from benchmarks.report import summary
from benchmarks.seed import Seed
from reminders.services.dispatch import messages_due
from reminders.tasks import dispatch_due_messages

log = logging.getLogger("benchmarks")

DUE_PREFIX = "bench-due:"
DUE_ROWS = 1_000
TARGET_MEDIAN_MS = 100
DUE_INDEX = "outbound_due_idx"


def _reset(rows: DueRows) -> None:
    """The due rows back to pending, their published tasks gone."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE reminders_outboundmessage SET status = 'pending', claimed_at = NULL
            WHERE id BETWEEN %s AND %s AND dedupe_key LIKE %s
            """,
            [rows.first_id, rows.last_id, rows.prefix + "%"],
        )
    broker.purge()


def explain_due_query() -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the tick's due query, rolled back (it locks the rows)."""
    with scopes_disabled(), transaction.atomic():
        plan = messages_due(now=timezone.now()).explain(analyze=True, buffers=True)
        transaction.set_rollback(True)
    return plan


def _tick() -> tuple[int, float]:
    started = time.perf_counter()
    claimed = dispatch_due_messages()
    return claimed, time.perf_counter() - started


def reminder_due_scan(seed: Seed, *, n: int, warmup: int) -> dict[str, Any]:
    future = ensure_future_rows(seed)
    broker.purge()
    rows = create_due_rows(seed, prefix=DUE_PREFIX, count=DUE_ROWS, now=timezone.now())
    try:
        for _ in range(warmup):
            _reset(rows)
            _tick()
        _reset(rows)
        plan = explain_due_query()
        log.info("reminder_due_scan: the due query's plan:\n%s", plan)
        with CaptureQueriesContext(connection) as captured:
            claimed, _seconds = _tick()
        queries = len(captured.captured_queries)
        published = broker.queued()
        durations: list[float] = []
        short = 0
        for _ in range(n):
            _reset(rows)
            claimed, seconds = _tick()
            durations.append(seconds)
            short += claimed != DUE_ROWS
    finally:
        broker.purge()
        delete_due_rows(seed, rows)
    result: dict[str, Any] = {"name": "reminder_due_scan", **summary(durations)}
    uses_index = DUE_INDEX in plan
    result.update(
        queries=queries,
        due=DUE_ROWS,
        future_pending=future,
        claimed=claimed,
        ticks_short_of_due=short,
        tasks_published=published,
        uses_due_index=uses_index,
        explain=plan,
        target_median_ms=TARGET_MEDIAN_MS,
    )
    result["ok"] = (
        result["median_ms"] is not None
        and result["median_ms"] < TARGET_MEDIAN_MS
        and uses_index
        and short == 0
    )
    return result
