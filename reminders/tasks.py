"""Celery tasks: thin, they load by id and call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from reminders.services.dispatch import (
    MAX_CLAIMS_PER_TICK,
    message_send,
    messages_claim_due,
    messages_reap,
)

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due_messages() -> int:
    """Every minute (beat, UTC): settle crashed rows, claim what is due, enqueue one send each."""
    now = timezone.now()
    requeued = messages_reap(now=now)
    _enqueue(requeued)
    claimed = 0
    while claimed < MAX_CLAIMS_PER_TICK:
        ids = messages_claim_due(now=now)
        _enqueue(ids)
        claimed += len(ids)
        if not ids:
            break
    if claimed or requeued:
        logger.info("dispatch: %d claimed, %d re-enqueued", claimed, len(requeued))
    return claimed


def _enqueue(ids: list[int]) -> None:
    # The claim has committed: a send task can never run before its row is "queued". If the
    # broker refuses now, the rows stay queued and the reaper enqueues them again later.
    def enqueue_all() -> None:
        for message_id in ids:
            send_message.delay(message_id)

    if ids:
        transaction.on_commit(enqueue_all)


@shared_task(acks_late=True, ignore_result=True)
def send_message(message_id: int) -> str:
    return message_send(message_id=message_id)
