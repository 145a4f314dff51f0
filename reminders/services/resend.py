"""Sending a client their appointment's link again, when the front desk asks for it.

At most once still holds: a resend is an explicit new outbox row with its own dedupe key,
planned for now and sent by the dispatcher like any other message (never sent here, inside
a request). The key names the request that asked (the form's one-time value), so a double
click or a browser's retry of the same form plans one message, not two.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.errors import InvalidTransition
from appointments.models import Appointment, EventKind
from appointments.services import Actor
from appointments.services.common import record_event
from appointments.workflow import OPEN_STATUSES
from reminders.models import MessageKind, OutboundMessage
from reminders.services.dispatch import _can_email, _can_sms

RESEND_PREFIX = "resend:"
# The request key: what a form's hidden one-time value may contain (dedupe_key holds 64).
REQUEST_KEY = re.compile(r"^[A-Za-z0-9_-]{8,48}$")


def message_resend_link(
    *, appointment: Appointment, request_key: str, actor: Actor, now: datetime | None = None
) -> tuple[OutboundMessage, bool]:
    """Plan one more message with the client's link (the booking's text: when, where, and the
    link to see, confirm, move or cancel), to go out at once. Returns (row, created): the row
    an earlier identical request planned, with False, when `request_key` was seen already.

    Refused (InvalidTransition) when the appointment is over or cancelled, or when the client
    can be reached neither by SMS nor by email: nothing would be sent.
    """
    if not REQUEST_KEY.match(request_key):
        raise ValueError("request_key must be 8 to 48 letters, digits, - or _.")
    now = now or timezone.now()
    dedupe_key = f"{RESEND_PREFIX}{request_key}"
    existing = OutboundMessage.objects.filter(
        tenant_id=appointment.tenant_id, appointment=appointment, dedupe_key=dedupe_key
    ).first()
    if existing is not None:
        return existing, False
    if appointment.status not in OPEN_STATUSES:
        raise InvalidTransition(_("Links are sent only for appointments still to come."))
    client = appointment.client
    if not (_can_sms(client) or _can_email(client)):
        raise InvalidTransition(
            _("The client accepts neither SMS nor email (or has no phone or address for them).")
        )
    row = OutboundMessage(
        tenant_id=appointment.tenant_id,
        appointment=appointment,
        kind=MessageKind.BOOKING_CONFIRMATION,
        dedupe_key=dedupe_key,
        send_at=now,
        appointment_version=appointment.version,
        fallback_to_email=True,
        created_at=now,
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            record_event(
                appointment=appointment,
                kind=EventKind.NOTE,
                actor=actor,
                at=now,
                from_status=appointment.status,
                to_status=appointment.status,
                data={"message": {"what": "link_resent", "id": row.pk}},
            )
    except IntegrityError:
        # The same request, racing itself: the first one planned it.
        return (
            OutboundMessage.objects.get(
                tenant_id=appointment.tenant_id, appointment=appointment, dedupe_key=dedupe_key
            ),
            False,
        )
    return row, True
