"""Sending self-service messages (waitlist offers, survey invitations) at most once.

These messages go to a client who is not (or not only) the client of an appointment's
outbox row, so they carry their own small send state: the task takes a row by the
conditional update pending -> sending, records what it is about to send, calls the
provider through reminders' channels (the one seam tests fake), and records the outcome.
A duplicate task finds nothing to take; a crash in flight leaves "sending", never resent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model
from django.utils.html import linebreaks

from clients.models import Client
from reminders.channels.email import send_email
from reminders.channels.sms import TransportError, get_sms_backend
from selfservice.models import OfferStatus
from tenants.models import Business


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    sms: str


def route(client: Client) -> str:
    """SMS when the client accepts it, else email; "" when neither is possible."""
    if client.phone and client.sms_consent:
        return "sms"
    if client.email and client.email_consent and not client.email_bounced_at:
        return "email"
    return ""


def take(model: type[Model], pk: int, *, now: datetime) -> bool:
    """Take a planned row for sending; False when another task took it or it was settled."""
    return bool(
        model._default_manager.filter(pk=pk, status=OfferStatus.PENDING).update(
            status=OfferStatus.SENDING
        )
    )


def deliver(row: Any, *, tenant: Business, client: Client, content: Content, now: datetime) -> str:
    """Send a row this task took; returns the final status."""
    model = type(row)
    rows = model._default_manager.filter(pk=row.pk, status=OfferStatus.SENDING)
    channel = route(client)
    if not channel:
        rows.update(status=OfferStatus.FAILED, status_reason="no_consent")
        return str(OfferStatus.FAILED)
    to = client.phone if channel == "sms" else client.email
    rows.update(channel=channel, to=to)  # recorded before the call: visible if the worker dies
    try:
        if channel == "sms":
            provider_id = get_sms_backend().send(to=to, body=content.sms, sender=tenant.sms_sender)
        else:
            provider_id = send_email(
                to=to,
                subject=content.subject,
                text=content.text,
                html=linebreaks(content.text, autoescape=True),
            )
    except TransportError as exc:
        status = OfferStatus.UNKNOWN if exc.unknown else OfferStatus.FAILED
        rows.update(status=status, status_reason=f"{exc.code}: {exc}"[:200])
        return str(status)
    rows.update(status=OfferStatus.SENT, provider_id=provider_id or "", sent_at=now)
    return str(OfferStatus.SENT)
