"""Webhook endpoints (create, change, rotate the secret, delete) and the deliveries' outbox.

Every event becomes one `WebhookDelivery` per active endpoint subscribed to it, written in the
event's own transaction: it is sent only if that transaction commits (a Celery task published
on commit), at most once per event and endpoint (a unique constraint), and retried with
backoff for a day (`RETRY_DELAYS`), then marked failed.

The hook points: `enqueue_for_event` (appointments' `record_event`, for every appointment
event), `enqueue_message_failed` (reminders, where a message is marked failed) and `enqueue`
(public: any other event, e.g. the waitlist's `waitlist.claimed`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from hooks import transport
from hooks.events import TEST_EVENT, WebhookEvent, event_for
from hooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from hooks.security import UnsafeTarget, checked_address
from hooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    new_secret,
    signature_header,
)
from tenants.models import Business

if TYPE_CHECKING:
    from appointments.models import Appointment, AppointmentEvent

logger = logging.getLogger(__name__)

# The waits between attempts: the 11th and last attempt comes ~23.7 h after the first, then
# the delivery is failed. Short ones ride on the task's countdown; the sweep catches the rest.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
)
# Longer waits than this are not held by a worker (the broker's visibility timeout is 1 h):
# the sweep publishes the delivery when it is due.
COUNTDOWN_LIMIT = timedelta(minutes=15)
# An attempt takes at most 3 s to connect and 10 s to read: a delivery still "sending" after
# this was held by a worker that died; it is retried (receivers deduplicate by event id).
STUCK_AFTER = timedelta(minutes=5)
# The sweep leaves a due delivery this long to the task its countdown already scheduled.
SWEEP_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 500
# The delivery log keeps finished deliveries this long.
KEEP_LOG_FOR = timedelta(days=30)
# How far back the sweep looks, past the subscriptions' cache life, for skipped events.
RECONCILE_MARGIN = timedelta(minutes=3)

EVENT_NAMESPACE = uuid.UUID("6f1f4a52-3b55-4b8e-9d0e-6c1f5a8e7b21")


def event_id_for(key: str) -> str:
    """A stable event id from what the event is about: the same key, the same id."""
    return f"evt_{uuid.uuid5(EVENT_NAMESPACE, key).hex}"


# --- Endpoints ----------------------------------------------------------------------------


def _clean(url: str, events: Iterable[str], *, check_url: bool = True) -> tuple[str, list[str]]:
    """The URL and events as saved, or ValidationError with the field errors. The URL's
    address is checked (DNS included) when it is new: deliveries check it again anyway."""
    errors: dict[str, list[str]] = {}
    url = url.strip()
    if len(url) > 500:
        errors["url"] = [_("Keep the URL under 500 characters.")]
    elif check_url:
        try:
            checked_address(url)
        except UnsafeTarget as exc:
            errors["url"] = [str(exc)]
    chosen = list(dict.fromkeys(events))
    unknown = [name for name in chosen if name not in WebhookEvent.values]
    if unknown:
        errors["events"] = [_("Unknown events: %(names)s.") % {"names": ", ".join(sorted(unknown))}]
    elif not chosen:
        errors["events"] = [_("Choose at least one event.")]
    if errors:
        raise ValidationError(errors)
    return url, [name for name in WebhookEvent.values if name in chosen]


def endpoint_create(
    *,
    tenant: Business,
    url: str,
    events: Iterable[str],
    description: str = "",
    is_active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned once: show it to the admin now)."""
    url, chosen = _clean(url, events)
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=url,
        events=chosen,
        description=description.strip(),
        is_active=is_active,
        secret=new_secret(),
    )
    return endpoint, endpoint.secret


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    new_url = endpoint.url if url is None else url.strip()
    new_url, chosen = _clean(
        new_url,
        endpoint.events if events is None else events,
        # An unchanged URL is not looked up again: an endpoint whose name no longer resolves
        # can still be switched off or re-subscribed.
        check_url=new_url != endpoint.url,
    )
    endpoint.url, endpoint.events = new_url, chosen
    if description is not None:
        endpoint.description = description.strip()
    if is_active is not None:
        endpoint.is_active = is_active
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret, in force for every delivery sent from now on (returned once)."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint.secret


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """The endpoint and its log; deliveries not sent yet are dropped with it."""
    endpoint.delete()


# --- Events into the outbox ---------------------------------------------------------------

# Which events each business's active endpoints want, per process, for `SUBSCRIPTIONS_TTL`
# seconds: booking asks it on every appointment event, and most businesses have no endpoint,
# so the answer must cost no query. A change made in this process clears its entry at once;
# another process may go on with the old answer for up to the TTL, and the sweep makes up for
# that: it delivers the appointment events such a process skipped (`deliveries_reconcile`).
SUBSCRIPTIONS_TTL = 60.0
_subscriptions: dict[int, tuple[float, frozenset[str]]] = {}


def subscriptions_forget(tenant_id: int) -> None:
    _subscriptions.pop(tenant_id, None)


def _active_endpoints(tenant_id: int) -> list[tuple[int, list[str]]]:
    """(id, events) of the business's active endpoints: one indexed query. Refreshes the cache."""
    with scopes_disabled():
        rows = list(
            WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True).values_list(
                "pk", "events"
            )
        )
    events = frozenset(name for _pk, names in rows for name in names)
    _subscriptions[tenant_id] = (time.monotonic() + SUBSCRIPTIONS_TTL, events)
    return rows


def subscribed_events(tenant_id: int) -> frozenset[str]:
    """Every event some active endpoint of the business wants (cached, see above)."""
    entry = _subscriptions.get(tenant_id)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1]
    _active_endpoints(tenant_id)
    return _subscriptions[tenant_id][1]


def enqueue(
    *,
    tenant_id: int,
    event_type: str,
    key: str,
    data: dict[str, Any] | Callable[[], dict[str, Any]],
    at: datetime | None = None,
    endpoint_ids: list[int] | None = None,
) -> list[int]:
    """Put `event_type` in the outbox of every active endpoint of the business subscribed to it.

    The public way in for any event (the waitlist's `waitlist.claimed` among them). Call it
    inside the transaction that records the event: the deliveries commit or roll back with it
    and are sent after the commit. `key` names the event for good (e.g. "waitlist-claim:42"):
    the same key twice is the same event, delivered at most once per endpoint. `data` (or a
    function building it, called only if some endpoint wants the event) is the event's
    `data` object. One indexed query when no endpoint wants it. Returns the deliveries' ids.
    """
    if endpoint_ids is None:
        endpoint_ids = [pk for pk, events in _active_endpoints(tenant_id) if event_type in events]
    if not endpoint_ids:
        return []
    at = at or timezone.now()
    event_id = event_id_for(key)
    payload = {
        "id": event_id,
        "type": event_type,
        "created": at.isoformat(),
        "business": tenant_id,
        "data": data() if callable(data) else data,
    }
    with scopes_disabled(), transaction.atomic():
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    tenant_id=tenant_id,
                    endpoint_id=endpoint_id,
                    event_id=event_id,
                    event_type=event_type,
                    payload=payload,
                    next_attempt_at=timezone.now(),
                )
                for endpoint_id in endpoint_ids
            ],
            ignore_conflicts=True,
        )
        ids = list(
            WebhookDelivery.objects.filter(
                endpoint_id__in=endpoint_ids,
                event_id=event_id,
                status=DeliveryStatus.PENDING,
                attempts=0,
            ).values_list("pk", flat=True)
        )
        _publish_on_commit(ids)
    return ids


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def appointment_data(appointment: Appointment) -> dict[str, Any]:
    """What integrators get about an appointment (the API's names)."""
    return {
        "id": appointment.pk,
        "status": appointment.status,
        "start": _moment(appointment.start),
        "end": _moment(appointment.end),
        "source": appointment.source,
        "price": str(appointment.price),
        "location": {"id": appointment.location_id, "name": appointment.location.name},
        "staff": {"id": appointment.staff_id, "name": appointment.staff.display_name},
        "service": {"id": appointment.service_id, "name": appointment.service.name},
        "client": {"id": appointment.client_id, "name": appointment.client.name},
        "confirmed_at": _moment(appointment.confirmed_at),
        "arrived_at": _moment(appointment.arrived_at),
        "cancelled_at": _moment(appointment.cancelled_at),
        "cancelled_by": appointment.cancelled_by,
    }


def _event_data(event: AppointmentEvent) -> dict[str, Any]:
    previous = event.data.get("from") if isinstance(event.data, dict) else None
    return {
        "appointment": appointment_data(event.appointment),
        "change": {
            "from_status": event.from_status,
            "to_status": event.to_status,
            "reason": event.reason,
            "actor": event.actor_type,
            "channel": event.channel,
            **({"previous": previous} if previous else {}),
        },
    }


def enqueue_for_event(event: AppointmentEvent) -> list[int]:
    """The hook of appointments' `record_event`: the webhook an appointment event is, if any.

    No query at all unless an active endpoint of the business wants this event (notes,
    start and finish are no webhook event).
    """
    event_type = event_for(event.kind, event.to_status)
    if not event_type or event_type not in subscribed_events(event.tenant_id):
        return []
    return enqueue(
        tenant_id=event.tenant_id,
        event_type=event_type,
        key=f"appointment-event:{event.pk}",
        at=event.at,
        data=lambda: _event_data(event),
    )


def enqueue_message_failed(*, message_id: int) -> list[int]:
    """The hook of reminders where a message ends failed: `message.failed`, once per message."""
    from reminders.models import MessageStatus, OutboundMessage  # reminders imports hooks

    with scopes_disabled():
        message = OutboundMessage.objects.filter(pk=message_id).first()
    if message is None or message.status != MessageStatus.FAILED:
        return []
    return enqueue(
        tenant_id=message.tenant_id,
        event_type=WebhookEvent.MESSAGE_FAILED,
        key=f"message-failed:{message.pk}",
        data=lambda: {
            "message": {
                "id": message.pk,
                "kind": message.kind,
                "channel": message.channel,
                "reason": message.status_reason,
                "appointment": message.appointment_id,
            }
        },
    )


def deliveries_reconcile(*, now: datetime | None = None) -> int:
    """The appointment events of the last minutes that an endpoint created, activated or
    re-subscribed meanwhile wants and did not get (a process still held the old subscriptions):
    queued now. Idempotent (the event ids are the events' own). Returns how many were queued."""
    from appointments.models import AppointmentEvent  # appointments imports hooks

    now = now or timezone.now()
    since = now - timedelta(seconds=SUBSCRIPTIONS_TTL) - RECONCILE_MARGIN
    queued = 0
    with scopes_disabled():
        changed = list(WebhookEndpoint.objects.filter(is_active=True, updated_at__gte=since))
        for endpoint in changed:
            events = AppointmentEvent.objects.filter(
                tenant_id=endpoint.tenant_id, at__gte=endpoint.updated_at
            ).select_related("appointment")
            for event in events:
                event_type = event_for(event.kind, event.to_status)
                if event_type and event_type in endpoint.events:
                    queued += len(
                        enqueue(
                            tenant_id=endpoint.tenant_id,
                            event_type=event_type,
                            key=f"appointment-event:{event.pk}",
                            at=event.at,
                            data=lambda event=event: _event_data(event),  # type: ignore[misc]
                            endpoint_ids=[endpoint.pk],
                        )
                    )
    return queued


def send_test_event(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `ping` to this endpoint alone (even inactive, whatever it subscribes to), tried once."""
    now = timezone.now()
    event_id = f"evt_{uuid.uuid4().hex}"
    delivery = WebhookDelivery.objects.create(
        tenant_id=endpoint.tenant_id,
        endpoint=endpoint,
        event_id=event_id,
        event_type=TEST_EVENT,
        payload={
            "id": event_id,
            "type": TEST_EVENT,
            "created": now.isoformat(),
            "business": endpoint.tenant_id,
            "data": {"message": "This is a test event from Puntual."},
        },
        next_attempt_at=now,
    )
    _publish_on_commit([delivery.pk])
    return delivery


def _publish_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: _publish(ids))


def _publish(ids: list[int], countdown: float | None = None) -> None:
    """One delivery task per delivery. A broker that refuses now loses nothing: the sweep
    publishes every due delivery again."""
    from hooks.tasks import deliver_webhook

    try:
        with deliver_webhook.app.producer_or_acquire() as producer:
            for delivery_id in ids:
                if countdown is None:
                    deliver_webhook.apply_async((delivery_id,), producer=producer)
                else:
                    deliver_webhook.apply_async(
                        (delivery_id,), countdown=countdown, producer=producer
                    )
    except Exception:
        logger.exception("webhooks: could not publish deliveries %s; the sweep will", ids)


# --- Sending ------------------------------------------------------------------------------


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt at a due delivery, by whoever takes it first. Returns the outcome."""
    now = now or timezone.now()
    with scopes_disabled():
        # A countdown may run a hair before the row's time: a second of slack.
        taken = WebhookDelivery.objects.filter(
            pk=delivery_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now + timedelta(seconds=1),
        ).update(status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if not taken:
            return "not_taken"  # a duplicate task, or already delivered, failed or not due
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event_type != TEST_EVENT:
        return _finish(delivery, DeliveryStatus.FAILED, now, error="endpoint deactivated")
    body = body_of(delivery)
    timestamp = int(timezone.now().timestamp())
    outcome = transport.post(
        endpoint.url,
        body,
        {
            SIGNATURE_HEADER: signature_header(endpoint.secret, timestamp, body),
            EVENT_ID_HEADER: delivery.event_id,
            EVENT_TYPE_HEADER: delivery.event_type,
        },
    )
    if outcome.ok:
        return _finish(delivery, DeliveryStatus.DELIVERED, now, outcome=outcome, delivered_at=now)
    error = outcome.error or f"HTTP {outcome.status_code}"
    retries_left = delivery.event_type != TEST_EVENT and delivery.attempts <= len(RETRY_DELAYS)
    if not retries_left:
        return _finish(delivery, DeliveryStatus.FAILED, now, outcome=outcome, error=error)
    delay = RETRY_DELAYS[delivery.attempts - 1]
    result = _finish(
        delivery,
        DeliveryStatus.PENDING,
        now,
        outcome=outcome,
        error=error,
        next_attempt_at=now + delay,
    )
    if result == DeliveryStatus.PENDING and delay <= COUNTDOWN_LIMIT:
        _publish([delivery.pk], countdown=delay.total_seconds())
    return "retrying" if result == DeliveryStatus.PENDING else result


def _finish(
    delivery: WebhookDelivery,
    status: str,
    now: datetime,
    *,
    outcome: transport.Outcome | None = None,
    error: str = "",
    **fields: Any,
) -> str:
    """Record an attempt's outcome on the row this attempt holds (nobody else's)."""
    with scopes_disabled():
        updated = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts
        ).update(
            status=status,
            last_attempt_at=now,
            last_status_code=outcome.status_code if outcome else None,
            last_duration_ms=outcome.duration_ms if outcome else None,
            last_error=error[:200],
            **fields,
        )
    return str(status) if updated else "lost"


def deliveries_sweep(*, now: datetime | None = None) -> list[int]:
    """Every minute: retry what a dead worker held, fail what ran out of time, forget finished
    deliveries older than `KEEP_LOG_FOR`, and return the due deliveries no task is carrying
    (to publish again)."""
    now = now or timezone.now()
    with scopes_disabled():
        stuck = WebhookDelivery.objects.filter(
            status=DeliveryStatus.SENDING, claimed_at__lt=now - STUCK_AFTER
        )
        stuck.filter(attempts__gt=len(RETRY_DELAYS)).update(
            status=DeliveryStatus.FAILED,
            last_error="the worker stopped mid-send",
            last_attempt_at=now,
        )
        retried = list(stuck.values_list("pk", flat=True)[:SWEEP_BATCH])
        WebhookDelivery.objects.filter(pk__in=retried, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            last_error="the worker stopped mid-send; retrying",
        )
        old = WebhookDelivery.objects.filter(
            status__in=(DeliveryStatus.DELIVERED, DeliveryStatus.FAILED),
            created_at__lt=now - KEEP_LOG_FOR,
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
        WebhookDelivery.objects.filter(pk__in=list(old)).delete()
        due = WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE
        ).order_by("next_attempt_at")
        return retried + list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
