"""A client's personal data: everything Puntual holds about them (export), and erasing it.

Erasing anonymises the person and keeps the business's statistics: the appointments stay
(with their times, services, outcomes and money), without anything that names or reaches the
client. Future appointments are cancelled through the appointment service (so the slot is
freed, the event recorded and the reminders stopped like any cancellation), and no message is
sent to the erased client afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentEvent, AppointmentStatus
from appointments.services import Actor, appointment_cancel, appointment_decline
from appointments.workflow import UPCOMING_STATUSES
from clients.models import Client, ClientEvent, ClientEventKind
from policies.models import ClientFlag, LedgerEntry, PolicyDecision
from reminders.models import InboundMessage, MessageStatus, OutboundMessage

EXPORT_FORMAT_VERSION = 1


class AlreadyErased(Exception):
    """The client's data was erased before: there is nothing left to erase."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _record(*, client: Client, kind: str, actor: Actor, at: datetime, data: dict[str, Any]) -> None:
    ClientEvent.objects.create(
        tenant_id=client.tenant_id,
        client=client,
        kind=kind,
        actor_type=actor.type,
        actor_user=actor.user,
        actor_label=actor.label,
        channel=actor.channel,
        data=data,
        at=at,
    )


def client_export(*, client: Client, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the client, as JSON-ready data; the export itself is recorded."""
    now = now or timezone.now()
    tenant_id = client.tenant_id
    appointments = list(
        Appointment.objects.filter(tenant_id=tenant_id, client=client)
        .select_related("service", "staff", "location")
        .order_by("start", "pk")
    )
    ids = [a.pk for a in appointments]
    events: dict[int, list[dict[str, Any]]] = {}
    for event in AppointmentEvent.objects.filter(
        tenant_id=tenant_id, appointment_id__in=ids
    ).order_by("at", "pk"):
        events.setdefault(event.appointment_id, []).append(
            {
                "kind": event.kind,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "actor": event.actor_type,
                "channel": event.channel,
                "reason": event.reason,
                "at": _iso(event.at),
            }
        )
    outbound = [
        {
            "appointment": message.appointment_id,
            "kind": message.kind,
            "channel": message.channel,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "status": message.status,
            "send_at": _iso(message.send_at),
            "sent_at": _iso(message.sent_at),
            "delivered_at": _iso(message.delivered_at),
        }
        for message in OutboundMessage.objects.filter(
            tenant_id=tenant_id, appointment_id__in=ids
        ).order_by("send_at", "pk")
    ]
    inbound = [
        {
            "appointment": message.appointment_id,
            "from": message.from_number,
            "body": message.body,
            "outcome": message.outcome,
            "received_at": _iso(message.received_at),
        }
        for message in InboundMessage.objects.filter(tenant_id=tenant_id, client=client).order_by(
            "received_at", "pk"
        )
    ]
    ledger = [
        {
            "appointment": entry.appointment_id,
            "kind": entry.kind,
            "amount": str(entry.amount),
            "currency": entry.currency,
            "reason": entry.reason,
            "method": entry.method,
            "reference": entry.reference,
            "credit_expires_at": _iso(entry.credit_expires_at),
            "created_at": _iso(entry.created_at),
        }
        for entry in LedgerEntry.objects.filter(tenant_id=tenant_id, client=client).order_by(
            "created_at", "pk"
        )
    ]
    flags = [
        {"reason": flag.reason, "created_at": _iso(flag.created_at)}
        for flag in ClientFlag.objects.filter(tenant_id=tenant_id, client=client)
    ]
    data = {
        "format": EXPORT_FORMAT_VERSION,
        "exported_at": _iso(now),
        "client": {
            "id": client.pk,
            "name": client.name,
            "phone": client.phone,
            "email": client.email,
            "language": client.language,
            "notes": client.notes,
            "sms_consent": client.sms_consent,
            "email_consent": client.email_consent,
            "email_bounced_at": _iso(client.email_bounced_at),
            "created_at": _iso(client.created_at),
            "erased_at": _iso(client.erased_at),
        },
        "appointments": [
            {
                "id": a.pk,
                "start": _iso(a.start),
                "end": _iso(a.end),
                "status": a.status,
                "service": a.service.name,
                "staff": a.staff.display_name,
                "location": a.location.name,
                "source": a.source,
                "notes": a.notes,
                "price": str(a.price),
                "created_at": _iso(a.created_at),
                "confirmed_at": _iso(a.confirmed_at),
                "arrived_at": _iso(a.arrived_at),
                "cancelled_at": _iso(a.cancelled_at),
                "cancellation_reason": a.cancellation_reason,
                "events": events.get(a.pk, []),
            }
            for a in appointments
        ],
        "messages": {"sent": outbound, "received": inbound},
        "ledger": ledger,
        "flags": flags,
    }
    _record(client=client, kind=ClientEventKind.EXPORTED, actor=actor, at=now, data={})
    return data


def client_erase(*, client: Client, actor: Actor, now: datetime | None = None) -> Client:
    """Anonymise the client and cancel their future appointments. AlreadyErased if done before.

    Kept: the appointments (times, service, staff, status, price), their events' statuses and
    the ledger's amounts, for the business's statistics and accounts.
    Removed: name, phone, email, notes, language, consents; the free texts about the visits
    (appointment notes, event and cancellation reasons, exception notes); the addresses and
    texts of the messages sent and received; staff flags' reasons.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Client.objects.select_for_update().get(pk=client.pk, tenant_id=client.tenant_id)
        if locked.erased_at is not None:
            raise AlreadyErased
        tenant = locked.tenant
        future = list(
            Appointment.objects.filter(
                tenant_id=tenant.pk, client=locked, status__in=UPCOMING_STATUSES, start__gt=now
            ).order_by("start", "pk")
        )
        with translation.override(tenant.language):
            reason = _("The client's personal data was erased.")
            anonymous_name = _("Erased client")
        appointment_ids = list(
            Appointment.objects.filter(tenant_id=tenant.pk, client=locked).values_list(
                "pk", flat=True
            )
        )
        # Free texts staff wrote about the visits (notes, why a visit was cancelled, why an
        # exception was made) may say anything about the person: gone. Statuses stay.
        Appointment.objects.filter(tenant_id=tenant.pk, pk__in=appointment_ids).update(
            notes="", cancellation_reason=""
        )
        AppointmentEvent.objects.filter(
            tenant_id=tenant.pk, appointment_id__in=appointment_ids
        ).exclude(reason="").update(reason="")
        PolicyDecision.objects.filter(
            tenant_id=tenant.pk, appointment_id__in=appointment_ids
        ).exclude(note="").update(note="")
        for appointment in future:
            if appointment.status == AppointmentStatus.REQUESTED:
                # A request is not the business's to cancel: it is declined (time freed).
                appointment_decline(appointment=appointment, actor=actor, reason=reason, now=now)
            else:
                appointment_cancel(appointment=appointment, actor=actor, reason=reason, now=now)
        # Nothing more goes to this person (the cancellations above planned notices too).
        OutboundMessage.objects.filter(
            tenant_id=tenant.pk, appointment_id__in=appointment_ids, status=MessageStatus.PENDING
        ).update(status=MessageStatus.SKIPPED, status_reason="client erased")
        OutboundMessage.objects.filter(
            tenant_id=tenant.pk, appointment_id__in=appointment_ids
        ).exclude(status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)).update(
            to="", subject="", body=""
        )
        InboundMessage.objects.filter(tenant_id=tenant.pk, client=locked).update(
            from_number="", body=""
        )
        ClientFlag.objects.filter(tenant_id=tenant.pk, client=locked).update(reason="—")
        locked.name = f"{anonymous_name} #{locked.pk}"
        locked.phone = ""
        locked.email = ""
        locked.notes = ""
        locked.language = ""
        locked.sms_consent = False
        locked.email_consent = False
        locked.email_bounced_at = None
        locked.erased_at = now
        locked.save()
        _record(
            client=locked,
            kind=ClientEventKind.ERASED,
            actor=actor,
            at=now,
            data={"cancelled_appointments": [a.pk for a in future]},
        )
    return locked
