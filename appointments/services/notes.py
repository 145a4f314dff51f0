"""Notes in an appointment's history: who wrote what, and when. Notes are never edited."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentEvent, EventKind
from appointments.services.common import Actor, record_event

NOTE_MAX = 2000


def appointment_add_note(
    *, appointment: Appointment, actor: Actor, text: str, now: datetime | None = None
) -> AppointmentEvent:
    """Add a note (an event of kind NOTE, the status unchanged). ValidationError on `note`
    when the text is blank or longer than NOTE_MAX characters; nothing is written then."""
    text = text.strip()
    if not text:
        raise ValidationError({"note": [_("Write the note first.")]})
    if len(text) > NOTE_MAX:
        raise ValidationError(
            {"note": [_("Keep the note under %(count)d characters.") % {"count": NOTE_MAX}]}
        )
    with transaction.atomic():
        return record_event(
            appointment=appointment,
            kind=EventKind.NOTE,
            actor=actor,
            at=now or timezone.now(),
            from_status=appointment.status,
            to_status=appointment.status,
            reason=text,
        )
