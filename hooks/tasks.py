"""Celery tasks: thin, they load by id and call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from hooks.services import _publish, deliveries_reconcile, deliveries_sweep, delivery_attempt

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt at one delivery (a duplicate of this task finds it taken: "not_taken")."""
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_webhooks() -> int:
    """Every minute (beat): queue the events a process with stale subscriptions skipped, and
    publish again the due deliveries no task carries."""
    reconciled = deliveries_reconcile()
    if reconciled:
        logger.info("webhooks: %d skipped events queued", reconciled)
    ids = deliveries_sweep()
    if ids:
        logger.info("webhooks: %d due deliveries published again", len(ids))
        _publish(ids)
    return len(ids)
