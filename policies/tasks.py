"""Celery tasks: thin, they call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from policies.services import deposits_release_unpaid

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def release_unpaid_deposits() -> int:
    """Every minute (beat): cancel the bookings whose deposit deadline passed unpaid.

    Safe to run twice or in parallel: each release locks and re-checks its appointment.
    """
    released = deposits_release_unpaid(now=timezone.now())
    if released:
        logger.info("released %d bookings with unpaid deposits", len(released))
    return len(released)
