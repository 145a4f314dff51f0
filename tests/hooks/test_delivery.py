"""Sending: signed as the docs say, retried with backoff for a day then failed, each attempt
taken by one task only."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scopes_disabled

from hooks import services
from hooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from hooks.services import (
    RETRY_DELAYS,
    STUCK_AFTER,
    deliveries_sweep,
    delivery_attempt,
    enqueue,
    signature_header,
)
from tenants.models import Business
from tests.hooks.conftest import Receiver, docs_verifier

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[int], float | None]]:
    calls: list[tuple[list[int], float | None]] = []
    monkeypatch.setattr(
        services, "_publish", lambda ids, countdown=None: calls.append((ids, countdown))
    )
    return calls


def hook_for(business: Business, receiver: Receiver, **kwargs: Any) -> WebhookEndpoint:
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.create(
            tenant=business,
            url=receiver.url,
            events=["waitlist.claimed"],
            secret="whsec_" + "s" * 20,
            **kwargs,
        )
    receiver.secret = endpoint.secret
    return endpoint


def queue(business: Business, key: str = "claim:1") -> WebhookDelivery:
    with scopes_disabled():
        (delivery_id,) = enqueue(
            tenant_id=business.pk, event_type="waitlist.claimed", key=key, data={"claim": 1}
        )
        return WebhookDelivery.objects.get(pk=delivery_id)


def reload(delivery: WebhookDelivery) -> WebhookDelivery:
    with scopes_disabled():
        return WebhookDelivery.objects.get(pk=delivery.pk)


def test_a_delivery_is_signed_as_the_docs_say_and_their_snippet_verifies_it(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    hook_for(business, receiver)
    delivery = queue(business)

    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"

    (request,) = receiver.requests
    assert request.verified  # docs/webhooks.md's own function, with the endpoint's secret
    assert request.path == "/hooks/puntual"
    assert request.headers["puntual-event-id"] == delivery.event_id
    assert request.headers["puntual-event-type"] == "waitlist.claimed"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == delivery.payload
    timestamp = int(request.headers["puntual-signature"].split(",")[0].removeprefix("t="))
    assert abs(timestamp - time.time()) < 60
    assert request.headers["puntual-signature"] == signature_header(
        receiver.secret, timestamp, request.body
    )
    row = reload(delivery)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert row.delivered_at is not None and row.last_duration_ms is not None


def test_the_docs_snippet_refuses_a_wrong_secret_a_changed_body_and_an_old_signature() -> None:
    verify = docs_verifier()
    body = b'{"id":"evt_1"}'
    now = int(time.time())
    header = signature_header("whsec_right", now, body)

    assert verify("whsec_right", body, header)
    assert not verify("whsec_wrong", body, header)
    assert not verify("whsec_right", body + b" ", header)
    assert not verify("whsec_right", body, signature_header("whsec_right", now - 3600, body))
    assert not verify("whsec_right", body, "garbage")


def test_a_failed_attempt_is_retried_after_its_backoff_then_delivered_once(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    receiver.answers = [(500, {}), (200, {})]
    hook_for(business, receiver)
    delivery = queue(business)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        assert delivery_attempt(delivery_id=delivery.pk) == "retrying"
    row = reload(delivery)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert row.next_attempt_at == start + RETRY_DELAYS[0]
    assert published[-1] == ([delivery.pk], RETRY_DELAYS[0].total_seconds())

    with time_machine.travel(start + timedelta(seconds=2), tick=False):
        assert delivery_attempt(delivery_id=delivery.pk) == "not_taken"  # not due yet
    with time_machine.travel(start + RETRY_DELAYS[0], tick=False):
        assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
        assert delivery_attempt(delivery_id=delivery.pk) == "not_taken"  # a duplicate task

    assert len(receiver.requests) == 2
    assert all(r.verified for r in receiver.requests)
    assert len({r.headers["puntual-event-id"] for r in receiver.requests}) == 1
    row = reload(delivery)
    assert (row.status, row.attempts, row.last_status_code) == (DeliveryStatus.DELIVERED, 2, 200)


def test_an_endpoint_that_never_answers_well_is_given_up_after_a_day(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    receiver.answers = [(503, {})]
    hook_for(business, receiver)
    delivery = queue(business)
    moment = timezone.now()
    outcomes = []
    while True:
        with time_machine.travel(moment, tick=False):
            outcomes.append(delivery_attempt(delivery_id=delivery.pk))
        row = reload(delivery)
        if row.status != DeliveryStatus.PENDING:
            break
        moment = row.next_attempt_at

    assert outcomes == ["retrying"] * len(RETRY_DELAYS) + ["failed"]
    assert row.status == DeliveryStatus.FAILED
    assert row.attempts == len(RETRY_DELAYS) + 1 == len(receiver.requests)
    elapsed = moment - row.created_at
    assert timedelta(hours=23) < elapsed <= timedelta(days=1)
    # Long waits are left to the sweep (the broker would hand an hour-long countdown back).
    countdowns = [countdown for _ids, countdown in published if countdown]
    assert max(countdowns) <= services.COUNTDOWN_LIMIT.total_seconds()


def test_no_answer_at_all_is_retried_with_the_reason(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    hook_for(business, receiver)
    with scopes_disabled():
        WebhookEndpoint.objects.update(url="http://127.0.0.1:9/closed")  # discard port
    delivery = queue(business)

    assert delivery_attempt(delivery_id=delivery.pk) == "retrying"

    row = reload(delivery)
    assert row.last_status_code is None
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()


def test_a_deactivated_endpoint_gets_nothing_more(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    endpoint = hook_for(business, receiver)
    delivery = queue(business)
    with scopes_disabled():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)

    assert delivery_attempt(delivery_id=delivery.pk) == "failed"

    assert receiver.requests == []
    assert reload(delivery).last_error == "endpoint deactivated"


def test_the_sweep_retries_what_a_dead_worker_held_and_republishes_lost_tasks(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    hook_for(business, receiver)
    held, lost, exhausted, fresh = (queue(business, f"claim:{n}") for n in range(4))
    now = timezone.now()
    with scopes_disabled():
        WebhookDelivery.objects.filter(pk__in=[held.pk, exhausted.pk]).update(
            status=DeliveryStatus.SENDING, claimed_at=now - STUCK_AFTER - timedelta(seconds=1)
        )
        WebhookDelivery.objects.filter(pk=exhausted.pk).update(attempts=len(RETRY_DELAYS) + 1)
        WebhookDelivery.objects.filter(pk=lost.pk).update(next_attempt_at=now - timedelta(hours=1))

    due = deliveries_sweep(now=now + timedelta(minutes=1))

    assert set(due) == {held.pk, lost.pk, fresh.pk}
    assert reload(held).status == DeliveryStatus.PENDING
    assert reload(exhausted).status == DeliveryStatus.FAILED


def test_the_sweep_forgets_finished_deliveries_after_a_month(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    hook_for(business, receiver)
    old_done, old_failed, old_pending, recent_done = (
        queue(business, f"claim:{n}") for n in range(4)
    )
    now = timezone.now()
    with scopes_disabled():
        month_ago = now - services.KEEP_LOG_FOR - timedelta(minutes=1)
        WebhookDelivery.objects.filter(pk__in=[old_done.pk, recent_done.pk]).update(
            status=DeliveryStatus.DELIVERED
        )
        WebhookDelivery.objects.filter(pk=old_failed.pk).update(status=DeliveryStatus.FAILED)
        WebhookDelivery.objects.exclude(pk=recent_done.pk).update(created_at=month_ago)

        deliveries_sweep(now=now)

        assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {
            old_pending.pk,
            recent_done.pk,
        }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_task_run_twice_at_once_sends_once(
    business: Business, receiver: Receiver, published: list[Any]
) -> None:
    """Two workers get the same task (a redelivery) at the same moment: one sends."""
    hook_for(business, receiver)
    delivery = queue(business)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        from django.db import connection

        try:
            barrier.wait()
            outcomes.append(delivery_attempt(delivery_id=delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["delivered", "not_taken"]
    assert len(receiver.requests) == 1
    assert reload(delivery).attempts == 1
