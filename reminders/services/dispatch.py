"""Dispatching the outbox: claim due rows, send each one at most once, record the outcome.

The states a row goes through, and who moves it:

    pending --claim (tick)--> queued --take (send task)--> sending --> sent | failed | skipped | unknown
       ^                         |                              |
       +--- transient error -----+------------------------------+   (back to pending with backoff)

- A tick claims due rows with SELECT ... FOR UPDATE SKIP LOCKED (two ticks never claim the
  same row) and enqueues one send task per row after its transaction commits.
- A send task takes its row only while it is queued, under its row lock (queued -> sending,
  with the content about to be sent). A duplicate task, or a task for a row that was skipped
  meanwhile, finds nothing to take and stops.
- A row stays "sending" only while its provider call runs. If the worker dies there, nobody
  can know whether the provider accepted it: the reaper marks it "unknown", never resends.
- A row "queued" whose task never ran (the broker lost it) is enqueued again by the reaper;
  the conditional update keeps that safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from appointments.models import Appointment, AppointmentStatus, Service, StaffMember
from clients.models import Client
from hooks.services import enqueue_message_failed
from reminders.channels.email import send_email
from reminders.channels.sms import TransportError, get_sms_backend
from reminders.models import (
    Channel,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Purpose,
    ReminderRule,
    RuleChannel,
)
from reminders.services.content import Content, message_content
from reminders.services.inbound import TWILIO_OPTED_OUT, sms_opt_out_record
from tenants.models import Business, Location
from tenants.rows import column_count, instances, select_list

# Rows claimed per statement: keeps each claiming transaction short while a tick that finds
# thousands of due rows still claims them in a handful of round trips.
CLAIM_BATCH_SIZE = 500
# A tick never claims more than this: the rest waits for the next minute, and a backlog
# never turns one tick into a long transaction-heavy run.
MAX_CLAIMS_PER_TICK = 20_000
# Queued this long without its task running: the task was lost (broker restart); enqueue again.
REQUEUE_AFTER = timedelta(minutes=5)
# In flight this long: the worker died during the provider call; the outcome is unknown.
# Well above the transports' timeouts (Twilio: 5 s connect + 15 s read).
UNKNOWN_AFTER = timedelta(minutes=10)
# Transient errors: retry after these delays, then give up (failed).
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)


def messages_due(*, now: datetime, limit: int = CLAIM_BATCH_SIZE) -> QuerySet[OutboundMessage, int]:
    """The ids of up to `limit` due rows, oldest first, locked by whoever runs it (skipping rows
    another tick holds). It reads `outbound_due_idx` only up to `now`: the future rows planned
    ahead, however many, are never scanned. Needs a transaction and no active scope."""
    return (
        OutboundMessage.objects.select_for_update(skip_locked=True)
        .filter(status=MessageStatus.PENDING, send_at__lte=now)
        .order_by("send_at")
        .values_list("id", flat=True)[:limit]
    )


def messages_claim_due(*, now: datetime, limit: int = CLAIM_BATCH_SIZE) -> list[int]:
    """Claim up to `limit` due rows (pending -> queued). Safe to run in parallel."""
    with scopes_disabled(), transaction.atomic():
        ids = list(messages_due(now=now, limit=limit))
        if ids:
            OutboundMessage.objects.filter(id__in=ids, status=MessageStatus.PENDING).update(
                status=MessageStatus.QUEUED, claimed_at=now
            )
    return ids


def messages_reap(*, now: datetime) -> list[int]:
    """Settle rows a crash left behind. Returns the queued rows whose task must be enqueued again."""
    with scopes_disabled(), transaction.atomic():
        OutboundMessage.objects.filter(
            status=MessageStatus.SENDING, claimed_at__lt=now - UNKNOWN_AFTER
        ).update(status=MessageStatus.UNKNOWN, status_reason="interrupted while sending")
        stale = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.QUEUED, claimed_at__lt=now - REQUEUE_AFTER)
            .values_list("id", flat=True)[:CLAIM_BATCH_SIZE]
        )
        if stale:
            OutboundMessage.objects.filter(id__in=stale).update(claimed_at=now)
    return stale


def _finish(message: OutboundMessage, status: str, reason: str = "", **fields: object) -> str:
    """Record the outcome of a row this task holds (only from "sending": nobody else's row)."""
    OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=status, status_reason=reason[:200], **fields
    )
    if status == MessageStatus.FAILED:
        enqueue_message_failed(message_id=message.pk)  # outbound webhook "message.failed"
    return str(status)


def _why_not(message: OutboundMessage, now: datetime) -> str:
    """Why this message should not go out any more ("" if it should)."""
    appointment = message.appointment
    if message.kind in (MessageKind.CANCELLATION_NOTICE, MessageKind.REQUEST_DECLINED):
        return ""
    if message.kind == MessageKind.REQUEST_RECEIVED:
        # Answered before it went out: the answer's own message says what matters now.
        return "" if appointment.status == AppointmentStatus.REQUESTED else "answered"
    if appointment.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED):
        return (
            "cancelled" if appointment.status == AppointmentStatus.CANCELLED else "appointment_over"
        )
    if message.rule is not None:
        if not message.rule.is_active or message.rule.purpose == Purpose.SURVEY:
            # A rule that became a survey after this row was planned is no reminder any more.
            return "rule_inactive"
        if message.rule.only_if_unconfirmed and appointment.status == AppointmentStatus.CONFIRMED:
            return "confirmed"
    if message.kind == MessageKind.RULE and appointment.start <= message.send_at - timedelta(
        minutes=1
    ):
        return "too_late"
    return ""


def _can_sms(client: Client) -> bool:
    return bool(client.phone and client.sms_consent)


def _can_email(client: Client) -> bool:
    return bool(
        client.email and client.email_consent and not getattr(client, "email_bounced_at", None)
    )


def _route(message: OutboundMessage, client: Client) -> tuple[str, str]:
    """(channel, reason): the channel to use now, or "" and why none can be."""
    if message.rule is not None and message.rule.channel == RuleChannel.SMS:
        return (
            (Channel.SMS, "")
            if _can_sms(client)
            else ("", "no_sms_consent" if client.phone else "no_phone")
        )
    if message.rule is not None and message.rule.channel == RuleChannel.EMAIL:
        return (
            (Channel.EMAIL, "")
            if _can_email(client)
            else ("", "no_email_consent" if client.email else "no_email")
        )
    # SMS then email, and the transactional notices: email first for notices (room for the
    # details and the .ics), SMS first for the rule that asks for it.
    order = (
        (Channel.SMS, Channel.EMAIL) if message.rule is not None else (Channel.EMAIL, Channel.SMS)
    )
    for channel in order:
        if (channel == Channel.SMS and _can_sms(client)) or (
            channel == Channel.EMAIL and _can_email(client)
        ):
            return channel, ""
    return "", "no_consent"


def _status_callback(message: OutboundMessage) -> str:
    try:
        path = reverse(
            "webhooks:twilio_status",
            kwargs={"business_slug": message.tenant.slug, "message_id": message.pk},
        )
    except NoReverseMatch:
        return ""
    return settings.PUNTUAL_BASE_URL.rstrip("/") + path


@dataclass(frozen=True)
class _Outgoing:
    channel: str
    to: str
    content: Content


def _render(
    message: OutboundMessage, channel: str, now: datetime
) -> tuple[_Outgoing, dict[str, str]]:
    """The message as it will go through `channel`, and the fields that record it."""
    appointment = message.appointment
    client = appointment.client
    language = client.language or appointment.tenant.language
    content = message_content(
        message=message, appointment=appointment, channel=channel, language=language, now=now
    )
    to = client.phone if channel == Channel.SMS else client.email
    recorded = {
        "channel": channel,
        "to": to,
        "language": language,
        "subject": content.subject,
        "body": content.text,
    }
    return _Outgoing(channel=channel, to=to, content=content), recorded


def _transmit(message: OutboundMessage, outgoing: _Outgoing) -> str:
    """Hand the message to its provider; return the provider's id or raise TransportError."""
    content = outgoing.content
    if outgoing.channel == Channel.SMS:
        return get_sms_backend().send(
            to=outgoing.to,
            body=content.text,
            status_callback=_status_callback(message),
            sender=message.tenant.sms_sender,
        )
    return send_email(
        to=outgoing.to,
        subject=content.subject,
        text=content.text,
        html=content.html,
        attachments=content.attachments,
        message_id=message.pk,
    )


def message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Send one queued message at most once. Returns the outcome (for logs and tests).

    One short transaction takes the row (queued -> sending, under its row lock: a duplicate
    task waits, then finds it taken) and records what is about to be sent, so that it is
    visible even if the worker dies during the provider call. The call runs after the commit;
    one more statement records its outcome. Every row version and commit costs PostgreSQL
    more than the rest of the send: two updates per message, not four statements.
    """
    now = now or timezone.now()
    with transaction.atomic():
        message = _load_queued(message_id)
        if message is None:
            return "not_taken"  # a duplicate task, or the row was skipped or sent meanwhile
        with scope(tenant=message.tenant):
            taken = _take(message, now)
    if isinstance(taken, str):
        return taken
    with scope(tenant=message.tenant):
        return _deliver(message, taken, now)


# The rows a send needs, in two hand-written statements (see tenants.rows): the ORM took ~2 ms
# of the worker's CPU per message to build these two queries, more than the rest of a send's
# Python. Two short queries, not one join of eight tables: PostgreSQL took longer to plan that
# join (~9 ms of CPU) than to run everything else a send asks of it.
_SEND_MESSAGE_SQL = (
    f"SELECT {select_list(OutboundMessage, 'm')}, {select_list(Business, 't')},"  # noqa: S608 - _meta names only
    f" {select_list(ReminderRule, 'r')}"
    f" FROM {OutboundMessage._meta.db_table} m"
    f" JOIN {Business._meta.db_table} t ON t.id = m.tenant_id"
    f" LEFT JOIN {ReminderRule._meta.db_table} r ON r.id = m.rule_id"
    " WHERE m.id = %s AND m.status = %s"
)
_SEND_APPOINTMENT_SQL = (
    f"SELECT {select_list(Appointment, 'a')}, {select_list(Client, 'c')},"  # noqa: S608 - _meta names only
    f" {select_list(Location, 'l')}, {select_list(Service, 's')},"
    f" {select_list(StaffMember, 'st')}"
    f" FROM {Appointment._meta.db_table} a"
    f" JOIN {Client._meta.db_table} c ON c.id = a.client_id"
    f" JOIN {Location._meta.db_table} l ON l.id = a.location_id"
    f" JOIN {Service._meta.db_table} s ON s.id = a.service_id"
    f" JOIN {StaffMember._meta.db_table} st ON st.id = a.staff_id"
    " WHERE a.id = %s AND a.tenant_id = %s"
)


def _load_queued(message_id: int) -> OutboundMessage | None:
    """The queued message, locked until the transaction ends, with its business, rule and
    appointment (client, location, service, staff); None when it is not queued."""
    sql = _SEND_MESSAGE_SQL
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF m"
    with connection.cursor() as cursor:
        cursor.execute(sql, [message_id, MessageStatus.QUEUED])
        row = cursor.fetchone()
        if row is None:
            return None
        loaded = instances(row, (OutboundMessage, Business))
        message, tenant = cast(OutboundMessage, loaded[0]), cast(Business, loaded[1])
        cursor.execute(_SEND_APPOINTMENT_SQL, [message.appointment_id, message.tenant_id])
        found = cursor.fetchone()
    message.tenant = tenant
    if message.rule_id is not None:  # (assigning None would clear rule_id)
        rule_columns = row[column_count(OutboundMessage) + column_count(Business) :]
        message.rule = cast(ReminderRule, instances(rule_columns, (ReminderRule,))[0])
    if found is None:  # deleting an appointment deletes its messages: never while one is locked
        raise Appointment.DoesNotExist(
            f"Appointment {message.appointment_id} of message {message_id}"
        )
    parts = instances(found, (Appointment, Client, Location, Service, StaffMember))
    appointment = cast(Appointment, parts[0])
    appointment.tenant = tenant
    appointment.client = cast(Client, parts[1])
    appointment.location = cast(Location, parts[2])
    appointment.service = cast(Service, parts[3])
    appointment.staff = cast(StaffMember, parts[4])
    message.appointment = appointment
    return message


def _take(message: OutboundMessage, now: datetime) -> _Outgoing | str:
    """Under the row lock: skip the message (its outcome) or mark it sending with its content."""
    message.attempts += 1
    fields: dict[str, object] = {"claimed_at": now, "attempts": message.attempts}
    reason = _why_not(message, now)
    channel = ""
    if not reason:
        channel, reason = _route(message, message.appointment.client)
    if reason:
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.SKIPPED, status_reason=reason[:200], **fields
        )
        return str(MessageStatus.SKIPPED)
    outgoing, recorded = _render(message, channel, now)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, **fields, **recorded
    )
    return outgoing


def _deliver(message: OutboundMessage, outgoing: _Outgoing, now: datetime) -> str:
    client = message.appointment.client
    channel = outgoing.channel
    try:
        provider_id = _transmit(message, outgoing)
    except TransportError as exc:
        if exc.unknown:
            return _finish(message, MessageStatus.UNKNOWN, f"{exc.code}: {exc}")
        if exc.permanent:
            if channel == Channel.SMS and exc.code == TWILIO_OPTED_OUT:
                # The number replied STOP at Twilio (maybe to another business sharing the
                # sender): recorded like a STOP reply, so no further SMS to it is even attempted.
                sms_opt_out_record(client=client, phone=client.phone)
            if channel == Channel.SMS and message.fallback_to_email and _can_email(client):
                email, recorded = _render(message, Channel.EMAIL, now)
                OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
                    **recorded
                )
                try:
                    provider_id = _transmit(message, email)
                except TransportError as email_exc:
                    status = MessageStatus.UNKNOWN if email_exc.unknown else MessageStatus.FAILED
                    return _finish(
                        message, status, f"SMS {exc.code}; email {email_exc.code}: {email_exc}"
                    )
                return _finish(
                    message,
                    MessageStatus.SENT,
                    f"SMS failed ({exc.code}); sent by email",
                    provider_id=provider_id,
                    sent_at=now,
                )
            return _finish(message, MessageStatus.FAILED, f"{exc.code}: {exc}")
        if message.attempts > len(RETRY_DELAYS):
            return _finish(
                message,
                MessageStatus.FAILED,
                f"gave up after {message.attempts} attempts: {exc.code}",
            )
        return _finish(
            message,
            MessageStatus.PENDING,
            f"retrying: {exc.code}",
            send_at=now + RETRY_DELAYS[message.attempts - 1],
        )
    return _finish(message, MessageStatus.SENT, provider_id=provider_id, sent_at=now)
