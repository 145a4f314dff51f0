"""Celery tasks: thin, they call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from selfservice.services.outgoing import selfservice_send_due


@shared_task(acks_late=True, ignore_result=True)
def send_due_selfservice_messages() -> dict[str, int]:
    """Every minute (beat): plan due surveys, send due waitlist offers and surveys."""
    return selfservice_send_due(now=timezone.now())
