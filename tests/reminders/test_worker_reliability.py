"""Promise #2 with everything real: at most one automatic send per appointment and rule, and
nothing lost silently, when ticks race, tasks arrive twice, workers die, the broker restarts
and the provider misbehaves.

Each test starts Puntual's own Celery worker (with production's pool) on the test database
and a Redis broker; the worker sends through the real `TwilioSMSBackend` over HTTP to
`FakeTwilio` in this process, and writes emails to files. Nothing of Puntual's is faked.
Time moves only through the services' `now=` (the reaper) or by moving a row's `send_at`
back, as the clock would; every wait polls with a deadline.
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from kombu.exceptions import OperationalError as BrokerDown

from appointments.models import Appointment, Source
from appointments.services import Actor, appointment_book
from clients.models import Client
from reminders.models import (
    Channel,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Purpose,
    ReminderRule,
    RuleChannel,
)
from reminders.services.dispatch import (
    REQUEUE_AFTER,
    RETRY_DELAYS,
    UNKNOWN_AFTER,
    messages_claim_due,
    messages_reap,
)
from tests.celery_harness import (
    Broker,
    CeleryWorker,
    RedisServer,
    database_url,
    emails_by_message,
    wait_until,
    worker_env,
)
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)
from tests.fake_twilio import FakeTwilio, Outcome, Request

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker]

MADRID = ZoneInfo("Europe/Madrid")
TICK = "reminders.tasks.dispatch_due_messages"
SEND = "reminders.tasks.send_message"
FINAL = {
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.SKIPPED,
    MessageStatus.UNKNOWN,
}
# Generous: two shared CPUs; a healthy run settles in a fraction of these.
SETTLE = 30.0

# -- the world ---------------------------------------------------------------------------------


class Practice:
    """A business with one 24 h reminder rule and a staff member free every day, 07:00-21:00."""

    def __init__(self, *, rule_channel: str = RuleChannel.SMS) -> None:
        self.business = BusinessFactory(timezone="Europe/Madrid", phone="+34910000000")
        with scope(tenant=self.business):
            self.location = LocationFactory(tenant=self.business, address="Calle Mayor 1")
            self.service = ServiceFactory(tenant=self.business, duration_minutes=30)
            self.staff = staff_offering(
                tenant=self.business,
                location=self.location,
                services=[self.service],
                hours=((time(7), time(21)),),
                weekdays=range(7),
            )
            self.rule = ReminderRule.objects.create(
                tenant=self.business,
                name="Reminder, 24 h",
                purpose=Purpose.REMINDER,
                channel=rule_channel,
                offset_minutes=24 * 60,
            )
        self._slots = self._free_slots()

    def _free_slots(self) -> Iterator[datetime]:
        day = timezone.now().astimezone(MADRID).date() + timedelta(days=3)
        while True:
            for minutes in range(8 * 60, 20 * 60, 30):
                yield datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=MADRID)
            day += timedelta(days=1)

    def client(self, **kwargs: object) -> Client:
        with scope(tenant=self.business):
            client: Client = ClientFactory(tenant=self.business, language="", **kwargs)
            return client

    def book(self, client: Client | None = None) -> Appointment:
        """Book the next free slot through the one way in, as the dashboard does."""
        with scope(tenant=self.business):
            return appointment_book(
                tenant=self.business,
                location=self.location,
                staff=self.staff,
                service=self.service,
                client=client or self.client(),
                start=next(self._slots),
                source=Source.DASHBOARD,
                actor=Actor.system(),
            )


def reminders_of(appointments: list[Appointment]) -> list[int]:
    with scopes_disabled():
        return list(
            OutboundMessage.objects.filter(
                appointment__in=appointments, kind=MessageKind.RULE
            ).values_list("id", flat=True)
        )


def messages_of(appointments: list[Appointment]) -> list[int]:
    with scopes_disabled():
        return list(
            OutboundMessage.objects.filter(appointment__in=appointments).values_list(
                "id", flat=True
            )
        )


def make_due(message_ids: list[int]) -> None:
    """The clock reaches the reminders' time: their send_at is now."""
    with scopes_disabled():
        assert OutboundMessage.objects.filter(
            pk__in=message_ids, status=MessageStatus.PENDING
        ).update(send_at=timezone.now() - timedelta(seconds=1)) == len(message_ids)


def drop_booking_confirmations(appointments: list[Appointment]) -> None:
    with scopes_disabled():
        OutboundMessage.objects.filter(
            appointment__in=appointments, kind=MessageKind.BOOKING_CONFIRMATION
        ).delete()


def due_rows() -> list[OutboundMessage]:
    """Every row that was due by now (what a tick at this moment must have handled)."""
    with scopes_disabled():
        return list(OutboundMessage.objects.filter(send_at__lte=timezone.now()).order_by("pk"))


def rows(ids: list[int]) -> dict[int, OutboundMessage]:
    with scopes_disabled():
        return {row.pk: row for row in OutboundMessage.objects.filter(pk__in=ids)}


def statuses(ids: list[int]) -> Counter[str]:
    return Counter(row.status for row in rows(ids).values())


def wait_settled(ids: list[int]) -> dict[int, OutboundMessage]:
    """Wait until every row is final or back to pending after an attempt (a retry's backoff)."""

    def settled() -> dict[int, OutboundMessage] | None:
        current = rows(ids)
        final = [r for r in current.values() if r.status in FINAL]
        backing_off = [
            r for r in current.values() if r.status == MessageStatus.PENDING and r.attempts > 0
        ]
        return current if len(final) + len(backing_off) == len(ids) == len(current) else None

    return wait_until(settled, timeout=SETTLE, what=f"{len(ids)} rows to settle")


_CALLBACK = re.compile(r"/twilio/status/(\d+)/$")


def message_of(request: Request) -> int:
    """The outbox row a request to the fake was made for (its status callback names it)."""
    match = _CALLBACK.search(request.form.get("StatusCallback", ""))
    assert match, request.form
    return int(match.group(1))


def assert_each_due_row_settled_once(
    twilio: FakeTwilio, email_dir: Path, *, retrying: set[int] | frozenset[int] = frozenset()
) -> None:
    """The invariant of promise #2, over every row due by now.

    Each is final (sent, failed, skipped, unknown) or, if listed in `retrying`, pending after
    a transient error with its backoff ahead. The providers accepted at most one copy per
    (appointment, rule or notice), and each "sent" row is backed by exactly that one copy.
    """
    due = due_rows()
    assert due, "the scenario made nothing due"
    with scopes_disabled():
        backing_off = OutboundMessage.objects.filter(pk__in=retrying)
        for row in backing_off:
            assert (row.status, row.attempts > 0) == (MessageStatus.PENDING, True), row
            assert row.send_at > timezone.now(), "a retry is planned after its backoff"
    unsettled = {r.pk: (r.status, r.status_reason) for r in due if r.status not in FINAL}
    assert not unsettled, f"rows left neither final nor retrying: {unsettled}"

    accepted_sms = Counter(message_of(r) for r in twilio.accepted)
    emails = emails_by_message(email_dir)
    copies: Counter[tuple[int, str]] = Counter()
    with scopes_disabled():
        every_row = {r.pk: r for r in OutboundMessage.objects.all()}
    for message_id, count in (accepted_sms + Counter(emails)).items():
        row = every_row[message_id]
        copies[(row.appointment_id, f"rule:{row.rule_id}" if row.rule_id else row.dedupe_key)] += (
            count
        )
    assert max(copies.values(), default=0) <= 1, f"sent twice: {copies.most_common(3)}"

    sids = {message_of(r): r.sid for r in twilio.accepted}
    for row in due:
        if row.status == MessageStatus.SENT and row.channel == Channel.SMS:
            assert sids.get(row.pk) == row.provider_id, row
        elif row.status == MessageStatus.SENT:
            assert emails.get(row.pk) == 1, row
        else:
            assert row.pk not in sids and row.pk not in emails, (row, row.status_reason)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(hang_seconds=2.0) as fake:
        yield fake


@pytest.fixture
def email_dir(tmp_path: Path) -> Path:
    path = tmp_path / "emails"
    path.mkdir()
    return path


@pytest.fixture
def broker() -> Iterator[Broker]:
    broker = Broker(url=os.environ["CELERY_BROKER_URL"])
    yield broker
    broker.flush()


StartWorker = Callable[..., CeleryWorker]


@pytest.fixture
def start_worker(
    transactional_db: None, twilio: FakeTwilio, email_dir: Path, tmp_path: Path
) -> Iterator[StartWorker]:
    """Start a real worker on the test database; every one is SIGKILLed at teardown, before
    the database is flushed."""
    started: list[CeleryWorker] = []
    env = worker_env(
        database_url=database_url(connection.settings_dict),
        twilio_url=twilio.url,
        email_dir=email_dir,
    )

    def start(
        broker: Broker,
        *,
        concurrency: int = 2,
        pool: str | None = None,
        twilio_read_timeout: float = 1.0,
        transport_overrides: dict[str, float] | None = None,
    ) -> CeleryWorker:
        worker = CeleryWorker(
            broker=broker,
            env={**env, "TWILIO_READ_TIMEOUT": str(twilio_read_timeout)},
            log_path=tmp_path / f"worker-{len(started)}.log",
            concurrency=concurrency,
            pool=pool,
            transport_overrides=transport_overrides,
        )
        started.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()


def backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL would keep answering from its first snapshot.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


# -- 1. two dispatcher ticks at once ------------------------------------------------------------


def test_two_ticks_at_once_send_every_due_message_exactly_once(
    start_worker: StartWorker, broker: Broker, twilio: FakeTwilio, email_dir: Path
) -> None:
    practice = Practice()
    appointments = [practice.book() for _ in range(20)]
    make_due(reminders_of(appointments))  # 20 SMS reminders + 20 booking confirmations due
    due = [row.pk for row in due_rows()]
    assert len(due) == 40
    worker = start_worker(broker, concurrency=2)

    # Hold the outbox table so both ticks, each in its own pool slot, block at their first
    # statement; releasing it lets them reap and claim at the same instant.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE reminders_outboundmessage IN EXCLUSIVE MODE")
        ticks = [broker.publish(TICK), broker.publish(TICK)]
        wait_until(
            lambda: backends_waiting_on_a_lock() >= 2, timeout=SETTLE, what="both ticks blocked"
        )

    claimed = [worker.wait_for_run(tick).result for tick in ticks]
    assert sorted(claimed) == [0, 40]  # each due row claimed by one tick, never by both
    settled = wait_settled(due)
    assert Counter(r.status for r in settled.values()) == {MessageStatus.SENT: 40}
    assert Counter(r.channel for r in settled.values()) == {Channel.SMS: 20, Channel.EMAIL: 20}
    wait_until(lambda: sum(worker.send_outcomes().values()) == 40, timeout=SETTLE, what="40 sends")
    assert worker.send_outcomes() == {"sent": 40}  # no row was enqueued twice
    assert len(twilio.requests) == 20
    assert_each_due_row_settled_once(twilio, email_dir)


# -- 2. the same send task delivered twice ---------------------------------------------------------


def test_a_send_task_delivered_twice_at_once_calls_the_provider_once(
    start_worker: StartWorker, broker: Broker, twilio: FakeTwilio, email_dir: Path
) -> None:
    practice = Practice()
    appointments = [practice.book() for _ in range(3)]
    drop_booking_confirmations(appointments)
    make_due(reminders_of(appointments))
    claimed = messages_claim_due(now=timezone.now())  # the tick's claim: pending -> queued
    assert len(claimed) == 3
    worker = start_worker(broker, concurrency=2)

    # Lock the rows: both deliveries of the first task (the two pool slots take them
    # together) block on the same row, and race for it when the lock goes.
    with transaction.atomic(), scopes_disabled():
        list(OutboundMessage.objects.select_for_update().filter(pk__in=claimed))
        task_ids = {}
        for message_id in claimed:
            task_ids[message_id] = broker.publish(SEND, message_id)
            broker.publish(SEND, message_id, task_id=task_ids[message_id])  # redelivered
        wait_until(
            lambda: backends_waiting_on_a_lock() >= 2, timeout=SETTLE, what="two sends blocked"
        )

    wait_until(lambda: len(worker.runs(SEND)) == 6, timeout=SETTLE, what="6 send runs")
    for message_id, task_id in task_ids.items():
        outcomes = sorted(run.result for run in worker.runs(SEND) if run.task_id == task_id)
        assert outcomes == ["not_taken", "sent"], (message_id, outcomes)
    assert sorted(message_of(r) for r in twilio.requests) == sorted(claimed)
    settled = rows(claimed)
    assert {(r.status, r.attempts) for r in settled.values()} == {(MessageStatus.SENT, 1)}
    assert_each_due_row_settled_once(twilio, email_dir)


def test_a_send_the_broker_redelivers_while_it_runs_calls_the_provider_once(
    start_worker: StartWorker, broker: Broker, twilio: FakeTwilio, email_dir: Path
) -> None:
    practice = Practice()
    appointments = [practice.book()]
    drop_booking_confirmations(appointments)
    ids = reminders_of(appointments)
    make_due(ids)
    twilio.delay = 3.0  # the provider is slow: the call outlasts the visibility timeout
    # Redis hands an unacked task to another consumer once its visibility timeout passes,
    # even while the first one still runs it. An hour in production; half a second here.
    worker = start_worker(
        broker,
        concurrency=2,
        twilio_read_timeout=10,
        transport_overrides={
            "visibility_timeout": 0.5,
            "unacked_restore_interval": 0.2,
            "unacked_restore_throttle": 1,
        },
    )

    assert worker.wait_for_run(broker.publish(TICK)).result == 1
    wait_until(
        lambda: worker.send_outcomes()["sent"] and worker.idle(),
        timeout=SETTLE,
        what="the message sent and every delivery of its task finished",
    )
    assert worker.send_outcomes()["sent"] == 1
    assert len(twilio.requests) == 1
    # A copy ran while the first delivery was still in the provider call, and took nothing.
    first_finished = next(r for r in worker.runs() if r.name.startswith(SEND))
    assert "not_taken" in str(first_finished.result), worker.send_outcomes()
    assert_each_due_row_settled_once(twilio, email_dir)


# -- 3. a worker killed while the provider call is in flight --------------------------------------


def test_a_pool_process_killed_mid_send_is_redelivered_and_sends_nothing_twice(
    start_worker: StartWorker, broker: Broker, twilio: FakeTwilio, email_dir: Path
) -> None:
    practice = Practice()
    client = practice.client()
    appointments = [practice.book(client)]
    drop_booking_confirmations(appointments)
    [message_id] = reminders_of(appointments)
    make_due([message_id])
    twilio.hang_seconds = 8.0
    twilio.script(client.phone, [Outcome.HANG])
    # Only the prefork pool has pool processes to lose (with threads, see the next test).
    worker = start_worker(broker, concurrency=1, pool="prefork", twilio_read_timeout=20)

    assert worker.wait_for_run(broker.publish(TICK)).result == 1
    wait_until(lambda: twilio.requests, timeout=SETTLE, what="the provider call")
    assert rows([message_id])[message_id].status == MessageStatus.SENDING
    [pool_process] = worker.pool_pids()
    os.kill(pool_process, signal.SIGKILL)  # the process dies with the request in flight

    # acks_late + reject_on_worker_lost: Celery puts the task back and a new pool process
    # runs it again. The row is "sending", so the second run takes nothing.
    wait_until(worker.send_outcomes, timeout=SETTLE, what="the redelivered send task")
    assert worker.send_outcomes() == {"not_taken": 1}
    assert "WorkerLostError" in worker.log()
    assert len(twilio.requests) == 1
    assert rows([message_id])[message_id].status == MessageStatus.SENDING

    # The reaper, once the call has certainly ended, says "unknown" and re-enqueues nothing.
    later = timezone.now() + UNKNOWN_AFTER + timedelta(seconds=1)
    assert messages_reap(now=later) == []
    row = rows([message_id])[message_id]
    assert (row.status, row.status_reason, row.attempts) == (
        MessageStatus.UNKNOWN,
        "interrupted while sending",
        1,
    )
    assert worker.wait_for_run(broker.publish(TICK)).result == 0
    assert worker.wait_for_run(broker.publish(SEND, message_id)).result == "not_taken"
    assert len(twilio.requests) == 1
    assert_each_due_row_settled_once(twilio, email_dir)


def test_a_worker_killed_mid_send_leaves_unknown_and_a_new_worker_sends_only_the_rest_once(
    start_worker: StartWorker, broker: Broker, twilio: FakeTwilio, email_dir: Path
) -> None:
    practice = Practice()
    appointments = [practice.book() for _ in range(4)]
    drop_booking_confirmations(appointments)
    ids = reminders_of(appointments)
    make_due(ids)
    twilio.default = Outcome.HANG
    twilio.hang_seconds = 8.0
    first = start_worker(broker, concurrency=1, twilio_read_timeout=20)

    assert first.wait_for_run(broker.publish(TICK)).result == 4
    wait_until(lambda: twilio.requests, timeout=SETTLE, what="the first provider call")
    [in_flight] = [message_of(r) for r in twilio.requests]
    assert statuses(ids) == {MessageStatus.SENDING: 1, MessageStatus.QUEUED: 3}
    first.kill()  # SIGKILL to the whole worker: no ack, no shutdown, nothing recorded
    twilio.default = Outcome.OK

    # The new worker takes what is left in the broker, and the dead worker's unacked task
    # once its visibility timeout passes (shortened here from an hour): the three claimed
    # rows go once, the one in flight is "sending" and taken by nobody.
    second = start_worker(
        broker,
        concurrency=1,
        transport_overrides={
            "visibility_timeout": 2,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        },
    )
    wait_until(
        lambda: sum(second.send_outcomes().values()) == 4,
        timeout=SETTLE,
        what="the claimed rows sent and the dead worker's task redelivered",
    )
    assert second.send_outcomes() == {"sent": 3, "not_taken": 1}
    assert statuses(ids) == {MessageStatus.SENT: 3, MessageStatus.SENDING: 1}

    assert messages_reap(now=timezone.now() + UNKNOWN_AFTER + timedelta(seconds=1)) == []
    row = rows([in_flight])[in_flight]
    assert (row.status, row.status_reason) == (MessageStatus.UNKNOWN, "interrupted while sending")
    assert second.wait_for_run(broker.publish(TICK)).result == 0
    assert Counter(message_of(r) for r in twilio.requests) == dict.fromkeys(ids, 1)
    assert_each_due_row_settled_once(twilio, email_dir)


# -- 4. the broker goes away and comes back ----------------------------------------------------------


def test_bookings_commit_while_the_broker_is_down_and_every_due_message_ends_once(
    start_worker: StartWorker, twilio: FakeTwilio, email_dir: Path, tmp_path: Path
) -> None:
    with RedisServer(tmp_path / "redis.log") as redis_server:
        broker = Broker(url=redis_server.url)
        practice = Practice()
        worker = start_worker(broker, concurrency=2)
        earlier = [practice.book() for _ in range(5)]
        make_due(reminders_of(earlier))
        assert worker.wait_for_run(broker.publish(TICK)).result == 10
        wait_settled([row.pk for row in due_rows()])
        stranded = [practice.book() for _ in range(10)]
        make_due(reminders_of(stranded))

        # A tick blocked on the outbox when the broker dies: it claims the due rows, then
        # cannot enqueue their sends. Nothing of that reaches the broker.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE reminders_outboundmessage IN EXCLUSIVE MODE")
            tick = broker.publish(TICK)
            wait_until(lambda: backends_waiting_on_a_lock(), timeout=SETTLE, what="the tick")
            redis_server.kill()  # no persistence: whatever it held is gone too
        worker.wait_for_log(
            re.compile(rf"\[{tick}\] raised unexpected: OperationalError"),
            timeout=SETTLE,
            what="the tick failing to enqueue",
            even_if_exited=True,
        )
        claimed = messages_of(stranded)
        assert statuses(claimed) == {MessageStatus.QUEUED: 20}

        with pytest.raises(BrokerDown):
            broker.publish(TICK)
        during = [practice.book() for _ in range(4)]  # bookings do not need the broker
        with scopes_disabled():
            assert Appointment.objects.filter(pk__in=[a.pk for a in during]).count() == 4
            assert OutboundMessage.objects.filter(appointment__in=during).count() == 8
        redis_server.start()

        wait_until(
            lambda: worker.reconnections() or worker.exited(),
            timeout=SETTLE,
            what="the worker to reconnect",
        )
        if worker.exited():
            # Celery can die of a lost broker (see the next test); production's supervisor
            # (docker-compose: restart: unless-stopped) starts it again, and so does this test.
            worker = start_worker(broker, concurrency=2)
        # Past REQUEUE_AFTER the reaper hands back exactly the rows whose sends never reached
        # the broker; they are enqueued again (as the tick does with what the reaper returns),
        # and a tick claims the rows that fell due meanwhile.
        make_due(reminders_of(during))
        requeued = messages_reap(now=timezone.now() + REQUEUE_AFTER + timedelta(seconds=1))
        assert sorted(requeued) == sorted(claimed)
        for message_id in requeued:
            broker.publish(SEND, message_id)
        assert worker.wait_for_run(broker.publish(TICK)).result == 8

        due = [row.pk for row in due_rows()]
        assert len(due) == 2 * (5 + 10 + 4)  # a booking confirmation and a reminder each
        settled = wait_settled(due)
        assert Counter(r.status for r in settled.values()) == {MessageStatus.SENT: len(due)}
        assert_each_due_row_settled_once(twilio, email_dir)
        worker.kill()  # before its broker goes for good


# kombu 5.7 / celery 5.7: when the remote-control (pidbox) subscription is the first to see
# the broker gone while a task is unacked, the worker exits (AttributeError 'hostname') about
# half the time. Puntual turns remote control off (CELERY_WORKER_ENABLE_REMOTE_CONTROL): this
# test fails again if it is turned back on.
def test_the_worker_outlives_its_broker_restarting_while_a_send_is_in_flight(
    start_worker: StartWorker, twilio: FakeTwilio, tmp_path: Path
) -> None:
    with RedisServer(tmp_path / "redis.log") as redis_server:
        broker = Broker(url=redis_server.url)
        practice = Practice()
        appointments = [practice.book()]
        drop_booking_confirmations(appointments)
        make_due(reminders_of(appointments))
        twilio.delay = 3.0  # the send is in flight, its task unacked, when the broker goes
        worker = start_worker(broker, concurrency=2, twilio_read_timeout=10)
        assert worker.wait_for_run(broker.publish(TICK)).result == 1
        wait_until(lambda: twilio.requests, timeout=SETTLE, what="the provider call")

        redis_server.kill()
        redis_server.start()

        wait_until(
            lambda: worker.reconnections() or worker.exited(),
            timeout=SETTLE,
            what="the worker to reconnect",
        )
        assert not worker.exited(), worker.log()[-3000:]
        worker.kill()


# -- 5. the provider misbehaves ----------------------------------------------------------------------


def test_each_provider_answer_ends_in_the_right_status_and_reason(
    start_worker: StartWorker, broker: Broker, twilio: FakeTwilio, email_dir: Path
) -> None:
    sms = Practice(rule_channel=RuleChannel.SMS)
    fallback = Practice(rule_channel=RuleChannel.SMS_THEN_EMAIL)
    scripts = {
        "rate_limited": (sms, {}, [Outcome.RATE_LIMITED, Outcome.OK]),
        "server_error": (sms, {}, [Outcome.SERVER_ERROR]),
        "hang": (sms, {}, [Outcome.HANG]),
        "close": (sms, {}, [Outcome.CLOSE]),
        "invalid": (sms, {}, [Outcome.INVALID_NUMBER]),
        "ok": (sms, {}, [Outcome.OK]),
        "opted_out_by_email": (fallback, {}, [Outcome.OPTED_OUT]),
        "invalid_no_email": (fallback, {"email": ""}, [Outcome.INVALID_NUMBER]),
    }
    twilio.default = Outcome.SERVER_ERROR  # an unscripted second call would show
    message: dict[str, int] = {}
    for case, (practice, client_fields, outcomes) in scripts.items():
        client = practice.client(**client_fields)
        twilio.script(client.phone, outcomes)
        appointment = practice.book(client)
        drop_booking_confirmations([appointment])
        [message[case]] = reminders_of([appointment])
    make_due(list(message.values()))
    worker = start_worker(broker, concurrency=2, twilio_read_timeout=1.0)

    assert worker.wait_for_run(broker.publish(TICK)).result == 8
    settled = wait_settled(list(message.values()))
    outcome = {
        case: (settled[pk].status, settled[pk].channel, settled[pk].status_reason)
        for case, pk in message.items()
    }
    twilio_refused = "Unable to create record:"  # how the twilio package words an error answer
    assert outcome == {
        "rate_limited": (MessageStatus.PENDING, Channel.SMS, "retrying: 20429"),
        "server_error": (
            MessageStatus.UNKNOWN,
            Channel.SMS,
            f"20500: {twilio_refused} Internal Server Error",
        ),
        "hang": (
            MessageStatus.UNKNOWN,
            Channel.SMS,
            "timeout: no clear answer from Twilio: ReadTimeout",
        ),
        "close": (
            MessageStatus.UNKNOWN,
            Channel.SMS,
            "timeout: no clear answer from Twilio: ConnectionError",
        ),
        "invalid": (
            MessageStatus.FAILED,
            Channel.SMS,
            f"21211: {twilio_refused} The 'To' number is not a valid phone number.",
        ),
        "ok": (MessageStatus.SENT, Channel.SMS, ""),
        "opted_out_by_email": (
            MessageStatus.SENT,
            Channel.EMAIL,
            "SMS failed (21610); sent by email",
        ),
        "invalid_no_email": (
            MessageStatus.FAILED,
            Channel.SMS,
            f"21211: {twilio_refused} The 'To' number is not a valid phone number.",
        ),
    }
    retry = settled[message["rate_limited"]]
    assert retry.claimed_at is not None
    assert retry.send_at == retry.claimed_at + RETRY_DELAYS[0]
    assert_each_due_row_settled_once(twilio, email_dir, retrying={retry.pk})

    # The next tick, before the backoff has passed: nothing is claimed, nothing resent.
    assert worker.wait_for_run(broker.publish(TICK)).result == 0
    # A minute later the 429'd reminder goes out; the unknown ones still never do.
    with scopes_disabled():
        OutboundMessage.objects.filter(pk=retry.pk).update(send_at=F("send_at") - RETRY_DELAYS[0])
    assert worker.wait_for_run(broker.publish(TICK)).result == 1
    retry = wait_settled([retry.pk])[retry.pk]
    assert (retry.status, retry.attempts, retry.status_reason) == (MessageStatus.SENT, 2, "")
    calls = Counter(message_of(r) for r in twilio.requests)
    assert calls == {pk: 2 if case == "rate_limited" else 1 for case, pk in message.items()}
    assert emails_by_message(email_dir) == {message["opted_out_by_email"]: 1}
    assert_each_due_row_settled_once(twilio, email_dir)
