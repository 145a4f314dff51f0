"""The benchmarks' Redis broker (BENCH_BROKER_URL, a database of its own): what is queued on it,
and emptying it."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from config.celery import app

# What kombu keeps in Redis for the default queue: the queue itself and the messages a worker
# took without acknowledging them yet (restored to the queue when they are not acknowledged).
QUEUE = "celery"
UNACKED_KEYS = ("unacked", "unacked_index", "unacked_mutex")


def url() -> str:
    return str(settings.CELERY_BROKER_URL)


def queued() -> int:
    """Messages waiting in the default queue."""
    with app.connection_for_write() as connection:
        channel: Any = connection.default_channel  # kombu's Redis channel
        return int(channel.client.llen(QUEUE))


def purge() -> int:
    """Empty the default queue and forget unacknowledged messages: the number purged."""
    with app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        purged = int(channel.queue_purge(QUEUE) or 0)
        channel.client.delete(*UNACKED_KEYS)
    return purged
