"""What the providers tell Puntual: clients' SMS replies, and delivery reports of SMS and email.

- `sms_reply_receive`: store a reply once per provider id, act on what it means (confirm,
  cancel, opt out or in) through the same services as every other channel, and leave what
  it cannot act on to a person (outcome "needs_human").
- `sms_status_record` and `email_tracking_record`: move an outbound message's status
  forward, never backward, whatever the order or the number of times reports arrive.
- `inbound_mark_handled`: a person dealt with a reply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from appointments.errors import InvalidTransition
from appointments.models import Appointment, AppointmentStatus
from appointments.services import Actor, appointment_cancel, appointment_confirm
from appointments.workflow import OPEN_STATUSES
from clients.models import Client
from clients.phones import normalize_phone
from hooks.services import enqueue_message_failed
from policies.choices import Action
from policies.services import policy_decision_message
from reminders.links import link_issue, link_url
from reminders.models import (
    AccessAction,
    Channel,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
)
from reminders.replies import Intent, parse_reply
from reminders.services.content import local_when
from tenants.models import Business

logger = logging.getLogger(__name__)

Outcome = InboundMessage.Outcome

# --- Replies to clients' SMS -----------------------------------------------------------


def reply_templates(language: str) -> dict[str, str]:
    """Every text Puntual answers an SMS with, in `language`, placeholders unfilled.

    None of them may invite a reply with one of Twilio's opt-out words (a test scans them).
    """
    with translation.override(language):
        return {
            "confirmed": _(
                "{business_name}: thank you, your appointment on {date} at {time} is confirmed."
            ),
            "cancelled": _(
                "{business_name}: your appointment on {date} at {time} is cancelled. Thank you "
                "for letting us know."
            ),
            "not_possible": _(
                "{business_name}: we could not change your appointment by SMS, so we have "
                "passed your message on to the team."
            ),
            "passed_on": _("{business_name}: we have passed your message on to the team."),
            "manage": _("To see or change your appointment: {manage_link}"),
            "call": _("You can also call us on {business_phone}."),
            "help_phone": _("{business_name}: to talk to us, call {business_phone}."),
            "help_email": _("{business_name}: to talk to us, write to {business_email}."),
            "opted_out": _("{business_name}: you will not receive any more text messages from us."),
        }


@dataclass(frozen=True)
class SmsReplyResult:
    message: InboundMessage | None  # None: a provider's retry of a reply already stored
    reply: str  # what to answer; empty: answer nothing


def _client_for(*, tenant: Business, from_number: str) -> tuple[str, Client | None]:
    try:
        phone = normalize_phone(from_number, default_region=tenant.country)
    except ValidationError:  # an unreadable sender is simply not a client
        return from_number.strip()[:20], None
    if not phone:
        return "", None
    return phone, Client.objects.filter(phone=phone).first()


def sms_opt_out_record(*, client: Client, phone: str) -> bool:
    """The client asked for no more SMS from this business, on `phone`.

    Learned from a STOP reply, from Twilio's error 21610 when a send is refused, or from a
    delivery report with that code. Recorded only while `phone` is still the client's number
    (a number changed meanwhile has not opted out). True when consent was withdrawn now.
    """
    return bool(
        Client.objects.filter(pk=client.pk, phone=phone, sms_consent=True).update(sms_consent=False)
    )


def next_open_appointment(*, client: Client, now: datetime) -> Appointment | None:
    """The client's next appointment that a reply could be about: open, not started yet."""
    return (
        Appointment.objects.filter(client=client, status__in=OPEN_STATUSES, start__gt=now)
        .select_related("location", "tenant")
        .order_by("start", "id")
        .first()
    )


def _reply_values(
    *, tenant: Business, appointment: Appointment | None, language: str, now: datetime
) -> dict[str, str]:
    values = {
        "business_name": tenant.name,
        "business_phone": tenant.phone,
        "business_email": tenant.email,
        "date": "",
        "time": "",
        "manage_link": "",
    }
    if appointment is not None:
        when = local_when(appointment=appointment, language=language)
        values["date"], values["time"] = when["date"], when["time"]
        if appointment.status in OPEN_STATUSES:
            token = link_issue(appointment=appointment, action=AccessAction.MANAGE, now=now)
            values["manage_link"] = link_url(appointment=appointment, token=token)
    return values


def _reply_text(keys: list[str], *, language: str, values: dict[str, str]) -> str:
    templates = reply_templates(language)
    return " ".join(templates[key].format_map(values) for key in keys)


def _passed_on_keys(values: dict[str, str], first: str = "passed_on") -> list[str]:
    if values["manage_link"]:
        return [first, "manage"]
    if values["business_phone"]:
        return [first, "call"]
    return [first]


def _help_keys(values: dict[str, str]) -> list[str]:
    keys = (
        ["help_phone"]
        if values["business_phone"]
        else ["help_email"]
        if values["business_email"]
        else ["passed_on"]
    )
    return keys + (["manage"] if values["manage_link"] else [])


def sms_reply_business(*, to_number: str, from_number: str) -> Business | None:
    """The business a client's SMS to `to_number` is for, when Twilio posts it to the one
    global webhook (several businesses may send from one shared platform number).

    - The business whose own sender is `to_number`, if exactly one is.
    - Otherwise the number is shared (the platform's, or one several businesses entered): the
      business that most recently sent an SMS that left for `from_number` from it. Businesses
      with a number of their own are not candidates there: their SMS came from elsewhere.
    - None when no business wrote to that number: the reply belongs to nobody.
    """
    to_number, from_number = to_number.strip(), from_number.strip()
    owners = list(Business.objects.filter(sms_sender=to_number)[:2]) if to_number else []
    if len(owners) == 1:
        return owners[0]
    if not from_number:
        return None
    with scopes_disabled():
        sent = OutboundMessage.objects.filter(
            # Through the client's appointments: their indexes serve the search, which the
            # outbox (millions of rows, no index on `to`) could not.
            appointment__client__in=Client.objects.filter(phone=from_number),
            channel=Channel.SMS,
            to=from_number,
            status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
            sent_at__isnull=False,
        )
        if owners:
            sent = sent.filter(tenant__sms_sender=to_number)
        else:
            sent = sent.exclude(tenant__sms_sender__startswith="+")
        latest = sent.select_related("tenant").order_by("-sent_at", "-id").first()
    return latest.tenant if latest is not None else None


def sms_reply_receive(
    *,
    tenant: Business,
    provider_id: str,
    from_number: str,
    body: str,
    now: datetime | None = None,
) -> SmsReplyResult:
    """Store and act on a client's SMS, once per `provider_id`. Runs in the tenant's scope."""
    now = now or timezone.now()
    if InboundMessage.objects.filter(provider_id=provider_id).exists():
        return SmsReplyResult(message=None, reply="")
    phone, client = _client_for(tenant=tenant, from_number=from_number)
    parsed = parse_reply(body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                message = InboundMessage.objects.create(
                    tenant=tenant,
                    provider_id=provider_id,
                    from_number=phone,
                    body=body,
                    client=client,
                    outcome=Outcome.NEEDS_HUMAN,
                    received_at=now,
                )
        except IntegrityError:
            # The same reply, retried by the provider while the first was being handled.
            return SmsReplyResult(message=None, reply="")

        appointment = next_open_appointment(client=client, now=now) if client else None
        message.appointment = appointment
        language = (client.language if client else "") or tenant.language
        keys: list[str] = []

        if parsed.intent == Intent.OPT_OUT:
            if client is not None:
                sms_opt_out_record(client=client, phone=phone)
            # "CANCEL" stops every SMS at Twilio, but the client may have meant the
            # appointment: a person calls them (no SMS can ask any more).
            message.outcome = (
                Outcome.NEEDS_HUMAN
                if parsed.maybe_cancel and appointment is not None
                else Outcome.OPTED_OUT
            )
            keys = [] if parsed.carrier_keyword else ["opted_out"]
        elif parsed.intent == Intent.OPT_IN:
            if client is not None:
                Client.objects.filter(pk=client.pk).update(sms_consent=True)
                message.outcome = Outcome.OPTED_IN
            keys = []  # Twilio answers its own opt-in keywords
        elif parsed.intent in (Intent.CONFIRM, Intent.CANCEL) and appointment is not None:
            try:
                appointment = _act(
                    appointment=appointment, intent=parsed.intent, body=body, now=now
                )
            except InvalidTransition:
                keys = ["not_possible"]
            else:
                if parsed.intent == Intent.CONFIRM:
                    message.outcome = Outcome.CONFIRMED
                    keys = ["confirmed"]
                else:
                    message.outcome = Outcome.CANCELLED
                    keys = ["cancelled"]
        elif parsed.intent == Intent.HELP:
            keys = ["help"]
        else:
            keys = ["passed_on"]

        text = ""
        if keys:
            values = _reply_values(
                tenant=tenant, appointment=appointment, language=language, now=now
            )
            if keys == ["help"]:
                keys = _help_keys(values)
            elif keys[0] in ("passed_on", "not_possible"):
                keys = _passed_on_keys(values, first=keys[0])
            text = _reply_text(keys, language=language, values=values)
            if message.outcome == Outcome.CANCELLED and appointment is not None:
                # What the client's terms decided about this cancellation, in their words.
                outcome = policy_decision_message(
                    appointment=appointment, actions=frozenset({Action.CANCEL_BY_CLIENT})
                )
                text = " ".join(filter(None, [text, outcome]))
        message.save(update_fields=["appointment", "outcome"])
    return SmsReplyResult(message=message, reply=text)


def _act(*, appointment: Appointment, intent: Intent, body: str, now: datetime) -> Appointment:
    actor = Actor.client("sms")
    if intent == Intent.CONFIRM:
        if appointment.status == AppointmentStatus.CONFIRMED:
            return appointment  # confirming twice is still "confirmed"
        return appointment_confirm(appointment=appointment, actor=actor, now=now)
    return appointment_cancel(
        appointment=appointment,
        actor=actor,
        reason=_("By SMS: %(body)s") % {"body": body[:150]},
        now=now,
    )


def inbound_mark_handled(*, message: InboundMessage, now: datetime | None = None) -> InboundMessage:
    """A person dealt with the reply. Marking it again keeps the first time."""
    now = now or timezone.now()
    InboundMessage.objects.filter(pk=message.pk, handled_at__isnull=True).update(handled_at=now)
    message.refresh_from_db(fields=["handled_at"])
    return message


# --- Delivery reports ------------------------------------------------------------------

# How far along a message is. A report only ever moves a message to a higher rank, so a late
# or repeated report changes nothing. Delivered and failed are final. "Unknown" (the provider
# may or may not have accepted it) ranks just below "sent": any report resolves it.
STATUS_RANK: dict[str, int] = {
    MessageStatus.PENDING: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.UNKNOWN: 3,
    MessageStatus.SENT: 4,
    MessageStatus.DELIVERED: 5,
    MessageStatus.FAILED: 5,
    MessageStatus.SKIPPED: 5,  # never sent: nothing can be reported about it
}

# Twilio's MessageStatus → Puntual's. Twilio's own queue counts as "sent": the provider has it.
TWILIO_STATUSES: dict[str, str] = {
    "accepted": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}
# Twilio: "the recipient has opted out" (replied STOP earlier).
TWILIO_OPTED_OUT = "21610"


def _advance(message: OutboundMessage, *, status: str, reason: str, at: datetime) -> bool:
    """Move the (locked) message forward to `status`; False when that would not be forward."""
    if STATUS_RANK[status] <= STATUS_RANK[message.status]:
        return False
    message.status = status
    fields = ["status", "updated_at"]
    if message.sent_at is None:
        message.sent_at = at
        fields.append("sent_at")
    if status == MessageStatus.DELIVERED:
        message.delivered_at = at
        fields.append("delivered_at")
    if status == MessageStatus.FAILED:
        message.status_reason = reason[:200]
        fields.append("status_reason")
    message.save(update_fields=fields)
    if status == MessageStatus.FAILED:
        enqueue_message_failed(message_id=message.pk)  # outbound webhook "message.failed"
    return True


def sms_status_record(
    *,
    message_id: int,
    provider_id: str,
    provider_status: str,
    error_code: str = "",
    now: datetime | None = None,
) -> OutboundMessage | None:
    """Apply a Twilio status callback to message `message_id` of the active business.

    Only when the report's MessageSid is the message's provider id: an id alone proves
    nothing. An unknown message or status is ignored (None).
    """
    now = now or timezone.now()
    status = TWILIO_STATUSES.get(provider_status.lower())
    if status is None or not provider_id:
        return None
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update()
            .filter(pk=message_id, provider_id=provider_id, channel=Channel.SMS)
            .first()
        )
        if message is None:
            return None
        reason = f"{provider_status.lower()}: {error_code}" if error_code else provider_status
        _advance(message, status=status, reason=reason, at=now)
        if error_code == TWILIO_OPTED_OUT:
            client = Client.objects.filter(
                pk=Appointment.objects.filter(pk=message.appointment_id).values("client_id")[:1]
            ).first()
            if client is not None:
                sms_opt_out_record(client=client, phone=message.to)
    return message


# anymail's normalized event types → Puntual's. Opens and clicks prove delivery.
EMAIL_STATUSES: dict[str, str] = {
    "queued": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "opened": MessageStatus.DELIVERED,
    "clicked": MessageStatus.DELIVERED,
    "complained": MessageStatus.DELIVERED,
    "unsubscribed": MessageStatus.DELIVERED,
    "bounced": MessageStatus.FAILED,
    "rejected": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}


def _is_hard_bounce(event: Any) -> bool:
    """The address itself is bad (not a full mailbox or a passing DNS failure)."""
    if event.event_type == "rejected":
        return event.reject_reason == "invalid"
    if event.event_type != "bounced":
        return False
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    return esp_event.get("Type", "HardBounce") == "HardBounce"


def email_tracking_record(event: Any, *, now: datetime | None = None) -> OutboundMessage | None:
    """Apply one of anymail's tracking events to the email it is about, in that email's business.

    Provider webhooks are global, so the message is found by its provider id across
    businesses, and everything after runs inside its own business's scope.
    """
    now = now or timezone.now()
    status = EMAIL_STATUSES.get(event.event_type)
    if status is None or not event.message_id:
        return None
    with scopes_disabled():
        found = (
            OutboundMessage.objects.filter(provider_id=str(event.message_id), channel=Channel.EMAIL)
            .select_related("tenant")
            .first()
        )
    if found is None:
        logger.info("Email event %s for an unknown message", event.event_type)
        return None
    at = event.timestamp or now
    with scope(tenant=found.tenant), transaction.atomic():
        message = OutboundMessage.objects.select_for_update().get(pk=found.pk)
        reason = " ".join(
            str(part) for part in (event.event_type, event.reject_reason, event.description) if part
        )
        _advance(message, status=status, reason=reason, at=at)
        address = (event.recipient or message.to or "").lower()
        client_id = Appointment.objects.filter(pk=message.appointment_id).values("client_id")[:1]
        clients = Client.objects.filter(pk=client_id, email__iexact=address) if address else None
        if clients is not None and _is_hard_bounce(event):
            clients.filter(email_bounced_at__isnull=True).update(email_bounced_at=at)
        if clients is not None and event.event_type in ("complained", "unsubscribed"):
            clients.update(email_consent=False)
    return message
