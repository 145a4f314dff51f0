"""What every appointment service shares: the actor, the event row, the side-effect seam, the lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from appointments.models import ActorType, Appointment, AppointmentEvent, Channel
from hooks.services import enqueue_for_event
from tenants import rows
from tenants.models import User


@dataclass(frozen=True)
class Actor:
    """Who does something, and through which channel: written into every event."""

    type: str
    channel: str
    user: User | None = None
    label: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(type=ActorType.SYSTEM, channel=Channel.SYSTEM, label="system")

    @classmethod
    def staff(cls, user: User, channel: str = Channel.DASHBOARD) -> Actor:
        return cls(type=ActorType.USER, channel=channel, user=user, label=user.email)

    @classmethod
    def api_key(cls, name: str) -> Actor:
        return cls(type=ActorType.API_KEY, channel=Channel.API, label=name)

    @classmethod
    def client(cls, channel: str) -> Actor:
        return cls(type=ActorType.CLIENT, channel=channel, label="client")


@dataclass
class Change:
    """What just happened to an appointment (inside its transaction), for the side effects."""

    appointment: Appointment
    kind: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


def record_event(
    *,
    appointment: Appointment,
    kind: str,
    actor: Actor,
    at: datetime,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AppointmentEvent:
    event = AppointmentEvent(
        tenant_id=appointment.tenant_id,
        appointment=appointment,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_type=actor.type,
        actor_user=actor.user,
        actor_label=actor.label,
        channel=actor.channel,
        reason=reason,
        data=data or {},
        at=at,
    )
    rows.insert([event])  # every change writes one: AppointmentEvent.objects.create, unbuilt
    enqueue_for_event(event)  # outbound webhooks: outbox rows in this same transaction
    return event


def after_change(change: Change) -> None:
    """The side effects of a change, called explicitly by every appointment service.

    Runs inside the change's transaction: the messages it plans are outbox rows, committed
    (or rolled back) with the change itself; nothing here talks to the outside world.
    """
    from reminders.services.planning import messages_plan_change  # reminders builds on appointments

    messages_plan_change(
        appointment=change.appointment, kind=change.kind, data=change.data, now=change.at
    )


def lock_appointment(appointment: Appointment) -> Appointment:
    """Re-read the appointment under a row lock: every status change starts here."""
    return Appointment.objects.select_for_update().get(
        pk=appointment.pk, tenant_id=appointment.tenant_id
    )
