"""PostgreSQL's final guard against double booking.

Two appointments of one staff member that hold time (scheduled, confirmed, attended) may not
overlap, buffers included. The service checks first for a friendly answer; this constraint
refuses the race that slips past that check. SQLite (make run) has no exclusion constraints:
there the IMMEDIATE transaction mode serialises writers, so the service's check suffices.
"""

from django.db import migrations

CONSTRAINT_SQL = """
ALTER TABLE appointments_appointment
ADD CONSTRAINT appointment_no_overlap
EXCLUDE USING gist (
    tenant_id WITH =,
    staff_id WITH =,
    tstzrange(blocked_start, blocked_end, '[)') WITH &&
) WHERE (status IN ('scheduled', 'confirmed', 'attended'))
"""


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(CONSTRAINT_SQL)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS appointment_no_overlap"
    )


class Migration(migrations.Migration):
    dependencies = [("appointments", "0003_initial")]

    operations = [migrations.RunPython(add_constraint, drop_constraint)]
