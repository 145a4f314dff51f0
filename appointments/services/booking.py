"""Booking and rescheduling: the one way in for every channel, and the double-booking guard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.errors import InvalidBookingRequest, InvalidTransition, SlotTaken
from appointments.models import (
    BLOCKING_STATUSES,
    ActorType,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Channel,
    EventKind,
    Service,
    StaffLocation,
    StaffMember,
    StaffService,
)
from appointments.selectors import (
    DayInputs,
    day_inputs_from,
    day_inputs_sql,
    local_day,
    slot_check,
    staff_free_at,
)
from appointments.services.common import Actor, Change, after_change, lock_appointment, record_event
from appointments.workflow import RESCHEDULABLE
from clients.models import Client
from policies.selectors import BookingProbe, booking_probe_sql
from tenants import rows
from tenants.models import Business, Location

# policies.services builds on the appointment services: its functions are imported when
# first called, not when this module loads.


def policy_terms_snapshot(appointment: Appointment, **kwargs: Any) -> Any:
    from policies.services.decisions import policy_terms_snapshot as snapshot

    return snapshot(appointment, **kwargs)


def decide_and_record(**kwargs: Any) -> Any:
    from policies.services.decisions import decide_and_record as record

    return record(**kwargs)


def blocked_range(service: Service, start: datetime) -> tuple[datetime, datetime, datetime]:
    end = start + service.duration
    return (
        end,
        start - timedelta(minutes=service.buffer_before_minutes),
        end + timedelta(minutes=service.buffer_after_minutes),
    )


@contextmanager
def overlap_means_slot_taken() -> Iterator[None]:
    """Turn PostgreSQL's refusal of an overlapping appointment into the business error."""
    try:
        yield
    except IntegrityError as exc:
        if "appointment_no_overlap" in str(exc):
            raise SlotTaken from exc
        raise


def lock_staff(*staff: StaffMember) -> None:
    """Serialise the bookings and moves of these staff members until the transaction ends.

    With the lock held, the overlap check sees every competing write committed, so it is
    final, and PostgreSQL's exclusion check never has two uncommitted conflicting rows to wait
    on crosswise (which it resolves by killing one with "deadlock detected"). No-key: inserting
    other rows that reference the staff member is not blocked. SQLite has no row locks: its
    IMMEDIATE transactions already serialise every writer.
    """
    if connection.vendor != "postgresql":
        return
    ids = sorted({member.pk for member in staff})
    with connection.cursor() as cursor:
        # Written out: this runs on every booking and the ORM took longer to build it than to run it.
        cursor.execute(
            f"SELECT id FROM {StaffMember._meta.db_table} WHERE id IN ({', '.join(['%s'] * len(ids))})"  # noqa: S608 - table name and placeholders only
            " ORDER BY id FOR NO KEY UPDATE",
            ids,
        )


def has_overlap(
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


@dataclass(frozen=True)
class BookingPolicy:
    """Which booking rules a channel must respect."""

    window: bool  # minimum notice and maximum advance
    grid: bool  # only the offered start times (the slot step)


# Clients booking themselves get exactly the offered slots; integrators may pick any start
# inside the window; the front desk may also book a walk-in at short notice.
POLICIES: dict[str, BookingPolicy] = {
    Channel.ONLINE: BookingPolicy(window=True, grid=True),
    Channel.SMS: BookingPolicy(window=True, grid=True),
    Channel.EMAIL: BookingPolicy(window=True, grid=True),
    Channel.API: BookingPolicy(window=True, grid=False),
    Channel.DASHBOARD: BookingPolicy(window=False, grid=False),
    Channel.SYSTEM: BookingPolicy(window=False, grid=False),
}


def _check_slot(
    *,
    tenant: Business,
    location: Location,
    staff: StaffMember,
    service: Service,
    start: datetime,
    channel: str,
    now: datetime,
    inputs: DayInputs,
    exclude_appointment_id: int | None = None,
) -> None:
    policy = POLICIES[channel]
    slot_check(
        tenant=tenant,
        service=service,
        location=location,
        staff=staff,
        start=start,
        now=now,
        on_grid=policy.grid,
        booking_window=policy.window,
        exclude_appointment_id=exclude_appointment_id,
        inputs=inputs,
    )


@dataclass(frozen=True)
class _Offer:
    """What validating an offer read: the staff member's day, and for a new booking the
    policies' probe."""

    day: DayInputs
    probe: BookingProbe | None


def _validate_offer(
    *,
    tenant: Business,
    location: Location,
    staff: StaffMember,
    service: Service,
    client: Client,
    start: datetime,
    probe_at: datetime | None = None,
) -> _Offer:
    """Refuse an offer the business does not make. The same round trip reads what judging
    `start` needs besides the staff member's bookings (`DayInputs`: those alone are read under
    the staff member's lock) and, with `probe_at` (a new booking), what the policies need of it
    (`BookingProbe`)."""
    if not (
        location.tenant_id == staff.tenant_id == service.tenant_id == client.tenant_id == tenant.pk
    ):
        raise InvalidBookingRequest(
            _("Location, staff, service and client must belong to the business.")
        )
    if not service.is_active:
        raise InvalidBookingRequest(_("This service is not offered any more."))
    if not staff.is_active:
        raise InvalidBookingRequest(_("This staff member is not taking appointments."))
    if not location.is_active:
        raise InvalidBookingRequest(_("This location is closed."))
    # One round trip for both links and the policies' probe (this runs on every booking).
    probe_sql, probe_params = (
        booking_probe_sql(
            tenant_id=tenant.pk, service_id=service.pk, client_id=client.pk, now=probe_at
        )
        if probe_at is not None
        else ("NULL, 0", [])
    )
    day = local_day(start, location.timezone)
    day_sql, day_params = day_inputs_sql(tenant=tenant, location=location, staff=staff, day=day)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {StaffService._meta.db_table}"  # noqa: S608 - table names and placeholders only
            " WHERE tenant_id = %s AND staff_id = %s AND service_id = %s),"
            f" EXISTS (SELECT 1 FROM {StaffLocation._meta.db_table}"
            f" WHERE tenant_id = %s AND staff_id = %s AND location_id = %s), {probe_sql}, {day_sql}",
            [
                *(tenant.pk, staff.pk, service.pk, tenant.pk, staff.pk, location.pk),
                *probe_params,
                *day_params,
            ],
        )
        performs, works_there, policy_id, has_credit, *day_values = cursor.fetchone()
    if not performs:
        raise InvalidBookingRequest(_("This staff member does not perform this service."))
    if not works_there:
        raise InvalidBookingRequest(_("This staff member does not work at this location."))
    return _Offer(
        day=day_inputs_from(day_values, staff=staff, day=day),
        probe=(
            None
            if probe_at is None
            else BookingProbe(policy_id=policy_id, has_credit=bool(has_credit))
        ),
    )


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
    as_request: bool = False,
) -> Appointment:
    """Book `service` with `staff` at `start` (aware). Raises a SchedulingError; writes nothing then.

    `as_request`: a new client's booking the business must accept first (services/approval.py):
    status "requested", holding the time; no terms are stored until it is accepted.

    Double booking is impossible: bookings of one staff member are serialised by a row lock
    on the staff member (PostgreSQL) or by the IMMEDIATE write lock (SQLite), so the slot
    check inside the transaction is final; PostgreSQL's exclusion constraint stays the last
    guard for any writer that skips this function.
    """
    if timezone.is_naive(start):
        raise InvalidBookingRequest(_("The start time needs a time zone."))
    now = now or timezone.now()
    status = AppointmentStatus.REQUESTED if as_request else AppointmentStatus.SCHEDULED
    offer = _validate_offer(
        tenant=tenant,
        location=location,
        staff=staff,
        service=service,
        client=client,
        start=start,
        probe_at=now,
    )
    probe = offer.probe
    end, blocked_start, blocked_end = blocked_range(service, start)
    with overlap_means_slot_taken(), transaction.atomic():
        lock_staff(staff)
        _check_slot(
            tenant=tenant,
            location=location,
            staff=staff,
            service=service,
            start=start,
            channel=source,
            now=now,
            inputs=offer.day,
        )
        appointment = Appointment(
            tenant=tenant,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=start,
            end=end,
            blocked_start=blocked_start,
            blocked_end=blocked_end,
            status=status,
            source=source,
            notes=notes,
            price=service.price,
            created_at=now,
        )
        rows.insert([appointment])  # Appointment.objects.create, without building the SQL
        created = record_event(
            appointment=appointment,
            kind=EventKind.CREATED,
            actor=actor,
            at=now,
            to_status=status,
        )
        if probe is not None and probe.needs_terms and not as_request:
            # The terms the client books under, stored with the booking (its deposit asked
            # for, their credit used); before the confirmation is planned, which states them.
            policy_terms_snapshot(appointment, actor=actor, now=now, probe=probe)
        after_change(Change(appointment=appointment, kind=EventKind.CREATED, at=now))
    _preload_history(appointment, [created])
    return appointment


def _preload_history(appointment: Appointment, events: list[AppointmentEvent]) -> None:
    """A new appointment's whole history is known: `appointment.events.all()` answers without a
    query, as after prefetch_related("events") (which stores results the same way)."""
    history = appointment.events.all()
    history._result_cache = events
    history._prefetch_done = True  # type: ignore[attr-defined]
    appointment._prefetched_objects_cache = {"events": history}  # type: ignore[attr-defined]


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
        raise InvalidBookingRequest(_("The start time needs a time zone."))
    with overlap_means_slot_taken(), transaction.atomic():
        locked = lock_appointment(appointment)
        if locked.status not in RESCHEDULABLE:
            raise InvalidTransition
        # The terms decide on the time the appointment leaves (how many moves, how late),
        # under the appointment's lock: a refusal changes nothing and says why.
        action, decision = _policy_on_move(locked, actor=actor, now=now)
        if not decision.allowed:
            raise InvalidTransition(decision.message)
        new_staff = staff or locked.staff
        offer = _validate_offer(
            tenant=locked.tenant,
            location=locked.location,
            staff=new_staff,
            service=locked.service,
            client=locked.client,
            start=start,
        )
        end, blocked_start, blocked_end = blocked_range(locked.service, start)
        lock_staff(locked.staff, new_staff)
        _check_slot(
            tenant=locked.tenant,
            location=locked.location,
            staff=new_staff,
            service=locked.service,
            start=start,
            channel=actor.channel,
            now=now,
            exclude_appointment_id=locked.pk,
            inputs=offer.day,
        )
        old = {"start": locked.start.isoformat(), "staff": locked.staff_id}
        from_status = locked.status
        locked.staff, locked.start, locked.end = new_staff, start, end
        locked.blocked_start, locked.blocked_end = blocked_start, blocked_end
        locked.status = AppointmentStatus.SCHEDULED
        locked.confirmed_at = None
        locked.version += 1
        with transaction.atomic():
            locked.save()
        record_event(
            appointment=locked,
            kind=EventKind.RESCHEDULED,
            actor=actor,
            at=now,
            from_status=from_status,
            to_status=locked.status,
            reason=reason,
            data={"from": old, "to": {"start": start.isoformat(), "staff": new_staff.pk}},
        )
        after_change(Change(appointment=locked, kind=EventKind.RESCHEDULED, at=now, data=old))
        # Counted against the terms (a client's moves), a pending deposit due before the new start.
        decide_and_record(
            appointment=locked,
            action=action,
            actor=actor,
            now=now,
            note=reason,
            decision=decision,
        )
    return locked


def _policy_on_move(locked: Appointment, *, actor: Actor, now: datetime) -> tuple[str, Any]:
    from policies.choices import Action
    from policies.services.decisions import policy_decide

    action = (
        Action.RESCHEDULE_BY_CLIENT
        if actor.type == ActorType.CLIENT
        else Action.RESCHEDULE_BY_STAFF
    )
    return action, policy_decide(appointment=locked, action=action, now=now)


def appointment_book_any(
    *,
    tenant: Business,
    location: Location,
    service: Service,
    client: Client,
    start: datetime,
    source: str,
    actor: Actor,
    staff: StaffMember | None = None,
    notes: str = "",
    now: datetime | None = None,
    as_request: bool = False,
) -> Appointment:
    """Book with `staff`, or with whichever staff member is free at `start` when it is None.

    With "anyone", the candidates are those availability offers at `start`; if another
    request takes one of them meanwhile, the next is tried.
    """
    now = now or timezone.now()
    if staff is not None:
        candidates = [staff]
    else:
        policy = POLICIES[source]
        free = staff_free_at(
            tenant=tenant,
            service=service,
            location=location,
            start=start,
            now=now,
            on_grid=policy.grid,
            booking_window=policy.window,
        )
        by_id = StaffMember.objects.in_bulk(free)
        candidates = [by_id[staff_id] for staff_id in free]
    for candidate in candidates:
        try:
            return appointment_book(
                tenant=tenant,
                location=location,
                staff=candidate,
                service=service,
                client=client,
                start=start,
                source=source,
                actor=actor,
                notes=notes,
                now=now,
                as_request=as_request,
            )
        except SlotTaken:
            continue  # taken meanwhile by another request: try the next free staff member
    raise SlotTaken
