"""The one place self-service listens to other apps (see signals.py for why a signal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from appointments.models import Appointment
from selfservice.services.waitlist import waitlist_slot_freed
from selfservice.signals import appointment_cancelled


@receiver(appointment_cancelled, dispatch_uid="selfservice.waitlist_offers")
def offer_freed_time(sender: Any, *, appointment: Appointment, now: datetime, **_: Any) -> None:
    """After the cancellation commits, offer its time to the waitlist (never inside it: a
    rolled-back cancellation frees nothing)."""
    appointment_id = appointment.pk
    transaction.on_commit(
        lambda: waitlist_slot_freed(appointment_id=appointment_id, now=now), robust=True
    )
