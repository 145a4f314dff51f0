"""Sending self-service messages (waitlist offers, survey invitations) at most once.

These messages go to a client who is not (or not only) the client of an appointment's
outbox row, so they carry their own small send state, handled as the reminders' dispatcher
handles its outbox (reminders.services.dispatch):

    pending --take--> sending --> sent | failed | unknown
       ^                 |
       +-- transient ----+   (back to pending, a later send_at, up to len(RETRY_DELAYS) retries)

- `take` moves a due row pending -> sending with one conditional update (counting the
  attempt): a duplicate task or an overlapping tick finds nothing to take.
- What is about to be sent (channel, address) is recorded before the provider is called.
- The provider's answer decides the end: a permanent error (invalid number, opted out) is
  "failed" with its reason, after the next channel the client allows was tried; an unclear
  one (a 5xx, a read timeout: the provider may have accepted it) is "unknown", never resent;
  a transient one (429, no connection made: nothing was sent) goes back to pending for a
  later try, until the retries run out or the row's deadline (an offer's expiry) comes first.
- A worker that dies in flight leaves the row "sending": `selfservice_reap` settles it as
  "unknown" once no provider call can still be running. Nothing ever sends it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, Model, Q, QuerySet
from django.utils.html import linebreaks
from django_scopes import scopes_disabled

from clients.models import Client
from reminders.channels.email import send_email
from reminders.channels.sms import TransportError, get_sms_backend
from reminders.models import RuleChannel
from reminders.services.dispatch import RETRY_DELAYS, UNKNOWN_AFTER
from reminders.services.inbound import TWILIO_OPTED_OUT, sms_opt_out_record
from selfservice.models import OfferStatus, SurveyInvitation, WaitlistOffer
from tenants.models import Business

SMS, EMAIL = "sms", "email"


@dataclass(frozen=True)
class Content:
    subject: str
    text: str  # the email's plain text
    sms: str
    html: str = ""  # the email's HTML; empty: made from the text


def _can_sms(client: Client) -> bool:
    return bool(client.phone and client.sms_consent)


def _can_email(client: Client) -> bool:
    return bool(client.email and client.email_consent and not client.email_bounced_at)


def route(client: Client, channel: str = RuleChannel.SMS_THEN_EMAIL) -> tuple[list[str], str]:
    """The channels to try, in order, for a rule's `channel` (offers: SMS, else email), and
    why there is none when the list is empty."""
    if channel == RuleChannel.SMS:
        return (
            ([SMS], "")
            if _can_sms(client)
            else ([], "no_sms_consent" if client.phone else "no_phone")
        )
    if channel == RuleChannel.EMAIL:
        if _can_email(client):
            return [EMAIL], ""
        return [], "no_email_consent" if client.email else "no_email"
    channels = [SMS] if _can_sms(client) else []
    channels += [EMAIL] if _can_email(client) else []
    return channels, "" if channels else "no_consent"


def take(model: type[Model], pk: int, *, now: datetime) -> bool:
    """Take a due planned row for sending (one more attempt); False when another task took
    it, it was settled, or it was put back for a later try meanwhile."""
    return bool(
        model._default_manager.filter(pk=pk, status=OfferStatus.PENDING, send_at__lte=now).update(
            status=OfferStatus.SENDING, attempts=F("attempts") + 1, attempted_at=now
        )
    )


def _transmit(channel: str, to: str, content: Content, tenant: Business) -> str:
    if channel == SMS:
        return get_sms_backend().send(to=to, body=content.sms, sender=tenant.sms_sender)
    return send_email(
        to=to,
        subject=content.subject,
        text=content.text,
        html=content.html or linebreaks(content.text, autoescape=True),
    )


def deliver(
    row: WaitlistOffer | SurveyInvitation,
    *,
    tenant: Business,
    client: Client,
    content: Content,
    now: datetime,
    channel: str = RuleChannel.SMS_THEN_EMAIL,
    retry_until: datetime | None = None,
) -> str:
    """Send a row this task took (its `attempts` counting this one); returns its new status.

    `channel`: the rule's (SMS, email, or SMS and email when SMS is not possible).
    `retry_until`: no try is planned at or after it (an offer's expiry).
    """
    rows = type(row)._default_manager.filter(pk=row.pk, status=OfferStatus.SENDING)
    channels, reason = route(client, channel)
    if not channels:
        return _finish(rows, OfferStatus.FAILED, reason)
    refused: TransportError | None = None  # a permanent SMS error, before trying email
    for current in channels:
        to = client.phone if current == SMS else client.email
        rows.update(channel=current, to=to)  # recorded before the call: visible if the worker dies
        try:
            provider_id = _transmit(current, to, content, tenant)
        except TransportError as exc:
            if exc.unknown:
                return _finish(rows, OfferStatus.UNKNOWN, f"{exc.code}: {exc}")
            if exc.permanent:
                if current == SMS and exc.code == TWILIO_OPTED_OUT:
                    # As for reminders: the number replied STOP at Twilio; no more SMS to it.
                    sms_opt_out_record(client=client, phone=client.phone)
                refused = refused or exc
                continue  # the next channel the client allows, if any
            return _retry_later(rows, row.attempts, exc, now=now, retry_until=retry_until)
        reason = f"SMS failed ({refused.code}); sent by email" if refused else ""
        return _finish(rows, OfferStatus.SENT, reason, provider_id=provider_id or "", sent_at=now)
    # Every channel refused it for good.
    return _finish(rows, OfferStatus.FAILED, f"{refused.code}: {refused}" if refused else "")


def _finish(rows: QuerySet[Any, Any], status: str, reason: str = "", **fields: object) -> str:
    """Record the outcome of the row this task holds (only while "sending": nobody else's)."""
    rows.update(status=status, status_reason=reason[:200], **fields)
    return str(status)


def _retry_later(
    rows: QuerySet[Any, Any],
    attempts: int,
    exc: TransportError,
    *,
    now: datetime,
    retry_until: datetime | None,
) -> str:
    """Nothing was sent: back to pending for a later try, or failed when none is left."""
    if attempts > len(RETRY_DELAYS):
        return _finish(rows, OfferStatus.FAILED, f"gave up after {attempts} attempts: {exc.code}")
    send_at = now + RETRY_DELAYS[attempts - 1]
    if retry_until is not None and send_at >= retry_until:
        return _finish(rows, OfferStatus.FAILED, f"expired before it could be sent: {exc.code}")
    return _finish(rows, OfferStatus.PENDING, f"retrying: {exc.code}", send_at=send_at)


def selfservice_reap(*, now: datetime) -> int:
    """Rows a worker left "sending" (it died during the provider call, or before): nobody can
    know whether the provider accepted them, so they end "unknown", never sent again."""
    stale = Q(attempted_at__lt=now - UNKNOWN_AFTER) | Q(attempted_at__isnull=True)
    settled = 0
    with scopes_disabled():
        for model in (WaitlistOffer, SurveyInvitation):
            settled += model.objects.filter(stale, status=OfferStatus.SENDING).update(
                status=OfferStatus.UNKNOWN, status_reason="interrupted while sending"
            )
    return settled
