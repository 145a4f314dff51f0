"""Celery tasks: thin, they load by id and call a service."""

from __future__ import annotations

import collections
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

# Messages per send task. Publishing a task costs about a millisecond (Celery, kombu and a
# Redis round trip): a tick that found 1,000 due rows spent over a second publishing one task
# per row, and 20 tasks of 50 take ~15 ms. Sending them takes a 32-thread worker as long as
# 40 tasks of 25 would (two rounds of 25 sends on 32 threads, or one of 50 on 20). A task is
# what a redelivery repeats; each message in it is still taken by its own conditional update.
SEND_BATCH_SIZE = 50


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
        # One producer (one broker connection) for the whole tick, not one acquired per task.
        with send_messages.app.producer_or_acquire() as producer:
            for start in range(0, len(ids), SEND_BATCH_SIZE):
                send_messages.apply_async(
                    (ids[start : start + SEND_BATCH_SIZE],), producer=producer
                )

    if ids:
        transaction.on_commit(enqueue_all)


@shared_task(acks_late=True, ignore_result=True)
def send_messages(message_ids: list[int]) -> dict[str, int]:
    """Send each message at most once, one after the other. A message that fails unexpectedly
    is logged and left to the reaper (like a failed `send_message`); the others still go."""
    outcomes: collections.Counter[str] = collections.Counter()
    for message_id in message_ids:
        try:
            outcomes[message_send(message_id=message_id)] += 1
        except Exception:
            logger.exception("message %s: the send failed unexpectedly", message_id)
            outcomes["error"] += 1
    return dict(outcomes)


@shared_task(acks_late=True, ignore_result=True)
def send_message(message_id: int) -> str:
    """One message (what ticks enqueued before `send_messages`; still accepted)."""
    return message_send(message_id=message_id)
