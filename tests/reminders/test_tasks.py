"""The dispatcher's tasks: a tick publishes its claimed messages in batches through one
producer, a batch sends each message at most once, however often it runs, and each worker
thread keeps one SMS backend (its HTTP connections) from one message to the next."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django_scopes import scopes_disabled

from reminders import tasks
from reminders.channels.sms import TwilioSMSBackend, get_sms_backend
from reminders.models import MessageStatus, OutboundMessage
from reminders.services.dispatch import messages_claim_due
from reminders.tasks import dispatch_due_messages, send_messages
from tests.fakes import ScriptedSMSBackend
from tests.reminders.conftest import Clinic

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
MONDAY = datetime(2026, 6, 8, 10, 0, tzinfo=MADRID)
# Sunday noon: the 24 h reminders of Monday's 10:00-12:00 visits are all due, none too late.
ALL_DUE = MONDAY + timedelta(hours=2) - timedelta(hours=24)

Published = list[tuple[list[int], object]]


def _book_reminders(clinic: Clinic, count: int) -> list[int]:
    for index in range(count):
        clinic.book(MONDAY + timedelta(minutes=30 * index))
    OutboundMessage.objects.exclude(rule__name="Reminder, 24 h").delete()
    return sorted(OutboundMessage.objects.values_list("id", flat=True))


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Published:
    """What the tick hands the broker: each send task's ids, and the producer it went through."""
    calls: Published = []

    @contextlib.contextmanager
    def producer_or_acquire(producer: object = None) -> Iterator[object]:
        yield object()  # a new one per acquisition: the test sees how many were used

    def apply_async(args: tuple[list[int]], *, producer: object, **options: Any) -> None:
        calls.append((list(args[0]), producer))

    monkeypatch.setattr(send_messages.app, "producer_or_acquire", producer_or_acquire)
    monkeypatch.setattr(send_messages, "apply_async", apply_async)
    return calls


def test_a_tick_publishes_its_due_messages_in_batches_through_one_producer(
    clinic: Clinic,
    published: Published,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    due = _book_reminders(clinic, 5)
    monkeypatch.setattr(tasks, "SEND_BATCH_SIZE", 2)

    with (
        time_machine.travel(ALL_DUE, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert dispatch_due_messages() == 5

    assert [len(ids) for ids, _producer in published] == [2, 2, 1]
    assert sorted(i for ids, _producer in published for i in ids) == due
    assert len({id(producer) for _ids, producer in published}) == 1
    statuses = set(OutboundMessage.objects.values_list("status", flat=True))
    assert statuses == {MessageStatus.QUEUED}


def test_a_tick_publishes_only_once_its_claim_has_committed(
    clinic: Clinic, published: Published, django_capture_on_commit_callbacks: Any
) -> None:
    _book_reminders(clinic, 2)
    with (
        time_machine.travel(ALL_DUE, tick=False),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        dispatch_due_messages()
    assert callbacks and published == []  # the commit has not happened: nothing went out
    callbacks[0]()
    assert len(published) == 1


def test_a_batch_run_twice_sends_each_message_once(clinic: Clinic) -> None:
    due = _book_reminders(clinic, 3)
    with time_machine.travel(ALL_DUE, tick=False):
        assert sorted(messages_claim_due(now=ALL_DUE)) == due

        assert send_messages(due) == {"sent": 3}
        assert send_messages(due) == {"not_taken": 3}  # the broker delivered it again

    assert len(ScriptedSMSBackend.sent) == 3
    assert sorted(OutboundMessage.objects.values_list("status", "attempts")) == [("sent", 1)] * 3


def test_a_message_that_fails_unexpectedly_is_left_to_the_reaper_and_the_batch_goes_on(
    clinic: Clinic,
) -> None:
    due = _book_reminders(clinic, 3)
    ScriptedSMSBackend.reset([RuntimeError("a bug, not a transport error")])
    with time_machine.travel(ALL_DUE, tick=False):
        messages_claim_due(now=ALL_DUE)

        assert send_messages(due) == {"error": 1, "sent": 2}

    first = OutboundMessage.objects.get(pk=due[0])
    # In flight when it failed: the reaper will call it "unknown"; nothing sends it again.
    assert (first.status, first.attempts) == (MessageStatus.SENDING, 1)
    assert len(ScriptedSMSBackend.sent) == 2


def test_each_thread_keeps_one_sms_backend_until_its_settings_change() -> None:
    twilio = {
        "SMS_BACKEND": "reminders.channels.sms.TwilioSMSBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_READ_TIMEOUT": 15.0,
    }
    with override_settings(**twilio):
        backend = get_sms_backend()
        assert isinstance(backend, TwilioSMSBackend)
        assert get_sms_backend() is backend  # one HTTP session for every message

        elsewhere: list[object] = []
        thread = threading.Thread(target=lambda: elsewhere.append(get_sms_backend()))
        thread.start()
        thread.join()
        assert elsewhere[0] is not backend  # requests' sessions are not shared by threads

        with override_settings(TWILIO_READ_TIMEOUT=2.0):
            changed = get_sms_backend()
            assert changed is not backend
            assert isinstance(changed, TwilioSMSBackend)
            assert changed.client.http_client.timeout == (5.0, 2.0)


def test_a_task_run_eagerly_leaves_its_callers_connection_alone(clinic: Clinic) -> None:
    due = _book_reminders(clinic, 1)
    with time_machine.travel(ALL_DUE, tick=False):
        messages_claim_due(now=ALL_DUE)
        send_messages.apply(args=(due,))  # task_prerun/postrun fire, as in a worker

    # Still the test's own connection, in its transaction: the rows are visible.
    assert connection.in_atomic_block
    with scopes_disabled():
        assert OutboundMessage.objects.get(pk=due[0]).status == MessageStatus.SENT
