"""Every write on appointments. One function per business action, the same for every channel.

Each status change locks the appointment row, re-checks the workflow, writes the change and
one AppointmentEvent, and leaves side effects (messages, policies) to `_after_change`, which
runs them after commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments.errors import (
    InvalidBookingRequest,
    InvalidTransition,
    SlotTaken,
)
from appointments.models import (
    BLOCKING_STATUSES,
    ActorType,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    CancelledBy,
    Channel,
    EventKind,
    Service,
    StaffLocation,
    StaffMember,
    StaffService,
)
from appointments.workflow import (
    NOT_BEFORE_START,
    RESCHEDULABLE,
    can_correct,
    can_transition,
)
from clients.models import Client
from tenants.models import Business, Location, User


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
    def client(cls, channel: str) -> Actor:
        return cls(type=ActorType.CLIENT, channel=channel, label="client")


@dataclass
class _Change:
    """What happened, handed to side effects after commit."""

    appointment_id: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


def _record_event(
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
    return AppointmentEvent.objects.create(
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


def _after_change(change: _Change) -> None:
    """The seam for side effects of a change (messages, policies, webhooks).

    Called inside the transaction; anything that talks to the outside world must be
    registered with `transaction.on_commit` from here, never run directly.
    """


def _blocked_range(service: Service, start: datetime) -> tuple[datetime, datetime, datetime]:
    end = start + service.duration
    return (
        end,
        start - timedelta(minutes=service.buffer_before_minutes),
        end + timedelta(minutes=service.buffer_after_minutes),
    )


def _overlapping(
    *,
    staff: StaffMember,
    blocked_start: datetime,
    blocked_end: datetime,
    exclude_id: int | None = None,
) -> bool:
    qs = Appointment.objects.filter(
        tenant_id=staff.tenant_id,
        staff=staff,
        status__in=BLOCKING_STATUSES,
        blocked_start__lt=blocked_end,
        blocked_end__gt=blocked_start,
    )
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.exists()


def _validate_offer(
    *, tenant: Business, location: Location, staff: StaffMember, service: Service, client: Client
) -> None:
    if not (
        location.tenant_id == staff.tenant_id == service.tenant_id == client.tenant_id == tenant.pk
    ):
        raise InvalidBookingRequest(
            "Location, staff, service and client must belong to the business."
        )
    if not service.is_active:
        raise InvalidBookingRequest("This service is not offered any more.")
    if not staff.is_active:
        raise InvalidBookingRequest("This staff member is not taking appointments.")
    if not location.is_active:
        raise InvalidBookingRequest("This location is closed.")
    if not StaffService.objects.filter(tenant=tenant, staff=staff, service=service).exists():
        raise InvalidBookingRequest("This staff member does not perform this service.")
    if not StaffLocation.objects.filter(tenant=tenant, staff=staff, location=location).exists():
        raise InvalidBookingRequest("This staff member does not work at this location.")


def appointment_book(
    *,
    tenant: Business,
    location: Location,
    staff: StaffMember,
    service: Service,
    client: Client,
    start: datetime,
    source: str,
    actor: Actor,
    notes: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Book `service` with `staff` at `start` (aware). Raises a SchedulingError; writes nothing then.

    Double booking is impossible: the overlap check gives a friendly answer in the common
    case, and on PostgreSQL an exclusion constraint refuses the race that slips past it (on
    SQLite the IMMEDIATE transaction serialises writers, so the check is enough).
    """
    if timezone.is_naive(start):
        raise InvalidBookingRequest("The start time needs a time zone.")
    now = now or timezone.now()
    _validate_offer(tenant=tenant, location=location, staff=staff, service=service, client=client)
    end, blocked_start, blocked_end = _blocked_range(service, start)
    try:
        with transaction.atomic():
            if _overlapping(staff=staff, blocked_start=blocked_start, blocked_end=blocked_end):
                raise SlotTaken
            appointment = Appointment.objects.create(
                tenant=tenant,
                location=location,
                staff=staff,
                service=service,
                client=client,
                start=start,
                end=end,
                blocked_start=blocked_start,
                blocked_end=blocked_end,
                status=AppointmentStatus.SCHEDULED,
                source=source,
                notes=notes,
                price=service.price,
                created_at=now,
            )
            _record_event(
                appointment=appointment,
                kind=EventKind.CREATED,
                actor=actor,
                at=now,
                to_status=AppointmentStatus.SCHEDULED,
            )
            _after_change(_Change(appointment.pk, EventKind.CREATED))
    except IntegrityError as exc:
        if "appointment_no_overlap" in str(exc):
            raise SlotTaken from exc
        raise
    return appointment


def _lock(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().get(
        pk=appointment.pk, tenant_id=appointment.tenant_id
    )


def appointment_transition(
    *,
    appointment: Appointment,
    to_status: str,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
    cancelled_by: str = "",
) -> Appointment:
    """Move `appointment` to `to_status` if the workflow allows it now; else InvalidTransition."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(appointment)
        from_status = locked.status
        if not can_transition(from_status, to_status):
            raise InvalidTransition
        if to_status in NOT_BEFORE_START and now < locked.start:
            raise InvalidTransition(
                "An appointment can't be marked attended or no-show before it starts."
            )
        locked.status = to_status
        if to_status == AppointmentStatus.CONFIRMED:
            locked.confirmed_at = now
        elif to_status == AppointmentStatus.CANCELLED:
            locked.cancelled_at = now
            locked.cancelled_by = cancelled_by or (
                CancelledBy.CLIENT
                if actor.type == ActorType.CLIENT
                else CancelledBy.SYSTEM
                if actor.type == ActorType.SYSTEM
                else CancelledBy.STAFF
            )
            locked.cancellation_reason = reason
        elif (
            to_status == AppointmentStatus.ATTENDED
            and locked.finished_at is None
            and locked.started_at
        ):
            locked.finished_at = now
        locked.save()
        _record_event(
            appointment=locked,
            kind=EventKind.STATUS,
            actor=actor,
            at=now,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )
        _after_change(_Change(locked.pk, EventKind.STATUS, {"from": from_status, "to": to_status}))
    return locked


def appointment_confirm(
    *, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    return appointment_transition(
        appointment=appointment, to_status=AppointmentStatus.CONFIRMED, actor=actor, now=now
    )


def appointment_cancel(
    *, appointment: Appointment, actor: Actor, reason: str = "", now: datetime | None = None
) -> Appointment:
    return appointment_transition(
        appointment=appointment,
        to_status=AppointmentStatus.CANCELLED,
        actor=actor,
        reason=reason,
        now=now,
    )


def appointment_mark_attended(
    *, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    return appointment_transition(
        appointment=appointment, to_status=AppointmentStatus.ATTENDED, actor=actor, now=now
    )


def appointment_mark_no_show(
    *, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    return appointment_transition(
        appointment=appointment, to_status=AppointmentStatus.NO_SHOW, actor=actor, now=now
    )


def appointment_correct(
    *,
    appointment: Appointment,
    to_status: str,
    actor: Actor,
    reason: str,
    now: datetime | None = None,
) -> Appointment:
    """An admin's audited correction of a final status (no-show → attended). A reason is required."""
    now = now or timezone.now()
    if not reason.strip():
        raise InvalidTransition("A correction needs a written reason.")
    with transaction.atomic():
        locked = _lock(appointment)
        from_status = locked.status
        if not can_correct(from_status, to_status):
            raise InvalidTransition
        if to_status in BLOCKING_STATUSES and _overlapping(
            staff=locked.staff,
            blocked_start=locked.blocked_start,
            blocked_end=locked.blocked_end,
            exclude_id=locked.pk,
        ):
            raise SlotTaken("Another appointment now holds this time.")
        locked.status = to_status
        locked.save()
        _record_event(
            appointment=locked,
            kind=EventKind.CORRECTED,
            actor=actor,
            at=now,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )
        _after_change(
            _Change(locked.pk, EventKind.CORRECTED, {"from": from_status, "to": to_status})
        )
    return locked


def _mark_moment(
    *, appointment: Appointment, field_name: str, kind: str, actor: Actor, now: datetime | None
) -> Appointment:
    """Check-in, start and finish: recorded once, while the appointment is open; status unchanged."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(appointment)
        if locked.status not in RESCHEDULABLE and not (
            kind == EventKind.FINISHED and locked.status == AppointmentStatus.ATTENDED
        ):
            raise InvalidTransition
        if getattr(locked, field_name) is not None:
            raise InvalidTransition("This was already recorded.")
        if kind == EventKind.STARTED and locked.arrived_at is None:
            locked.arrived_at = now  # starting implies the client is here
        if kind == EventKind.FINISHED and locked.started_at is None:
            raise InvalidTransition("The appointment has not started.")
        setattr(locked, field_name, now)
        locked.save()
        _record_event(
            appointment=locked,
            kind=kind,
            actor=actor,
            at=now,
            from_status=locked.status,
            to_status=locked.status,
        )
        _after_change(_Change(locked.pk, kind))
    return locked


def appointment_check_in(
    *, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    return _mark_moment(
        appointment=appointment,
        field_name="arrived_at",
        kind=EventKind.ARRIVED,
        actor=actor,
        now=now,
    )


def appointment_start(
    *, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    return _mark_moment(
        appointment=appointment,
        field_name="started_at",
        kind=EventKind.STARTED,
        actor=actor,
        now=now,
    )


def appointment_finish(
    *, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    return _mark_moment(
        appointment=appointment,
        field_name="finished_at",
        kind=EventKind.FINISHED,
        actor=actor,
        now=now,
    )


def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    actor: Actor,
    staff: StaffMember | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Move an open appointment, keeping its identity. A confirmed one goes back to scheduled."""
    now = now or timezone.now()
    if timezone.is_naive(start):
        raise InvalidBookingRequest("The start time needs a time zone.")
    try:
        with transaction.atomic():
            locked = _lock(appointment)
            if locked.status not in RESCHEDULABLE:
                raise InvalidTransition
            new_staff = staff or locked.staff
            _validate_offer(
                tenant=locked.tenant,
                location=locked.location,
                staff=new_staff,
                service=locked.service,
                client=locked.client,
            )
            end, blocked_start, blocked_end = _blocked_range(locked.service, start)
            if _overlapping(
                staff=new_staff,
                blocked_start=blocked_start,
                blocked_end=blocked_end,
                exclude_id=locked.pk,
            ):
                raise SlotTaken
            old = {"start": locked.start.isoformat(), "staff": locked.staff_id}
            from_status = locked.status
            locked.staff, locked.start, locked.end = new_staff, start, end
            locked.blocked_start, locked.blocked_end = blocked_start, blocked_end
            locked.status = AppointmentStatus.SCHEDULED
            locked.confirmed_at = None
            locked.version += 1
            with transaction.atomic():
                locked.save()
            _record_event(
                appointment=locked,
                kind=EventKind.RESCHEDULED,
                actor=actor,
                at=now,
                from_status=from_status,
                to_status=locked.status,
                reason=reason,
                data={"from": old, "to": {"start": start.isoformat(), "staff": new_staff.pk}},
            )
            _after_change(_Change(locked.pk, EventKind.RESCHEDULED, old))
    except IntegrityError as exc:
        if "appointment_no_overlap" in str(exc):
            raise SlotTaken from exc
        raise
    return locked
