"""Celery tasks: thin, they call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from reports.services import reports_send_due

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def send_scheduled_reports() -> int:
    """Every 15 minutes (beat, UTC): each business's weekly or monthly report, once per
    period, from its send hour in its own time zone."""
    result = reports_send_due(now=timezone.now())
    if result.sent:
        logger.info("scheduled reports: %d sent", result.sent)
    return result.sent
