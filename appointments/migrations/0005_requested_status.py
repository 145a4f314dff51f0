"""The "requested" status (a new client's online booking waiting for the business), its two
events (accepted, declined), and the no-overlap constraint rebuilt to cover requests: a
request holds its staff member's time like a booking does.

The constraint's predicate lists the blocking statuses (see 0004). It is dropped and added
again with "requested" in it; on SQLite there is no such constraint (see 0004).
"""

from django.db import migrations, models


OLD_STATUSES = "('scheduled', 'confirmed', 'attended')"
NEW_STATUSES = "('requested', 'scheduled', 'confirmed', 'attended')"

CONSTRAINT_SQL = """
ALTER TABLE appointments_appointment
ADD CONSTRAINT appointment_no_overlap
EXCLUDE USING gist (
    tenant_id WITH =,
    staff_id WITH =,
    tstzrange(blocked_start, blocked_end, '[)') WITH &&
) WHERE (status IN {statuses})
"""
DROP_SQL = "ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS appointment_no_overlap"


def _rebuild(schema_editor, statuses: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP_SQL)
    schema_editor.execute(CONSTRAINT_SQL.format(statuses=statuses))


def include_requested(apps, schema_editor):
    _rebuild(schema_editor, NEW_STATUSES)


def exclude_requested(apps, schema_editor):
    # Backwards: requests left in the table simply stop being covered by the constraint.
    _rebuild(schema_editor, OLD_STATUSES)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0004_appointment_no_overlap"),
    ]

    operations = [
        migrations.AlterField(
            model_name="appointment",
            name="status",
            field=models.CharField(
                choices=[
                    ("requested", "Requested"),
                    ("scheduled", "Scheduled"),
                    ("confirmed", "Confirmed"),
                    ("attended", "Attended"),
                    ("no_show", "No-show"),
                    ("cancelled", "Cancelled"),
                ],
                default="scheduled",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="appointmentevent",
            name="from_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("requested", "Requested"),
                    ("scheduled", "Scheduled"),
                    ("confirmed", "Confirmed"),
                    ("attended", "Attended"),
                    ("no_show", "No-show"),
                    ("cancelled", "Cancelled"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="appointmentevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Booked"),
                    ("status", "Status changed"),
                    ("rescheduled", "Rescheduled"),
                    ("arrived", "Checked in"),
                    ("started", "Started"),
                    ("finished", "Finished"),
                    ("corrected", "Corrected"),
                    ("note", "Note"),
                    ("accepted", "Request accepted"),
                    ("declined", "Request declined"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="appointmentevent",
            name="to_status",
            field=models.CharField(
                blank=True,
                choices=[
                    ("requested", "Requested"),
                    ("scheduled", "Scheduled"),
                    ("confirmed", "Confirmed"),
                    ("attended", "Attended"),
                    ("no_show", "No-show"),
                    ("cancelled", "Cancelled"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(include_requested, exclude_requested),
    ]
