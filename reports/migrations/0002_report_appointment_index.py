"""An index for the reports on the appointments table (the appointments app's model).

`AddIndex` can only name a model of its own app, so the index is created here in SQL. On
PostgreSQL it covers what the report's trend and previous-period queries read, so that
12 months of a business's appointments are counted from the index alone (an index-only
scan, once autovacuum has set the visibility map) instead of visiting one heap page per
appointment: report_month's trend query went from ~115 ms to ~30 ms with 1,000,000
appointments (benchmarks/report_month.py). Built CONCURRENTLY: the table is large and
busy in production, and a plain CREATE INDEX would block bookings while it builds.

SQLite (tests, `make run`) has no INCLUDE: the existing (tenant, start) index serves it.
"""

from typing import Any

from django.db import migrations

INDEX = "report_appointment_month_idx"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON appointments_appointment "
        '(tenant_id, start) INCLUDE (id, status, cancelled_by, cancelled_at, confirmed_at, "end")'
    )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reports", "0001_initial"),
        ("appointments", "0004_appointment_no_overlap"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
