"""With a real Celery worker and Redis: a booking's webhook reaches a receiver on localhost that
verifies the signature, answers 500 first and 200 next; the worker retries after the backoff
and the event is delivered once, though its task was published twice."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from hooks import services
from hooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.celery_harness import Broker, CeleryWorker, database_url, wait_until, worker_env
from tests.hooks.conftest import Practice, Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker]

DELIVER = "hooks.tasks.deliver_webhook"


@pytest.fixture
def broker() -> Iterator[Broker]:
    broker = Broker(url=os.environ["CELERY_BROKER_URL"])
    yield broker
    broker.flush()


@pytest.fixture
def worker(transactional_db: None, broker: Broker, tmp_path: Path) -> Iterator[CeleryWorker]:
    env = worker_env(
        database_url=database_url(connection.settings_dict),
        twilio_url="http://127.0.0.1:9",  # no SMS in these tests
        email_dir=tmp_path,
    )
    worker = CeleryWorker(broker=broker, env=env, log_path=tmp_path / "worker.log")
    try:
        yield worker.start()
    finally:
        worker.kill()


def test_a_webhook_answered_500_is_retried_by_the_worker_and_delivered_once(
    worker: CeleryWorker, broker: Broker, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.answers = [(500, {}), (200, {})]
    practice = Practice()
    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.create(
            tenant=practice.business,
            url=receiver.url,
            events=["appointment.created"],
            secret="whsec_worker-test",
        )
    receiver.secret = endpoint.secret

    # This process publishes as Puntual does, after the commit, to this test's broker keys;
    # and twice, as a broker redelivering a task would.
    def publish(ids: list[int], countdown: float | None = None) -> None:
        for delivery_id in ids:
            broker.publish(DELIVER, delivery_id)
            broker.publish(DELIVER, delivery_id)

    monkeypatch.setattr(services, "_publish", publish)
    appointment = practice.book()

    def delivered() -> WebhookDelivery | None:
        with scopes_disabled():
            row = WebhookDelivery.objects.get(endpoint=endpoint)
        return row if row.status == DeliveryStatus.DELIVERED else None

    row = wait_until(delivered, timeout=45, what="the delivery to succeed")
    wait_until(worker.idle, timeout=15, what="the worker to finish its tasks")

    assert row.attempts == 2
    assert row.last_status_code == 200
    assert len(receiver.requests) == 2
    assert all(request.verified for request in receiver.requests)
    assert {request.headers["puntual-event-id"] for request in receiver.requests} == {row.event_id}
    assert receiver.requests[1].body == receiver.requests[0].body
    assert row.payload["data"]["appointment"]["id"] == appointment.pk
    outcomes = Counter(run.result for run in worker.runs(DELIVER))
    assert outcomes == {"retrying": 1, "not_taken": 1, "delivered": 1}
