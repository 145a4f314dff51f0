"""Planning the outbox: which messages an appointment gets, and when.

Called by the appointment services inside their transaction, so planned rows commit or roll
back with the booking, reschedule or cancellation that caused them. Planning decides the
time; the channel and the address are decided when the message is sent, from the client's
data and consent at that moment.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection

from appointments.models import Appointment, AppointmentStatus, EventKind
from reminders.models import (
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Purpose,
    ReminderRule,
    RuleChannel,
)
from tenants import rows as sql_rows
from tenants.models import Business

# Rows a change of time may still move: not claimed yet, or skipped only for reasons tied to
# the old time or status (or to the rule's being switched off, which can be undone).
REPLANNABLE_REASONS = ("too_late", "confirmed", "quiet_hours", "rule_inactive")
# Appointments re-planned per round trip when a rule changes: a business's whole future
# agenda (thousands of rows) is re-planned in a few statements, never one per row.
REPLAN_BATCH_SIZE = 500

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "Confirmation request, 48 h",
        "purpose": Purpose.CONFIRMATION_REQUEST,
        "channel": RuleChannel.EMAIL,
        "offset_minutes": 48 * 60,
        "only_if_unconfirmed": True,
    },
    {
        "name": "Reminder, 24 h",
        "purpose": Purpose.REMINDER,
        "channel": RuleChannel.SMS,
        "offset_minutes": 24 * 60,
        "only_if_unconfirmed": False,
    },
    {
        "name": "Post-visit survey, 2 h after",
        "purpose": Purpose.SURVEY,
        "channel": RuleChannel.SMS_THEN_EMAIL,
        "offset_minutes": 2 * 60,  # after the end
        "only_if_unconfirmed": False,
    },
)


def reminder_rules_create_defaults(*, tenant: Business) -> list[ReminderRule]:
    """A new business's rules: a confirmation request by email 48 h before, an SMS reminder
    24 h before, and the post-visit survey 2 h after an attended visit (SMS, else email)."""
    return [ReminderRule.objects.create(tenant=tenant, **rule) for rule in DEFAULT_RULES]


def quiet_hours_adjusted(
    send_at: datetime,
    *,
    appointment_start: datetime,
    tz: zoneinfo.ZoneInfo,
    quiet_start: time,
    quiet_end: time,
) -> datetime:
    """`send_at` moved out of the quiet hours [quiet_start, quiet_end) of local time `tz`.

    Inside them, the message goes when they end if that is still before the appointment,
    otherwise a minute before they began. Local times are turned into instants day by day,
    so the quiet hours stay at the same wall-clock times across daylight-saving changes.
    """
    if quiet_start == quiet_end:
        return send_at
    spans_midnight = quiet_end < quiet_start
    local_day = send_at.astimezone(tz).date()
    for day in (local_day - timedelta(days=1), local_day):
        begins = datetime.combine(day, quiet_start, tzinfo=tz)
        ends = datetime.combine(
            day + timedelta(days=1) if spans_midnight else day, quiet_end, tzinfo=tz
        )
        if begins <= send_at < ends:
            return ends if ends < appointment_start else begins - timedelta(minutes=1)
    return send_at


def _rule_schedule(
    *, appointment: Appointment, rule: ReminderRule, business: Business, now: datetime
) -> tuple[datetime, str, str]:
    """(send_at, status, reason) of `rule` for the appointment as it is now."""
    send_at = appointment.start - timedelta(minutes=rule.offset_minutes)
    if rule.channel in (RuleChannel.SMS, RuleChannel.SMS_THEN_EMAIL):
        send_at = quiet_hours_adjusted(
            send_at,
            appointment_start=appointment.start,
            tz=zoneinfo.ZoneInfo(appointment.location.timezone),
            quiet_start=business.sms_quiet_start,
            quiet_end=business.sms_quiet_end,
        )
    if appointment.status not in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED):
        return send_at, MessageStatus.SKIPPED, "cancelled"
    if rule.only_if_unconfirmed and appointment.status == AppointmentStatus.CONFIRMED:
        return send_at, MessageStatus.SKIPPED, "confirmed"
    if send_at < now:
        return send_at, MessageStatus.SKIPPED, "too_late"  # never sent late
    return send_at, MessageStatus.PENDING, ""


def rule_planned_send(
    *, appointment: Appointment, rule: ReminderRule, now: datetime
) -> tuple[datetime, str]:
    """When `rule` would send for the appointment as it is now, and why not ("" if it would)."""
    if rule.purpose == Purpose.SURVEY:
        # Self-service plans it (selfservice.services.survey), after an attended visit.
        send_at = appointment.end + timedelta(minutes=rule.offset_minutes)
        attended = appointment.status == AppointmentStatus.ATTENDED
        return send_at, "" if attended else "not_attended"
    send_at, _status, reason = _rule_schedule(
        appointment=appointment, rule=rule, business=appointment.tenant, now=now
    )
    return send_at, reason


def reminder_rule_replan(*, rule: ReminderRule, now: datetime) -> int:
    """Bring the rule's messages that were not sent yet in line with the rule as it is now.

    Called by the rule services inside their transaction, after the rule is saved. An
    inactive rule's planned rows are skipped ("rule_inactive"; reactivating brings them back).
    An active rule's rows for every upcoming open appointment get the send time, status and
    fallback the rule gives now; appointments without a row get one, as at booking. Rows
    already claimed by the dispatcher, sent, or skipped for good are left alone: nothing is
    ever sent twice or late. The rows are locked while they are re-planned, so a dispatcher
    tick never claims one half-changed. Returns the number of rows written.
    """
    rows = OutboundMessage.objects.filter(
        tenant_id=rule.tenant_id, rule=rule, kind=MessageKind.RULE
    )
    if rule.purpose == Purpose.SURVEY:
        # Not a reminder: self-service plans surveys in its own outbox. Rows left from when
        # the rule was a reminder are skipped as by a rule switched off (the reminder is),
        # and come back if it becomes a reminder again.
        return rows.filter(status__in=(MessageStatus.PENDING, MessageStatus.QUEUED)).update(
            status=MessageStatus.SKIPPED, status_reason="rule_inactive"
        )
    if not rule.is_active:
        return rows.filter(status__in=(MessageStatus.PENDING, MessageStatus.QUEUED)).update(
            status=MessageStatus.SKIPPED, status_reason="rule_inactive"
        )
    business = rule.tenant
    fallback = rule.channel == RuleChannel.SMS_THEN_EMAIL
    upcoming = list(
        Appointment.objects.filter(
            tenant_id=rule.tenant_id,
            status__in=(AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED),
            start__gt=now,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    written = 0
    for first in range(0, len(upcoming), REPLAN_BATCH_SIZE):
        ids = upcoming[first : first + REPLAN_BATCH_SIZE]
        appointments = Appointment.objects.filter(pk__in=ids).select_related("location")
        existing = {
            row.appointment_id: row
            for row in rows.select_for_update().filter(appointment_id__in=ids).order_by("id")
        }
        new_rows, changed = [], []
        for appointment in appointments:
            send_at, status, reason = _rule_schedule(
                appointment=appointment, rule=rule, business=business, now=now
            )
            row = existing.get(appointment.pk)
            if row is None:
                new_rows.append(
                    OutboundMessage(
                        tenant_id=rule.tenant_id,
                        appointment=appointment,
                        rule=rule,
                        kind=MessageKind.RULE,
                        dedupe_key=f"rule:{rule.pk}",
                        send_at=send_at,
                        status=status,
                        status_reason=reason,
                        appointment_version=appointment.version,
                        fallback_to_email=fallback,
                        created_at=now,
                    )
                )
            elif (
                row.status == MessageStatus.PENDING
                or (
                    row.status == MessageStatus.SKIPPED and row.status_reason in REPLANNABLE_REASONS
                )
            ) and (row.send_at, row.status, row.status_reason, row.fallback_to_email) != (
                send_at,
                status,
                reason,
                fallback,
            ):
                row.send_at, row.status, row.status_reason = send_at, status, reason
                row.fallback_to_email = fallback
                changed.append(row)
        OutboundMessage.objects.bulk_create(new_rows)
        OutboundMessage.objects.bulk_update(
            changed, ["send_at", "status", "status_reason", "fallback_to_email"]
        )
        written += len(new_rows) + len(changed)
    return written


def _active_rules(tenant_id: int) -> list[ReminderRule]:
    """The business's active reminder rules, but the survey (planned after the visit).

    Written out (tenants.rows): every booking runs it, and the ORM took longer to build it
    than PostgreSQL took to run it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql_rows.select_list(ReminderRule, 'r')} FROM {ReminderRule._meta.db_table} r"  # noqa: S608 - _meta names only
            " WHERE r.tenant_id = %s AND r.is_active AND r.purpose <> %s ORDER BY r.offset_minutes DESC, r.id",
            [tenant_id, Purpose.SURVEY],
        )
        found = cursor.fetchall()
    return [sql_rows.instances(row, [ReminderRule])[0] for row in found]  # type: ignore[misc]


def _plan_rules(
    *,
    appointment: Appointment,
    now: datetime,
    fresh: bool = False,
    also: Sequence[OutboundMessage] = (),
) -> None:
    """Plan every active reminder rule (not the survey: self-service plans it after the visit);
    `fresh`: the appointment was just created, it has no rows yet. New rows, and the rows in
    `also`, are inserted with one statement."""
    business = appointment.tenant
    rules = _active_rules(appointment.tenant_id)
    existing = (
        {}
        if fresh
        else {
            m.rule_id: m
            for m in OutboundMessage.objects.filter(
                tenant_id=appointment.tenant_id, appointment=appointment, kind=MessageKind.RULE
            )
        }
    )
    new_rows = []
    for rule in rules:
        send_at, status, reason = _rule_schedule(
            appointment=appointment, rule=rule, business=business, now=now
        )
        row = existing.get(rule.pk)
        if row is None:
            new_rows.append(
                OutboundMessage(
                    tenant_id=appointment.tenant_id,
                    appointment=appointment,
                    rule=rule,
                    kind=MessageKind.RULE,
                    dedupe_key=f"rule:{rule.pk}",
                    send_at=send_at,
                    status=status,
                    status_reason=reason,
                    appointment_version=appointment.version,
                    fallback_to_email=rule.channel == RuleChannel.SMS_THEN_EMAIL,
                    created_at=now,
                )
            )
        elif row.status == MessageStatus.PENDING or (
            row.status == MessageStatus.SKIPPED and row.status_reason in REPLANNABLE_REASONS
        ):
            OutboundMessage.objects.filter(pk=row.pk, status=row.status).update(
                send_at=send_at,
                status=status,
                status_reason=reason,
                appointment_version=appointment.version,
            )
    new_rows.extend(also)
    sql_rows.insert(new_rows)  # OutboundMessage.objects.bulk_create, without building the SQL


def _notice_rows(
    *, appointment: Appointment, kind: str, dedupe_key: str, now: datetime, fresh: bool = False
) -> list[OutboundMessage]:
    """A transactional notice, sent at once (once per dedupe key, however often it is asked):
    the row to insert, or none when it is already planned."""
    exists = (
        not fresh
        and OutboundMessage.objects.filter(
            tenant_id=appointment.tenant_id, appointment=appointment, dedupe_key=dedupe_key
        ).exists()
    )
    if exists:
        return []
    return [
        OutboundMessage(
            tenant_id=appointment.tenant_id,
            appointment=appointment,
            kind=kind,
            dedupe_key=dedupe_key,
            send_at=now,
            appointment_version=appointment.version,
            fallback_to_email=True,
            created_at=now,
        )
    ]


def _skip_open_rule_messages(
    *, appointment: Appointment, reason: str, only_if_unconfirmed: bool = False
) -> None:
    rows = OutboundMessage.objects.filter(
        tenant_id=appointment.tenant_id,
        appointment=appointment,
        kind=MessageKind.RULE,
        status__in=(MessageStatus.PENDING, MessageStatus.QUEUED),
    )
    if only_if_unconfirmed:
        rows = rows.filter(rule__only_if_unconfirmed=True)
    # A queued row's send task finds it skipped and does nothing: the update wins the race.
    rows.update(status=MessageStatus.SKIPPED, status_reason=reason)


def messages_plan_change(
    *, appointment: Appointment, kind: str, data: dict[str, Any], now: datetime
) -> None:
    """Bring the appointment's outbox in line with what just happened to it.

    A request (a new client's booking waiting for the business) gets only the notice that it
    was received: its reminders are planned, and its booking confirmation sent, once it is
    accepted; a declined request gets the notice that it was declined.
    """
    if kind == EventKind.CREATED and appointment.status == AppointmentStatus.REQUESTED:
        OutboundMessage.objects.bulk_create(
            _notice_rows(
                appointment=appointment,
                kind=MessageKind.REQUEST_RECEIVED,
                dedupe_key="request",
                now=now,
                fresh=True,
            )
        )
    elif kind == EventKind.ACCEPTED:
        booking = _notice_rows(
            appointment=appointment,
            kind=MessageKind.BOOKING_CONFIRMATION,
            dedupe_key="booking",
            now=now,
        )
        _plan_rules(appointment=appointment, now=now, also=booking)
    elif kind == EventKind.DECLINED:
        _skip_open_rule_messages(appointment=appointment, reason="cancelled")
        OutboundMessage.objects.bulk_create(
            _notice_rows(
                appointment=appointment,
                kind=MessageKind.REQUEST_DECLINED,
                dedupe_key="declined",
                now=now,
            )
        )
    elif kind == EventKind.CREATED:
        booking = _notice_rows(
            appointment=appointment,
            kind=MessageKind.BOOKING_CONFIRMATION,
            dedupe_key="booking",
            now=now,
            fresh=True,
        )
        _plan_rules(appointment=appointment, now=now, fresh=True, also=booking)
    elif kind == EventKind.RESCHEDULED:
        notice = _notice_rows(
            appointment=appointment,
            kind=MessageKind.RESCHEDULE_NOTICE,
            dedupe_key=f"reschedule:v{appointment.version}",
            now=now,
        )
        _plan_rules(appointment=appointment, now=now, also=notice)
    elif kind == EventKind.STATUS and data.get("to") == AppointmentStatus.CANCELLED:
        _skip_open_rule_messages(appointment=appointment, reason="cancelled")
        OutboundMessage.objects.bulk_create(
            _notice_rows(
                appointment=appointment,
                kind=MessageKind.CANCELLATION_NOTICE,
                dedupe_key="cancellation",
                now=now,
            )
        )
    elif kind == EventKind.STATUS and data.get("to") == AppointmentStatus.CONFIRMED:
        _skip_open_rule_messages(
            appointment=appointment, reason="confirmed", only_if_unconfirmed=True
        )
