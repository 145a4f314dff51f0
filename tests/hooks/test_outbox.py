"""Every event becomes one outbox row per interested endpoint, in the event's transaction, at
most once per event and endpoint, published only after the commit; booking pays no query
when nobody listens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from appointments.models import Appointment
from appointments.services import (
    Actor,
    appointment_cancel,
    appointment_check_in,
    appointment_confirm,
    appointment_correct,
    appointment_finish,
    appointment_mark_attended,
    appointment_mark_no_show,
    appointment_reschedule,
    appointment_start,
)
from hooks import services
from hooks.events import WebhookEvent
from hooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from reminders.models import Channel, MessageKind, MessageStatus, OutboundMessage
from reminders.services.dispatch import _finish
from reminders.services.inbound import sms_status_record
from tests.factories import BusinessFactory
from tests.hooks.conftest import Practice

pytestmark = pytest.mark.django_db

ALL_EVENTS = list(WebhookEvent.values)


def endpoint(tenant: Any, events: list[str] | None = None, **kwargs: Any) -> WebhookEndpoint:
    with scopes_disabled():
        return WebhookEndpoint.objects.create(
            tenant=tenant,
            url="https://hooks.example/in",
            events=ALL_EVENTS if events is None else events,
            secret="whsec_test",
            **kwargs,
        )


def deliveries(**filters: Any) -> list[WebhookDelivery]:
    with scopes_disabled():
        return list(WebhookDelivery.objects.filter(**filters).order_by("id"))


def types() -> list[str]:
    return [d.event_type for d in deliveries()]


def later(appointment: Appointment) -> Any:
    return appointment.start + timedelta(minutes=1)


ADMIN = Actor.system()
FLOWS: dict[str, Callable[[Appointment], Any]] = {
    "confirm": lambda a: appointment_confirm(appointment=a, actor=ADMIN),
    "cancel": lambda a: appointment_cancel(appointment=a, actor=ADMIN, reason="ill"),
    "check_in": lambda a: appointment_check_in(appointment=a, actor=ADMIN),
    "attended": lambda a: appointment_mark_attended(appointment=a, actor=ADMIN, now=later(a)),
    "no_show": lambda a: appointment_mark_no_show(appointment=a, actor=ADMIN, now=later(a)),
    "corrected": lambda a: appointment_correct(
        appointment=appointment_mark_no_show(appointment=a, actor=ADMIN, now=later(a)),
        to_status="attended",
        actor=ADMIN,
        reason="she came late",
        now=later(a),
    ),
    "start_finish": lambda a: appointment_finish(
        appointment=appointment_start(appointment=a, actor=ADMIN), actor=ADMIN
    ),
    "reschedule": lambda a: appointment_reschedule(
        appointment=a, start=a.start + timedelta(days=1), actor=ADMIN
    ),
}


@pytest.mark.parametrize(
    ("flow", "expected"),
    [
        ("confirm", ["appointment.confirmed"]),
        ("cancel", ["appointment.cancelled"]),
        ("check_in", ["appointment.checked_in"]),
        ("attended", ["appointment.attended"]),
        ("no_show", ["appointment.no_show"]),
        ("corrected", ["appointment.no_show", "appointment.attended"]),
        ("start_finish", ["appointment.checked_in"] * 0),  # start and finish are no event
        ("reschedule", ["appointment.rescheduled"]),
    ],
)
def test_each_appointment_change_is_its_webhook_event(
    practice: Practice, flow: str, expected: list[str]
) -> None:
    endpoint(practice.business)
    appointment = practice.book()
    assert types() == ["appointment.created"]

    with scope(tenant=practice.business):
        FLOWS[flow](appointment)

    assert types()[1:] == expected


def test_the_payload_describes_the_appointment_and_the_change(practice: Practice) -> None:
    endpoint(practice.business)
    appointment = practice.book()
    with scope(tenant=practice.business):
        appointment_cancel(appointment=appointment, actor=ADMIN, reason="ill")

    created, cancelled = deliveries()
    assert created.payload["id"] == created.event_id
    assert created.event_id.startswith("evt_")
    body = cancelled.payload
    assert body["type"] == "appointment.cancelled"
    assert body["business"] == practice.business.pk
    assert body["data"]["appointment"]["id"] == appointment.pk
    assert body["data"]["appointment"]["status"] == "cancelled"
    assert body["data"]["appointment"]["service"]["name"] == practice.service.name
    assert body["data"]["change"] == {
        "from_status": "scheduled",
        "to_status": "cancelled",
        "reason": "ill",
        "actor": "system",
        "channel": "system",
    }


def test_only_active_endpoints_of_the_business_that_chose_the_event_get_it(
    practice: Practice,
) -> None:
    wants = endpoint(practice.business, ["appointment.created"])
    endpoint(practice.business, ["appointment.cancelled"])
    endpoint(practice.business, ["appointment.created"], is_active=False)
    endpoint(BusinessFactory(), ["appointment.created"])

    practice.book()

    assert [(d.endpoint_id, d.event_type) for d in deliveries()] == [
        (wants.pk, "appointment.created")
    ]


def test_an_event_whose_transaction_rolls_back_leaves_no_delivery(practice: Practice) -> None:
    endpoint(practice.business)
    appointment = practice.book()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic(), scope(tenant=practice.business):
        appointment_confirm(appointment=appointment, actor=ADMIN)
        assert types() == ["appointment.created", "appointment.confirmed"]
        raise Boom

    assert types() == ["appointment.created"]


def test_deliveries_are_published_only_after_the_commit(
    practice: Practice,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    published: list[list[int]] = []
    monkeypatch.setattr(services, "_publish", lambda ids, countdown=None: published.append(ids))
    endpoint(practice.business)
    endpoint(practice.business)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        practice.book()
    assert published == []  # nothing before the commit

    for callback in callbacks:
        callback()
    assert [sorted(ids) for ids in published] == [[d.pk for d in deliveries()]]
    assert len(published[0]) == 2


def test_the_same_event_twice_is_one_delivery_per_endpoint(business: Any) -> None:
    first = endpoint(business, ["waitlist.claimed"])
    second = endpoint(business, ["waitlist.claimed"])
    for _ in range(2):
        services.enqueue(
            tenant_id=business.pk,
            event_type=WebhookEvent.WAITLIST_CLAIMED,
            key="waitlist-claim:42",
            data={"claim": 42},
        )

    rows = deliveries()
    assert sorted(d.endpoint_id for d in rows) == [first.pk, second.pk]
    assert {d.event_id for d in rows} == {services.event_id_for("waitlist-claim:42")}
    assert rows[0].payload["data"] == {"claim": 42}


def test_booking_without_endpoints_costs_no_query_for_webhooks(
    practice: Practice, django_assert_num_queries: Any
) -> None:
    appointment = practice.book()  # the cache learns that nobody listens
    with scopes_disabled():
        event = appointment.events.get()

    with django_assert_num_queries(0):
        assert services.enqueue_for_event(event) == []


def test_an_endpoint_added_here_is_seen_at_once(practice: Practice) -> None:
    practice.book()
    endpoint(practice.business, ["appointment.created"])

    practice.book()

    assert types() == ["appointment.created"]


def test_events_a_process_with_stale_subscriptions_skipped_are_queued_by_the_sweep(
    practice: Practice,
) -> None:
    """Another process added the endpoint; this one still believes nobody listens."""
    hook = endpoint(practice.business, ["appointment.created", "appointment.confirmed"])
    old = timezone.now() - timedelta(hours=1)
    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=hook.pk).update(updated_at=timezone.now())
    services._subscriptions[practice.business.pk] = (float("inf"), frozenset())
    try:
        appointment = practice.book()
        with scope(tenant=practice.business):
            appointment_confirm(appointment=appointment, actor=ADMIN)
        assert deliveries() == []

        assert services.deliveries_reconcile() == 2
        assert services.deliveries_reconcile(now=timezone.now()) == 2  # already queued...
        assert types() == ["appointment.created", "appointment.confirmed"]  # ...once
        # An endpoint not changed lately is not looked at (its events were not skipped).
        assert services.deliveries_reconcile(now=old + timedelta(days=1)) == 0
    finally:
        services.subscriptions_forget(practice.business.pk)


def _message(appointment: Appointment, status: str) -> OutboundMessage:
    with scopes_disabled():
        return OutboundMessage.objects.create(
            tenant_id=appointment.tenant_id,
            appointment=appointment,
            kind=MessageKind.BOOKING_CONFIRMATION,
            dedupe_key="test",
            send_at=timezone.now(),
            status=status,
            channel=Channel.SMS,
            provider_id="SM123",
            to="+34600000000",
        )


def test_a_message_that_fails_to_send_is_a_message_failed_event(practice: Practice) -> None:
    endpoint(practice.business, ["message.failed"])
    appointment = practice.book()
    with scopes_disabled():
        OutboundMessage.objects.all().delete()
    message = _message(appointment, MessageStatus.SENDING)

    with scope(tenant=practice.business):
        _finish(message, MessageStatus.FAILED, "21211: invalid number")
        _finish(message, MessageStatus.FAILED, "again")  # no longer "sending": no change

    (delivery,) = deliveries()
    assert delivery.event_type == "message.failed"
    assert delivery.payload["data"]["message"] == {
        "id": message.pk,
        "kind": "booking_confirmation",
        "channel": "sms",
        "reason": "21211: invalid number",
        "appointment": appointment.pk,
    }


def test_a_failed_delivery_report_is_a_message_failed_event_once(practice: Practice) -> None:
    endpoint(practice.business, ["message.failed"])
    appointment = practice.book()
    message = _message(appointment, MessageStatus.SENT)

    with scope(tenant=practice.business):
        for _ in range(2):  # Twilio repeats its callbacks
            sms_status_record(
                message_id=message.pk,
                provider_id="SM123",
                provider_status="undelivered",
                error_code="30003",
            )

    assert [(d.event_type, d.payload["data"]["message"]["id"]) for d in deliveries()] == [
        ("message.failed", message.pk)
    ]


def test_a_test_event_goes_to_its_endpoint_whatever_it_chose(business: Any) -> None:
    hook = endpoint(business, ["appointment.created"], is_active=False)

    with scopes_disabled():
        delivery = services.send_test_event(endpoint=hook)

    assert (delivery.event_type, delivery.status) == ("ping", DeliveryStatus.PENDING)
