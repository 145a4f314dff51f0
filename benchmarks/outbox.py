"""The outbox rows of the reminder benchmarks, written in bulk with SQL on top of the seed.

- 1,000,000 future pending rows (`bench-future:<k>`, 50 per seeded appointment), due at least
  a week from now: what a busy platform's outbox holds ahead. Loaded once with one
  INSERT ... SELECT over generate_series and kept while the seed lives (a reseed drops them).
- Due rows of one run (`bench-due:<k>`, `bench-dispatch:<k>`), on the seeded appointments
  that are still ahead, with the business's SMS rule; deleted, with the client links their
  sends issued, when the run ends.

Every row is pending with an empty channel, as planning writes them: the send decides.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django_scopes import scope

from appointments.models import AppointmentStatus
from benchmarks.seed import SEEDED_DAYS, Seed
from reminders.models import AppointmentAccess, OutboundMessage, ReminderRule, RuleChannel

log = logging.getLogger("benchmarks")

FUTURE_PREFIX = "bench-future:"
FUTURE_ROWS = 1_000_000
FUTURE_PER_APPOINTMENT = 50  # x 20,000 seeded appointments
# Never due while the seed lives (it is replaced when the week changes), spread over 60 days.
FUTURE_FROM = timedelta(days=8)
FUTURE_SPREAD_MINUTES = 60 * 24 * 60
# Appointments that start this soon can't be reminded any more ("too_late"): not used.
DUE_APPOINTMENTS_FROM = timedelta(minutes=10)

_COLUMNS = """
    tenant_id, appointment_id, rule_id, kind, dedupe_key, channel, fallback_to_email, "to",
    language, send_at, status, status_reason, attempts, appointment_version, provider_id,
    subject, body, created_at, updated_at
"""


@dataclass(frozen=True)
class DueRows:
    prefix: str
    count: int
    first_id: int
    last_id: int
    created_at: datetime


def _count(seed: Seed, prefix: str) -> tuple[int, datetime | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), min(send_at) FROM reminders_outboundmessage
            WHERE tenant_id = %s AND dedupe_key LIKE %s
            """,
            [seed.business.pk, prefix + "%"],
        )
        count, first = cursor.fetchone() or (0, None)
    return int(count), first


def delete_rows(seed: Seed, prefix: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM reminders_outboundmessage WHERE tenant_id = %s AND dedupe_key LIKE %s",
            [seed.business.pk, prefix + "%"],
        )
        return cursor.rowcount


def ensure_future_rows(seed: Seed) -> int:
    """The 1,000,000 future pending rows: reused when complete and still ahead, else reloaded."""
    now = timezone.now()
    count, first = _count(seed, FUTURE_PREFIX)
    if count == FUTURE_ROWS and first is not None and first > now + timedelta(hours=1):
        log.info("%s future outbox rows reused", f"{count:,}")
        # What autovacuum does on a live database between runs; this machine's PostgreSQL
        # runs with autovacuum off, so every earlier run's dead rows (a quarter of a million
        # per 50,000 messages) would otherwise slow the next run's scans and index updates.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reminders_outboundmessage")
        return count
    if count:
        log.info("reloading the future outbox rows (%s found)", f"{count:,}")
        delete_rows(seed, FUTURE_PREFIX)
    log.info("loading %s future outbox rows", f"{FUTURE_ROWS:,}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO reminders_outboundmessage ({_COLUMNS})
            SELECT a.tenant_id, a.id, NULL, 'rule', %(prefix)s || k, '', false, '', '',
                   %(from)s + ((a.id * %(per)s + k) %% %(spread)s) * interval '1 minute',
                   'pending', '', 0, a.version, '', '', '', %(now)s, %(now)s
            FROM (
                SELECT id, tenant_id, version FROM appointments_appointment
                WHERE tenant_id = %(tenant)s ORDER BY id LIMIT %(appointments)s
            ) a
            CROSS JOIN generate_series(1, %(per)s) k
            """,  # noqa: S608 - constant column list, values are parameters
            {
                "prefix": FUTURE_PREFIX,
                "from": now + FUTURE_FROM,
                "per": FUTURE_PER_APPOINTMENT,
                "spread": FUTURE_SPREAD_MINUTES,
                "now": now,
                "tenant": seed.business.pk,
                "appointments": math.ceil(FUTURE_ROWS / FUTURE_PER_APPOINTMENT),
            },
        )
        loaded = cursor.rowcount
        cursor.execute("VACUUM ANALYZE reminders_outboundmessage")
    if loaded != FUTURE_ROWS:
        raise RuntimeError(f"Loaded {loaded} future outbox rows, not {FUTURE_ROWS}.")
    return loaded


def create_due_rows(seed: Seed, *, prefix: str, count: int, now: datetime) -> DueRows:
    """`count` pending SMS reminders due a minute ago, spread over the seeded appointments that
    are still ahead (several per appointment when there are fewer appointments than rows)."""
    delete_rows(seed, prefix)  # left by an interrupted run
    with scope(tenant=seed.business):
        rule = ReminderRule.objects.filter(
            tenant=seed.business, channel=RuleChannel.SMS, is_active=True
        ).first()
    if rule is None:
        raise RuntimeError("The seeded business has no active SMS reminder rule.")
    params: dict[str, Any] = {
        "tenant": seed.business.pk,
        "statuses": [AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED],
        "after": now + DUE_APPOINTMENTS_FROM,
        "before": seed.local(SEEDED_DAYS, time.min),
    }
    appointments_sql = """
        SELECT id, tenant_id, version FROM appointments_appointment
        WHERE tenant_id = %(tenant)s AND status = ANY(%(statuses)s)
          AND start > %(after)s AND start < %(before)s
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({appointments_sql}) a", params)  # noqa: S608
        row = cursor.fetchone()
        appointments = int(row[0]) if row else 0
        if not appointments:
            raise RuntimeError("No seeded appointment lies ahead to remind.")
        cursor.execute(
            f"""
            INSERT INTO reminders_outboundmessage ({_COLUMNS})
            SELECT a.tenant_id, a.id, %(rule)s, 'rule', %(prefix)s || k, '', false, '', '',
                   %(due)s, 'pending', '', 0, a.version, '', '', '', %(now)s, %(now)s
            FROM ({appointments_sql}) a
            CROSS JOIN generate_series(1, %(per)s) k
            ORDER BY k, a.id
            LIMIT %(count)s
            RETURNING id
            """,  # noqa: S608 - constant SQL, values are parameters
            {
                **params,
                "rule": rule.pk,
                "prefix": prefix,
                "due": now - timedelta(minutes=1),
                "now": now,
                "per": math.ceil(count / appointments),
                "count": count,
            },
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("ANALYZE reminders_outboundmessage")
    if len(ids) != count:
        raise RuntimeError(f"Created {len(ids)} due outbox rows, not {count}.")
    return DueRows(prefix=prefix, count=count, first_id=min(ids), last_id=max(ids), created_at=now)


def delete_due_rows(seed: Seed, rows: DueRows) -> int:
    """The run's rows and the client links their sends issued (the seed has no others)."""
    with scope(tenant=seed.business):
        AppointmentAccess.objects.filter(
            tenant=seed.business, created_at__gte=rows.created_at
        ).delete()
        return OutboundMessage.objects.filter(
            tenant=seed.business,
            id__range=(rows.first_id, rows.last_id),
            dedupe_key__startswith=rows.prefix,
        ).delete()[0]
