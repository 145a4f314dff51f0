"""Status changes and the moments of a visit (check-in, start, finish), each locked and audited."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.errors import InvalidTransition, SlotTaken
from appointments.models import (
    BLOCKING_STATUSES,
    ActorType,
    Appointment,
    AppointmentStatus,
    CancelledBy,
    EventKind,
)
from appointments.services.booking import has_overlap, lock_staff, overlap_means_slot_taken
from appointments.services.common import Actor, Change, after_change, lock_appointment, record_event
from appointments.signals import appointment_cancelled
from appointments.workflow import NOT_BEFORE_START, RESCHEDULABLE, can_correct, can_transition


def _write_status_change(
    locked: Appointment, *, kind: str, from_status: str, actor: Actor, reason: str, now: datetime
) -> None:
    """Save a locked appointment's new status, its event, and its side effects (same transaction)."""
    locked.save()
    record_event(
        appointment=locked,
        kind=kind,
        actor=actor,
        at=now,
        from_status=from_status,
        to_status=locked.status,
        reason=reason,
    )
    after_change(
        Change(
            appointment=locked, kind=kind, at=now, data={"from": from_status, "to": locked.status}
        )
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
        locked = lock_appointment(appointment)
        from_status = locked.status
        if not can_transition(from_status, to_status):
            raise InvalidTransition
        who = cancelled_by or (
            CancelledBy.CLIENT
            if actor.type == ActorType.CLIENT
            else CancelledBy.SYSTEM
            if actor.type == ActorType.SYSTEM
            else CancelledBy.STAFF
        )
        if from_status == AppointmentStatus.REQUESTED and not (
            to_status == AppointmentStatus.CANCELLED and who != CancelledBy.STAFF
        ):
            # The business answers a request with appointment_accept or appointment_decline
            # (services/approval.py); here only the client withdraws it (or the system, when
            # the client's data is erased).
            raise InvalidTransition(_("A request is accepted or declined, not changed."))
        if to_status in NOT_BEFORE_START and now < locked.start:
            raise InvalidTransition(
                _("An appointment can't be marked attended or no-show before it starts.")
            )
        locked.status = to_status
        if to_status == AppointmentStatus.CONFIRMED:
            locked.confirmed_at = now
        elif to_status == AppointmentStatus.CANCELLED:
            locked.cancelled_at = now
            locked.cancelled_by = who
            locked.cancellation_reason = reason
        elif (
            to_status == AppointmentStatus.ATTENDED
            and locked.finished_at is None
            and locked.started_at
        ):
            locked.finished_at = now
        _write_status_change(
            locked,
            kind=EventKind.STATUS,
            from_status=from_status,
            actor=actor,
            reason=reason,
            now=now,
        )
        if from_status != AppointmentStatus.REQUESTED:
            # A request withdrawn costs nothing: the client agreed to no terms yet.
            _apply_policy(locked, actor=actor, reason=reason, now=now)
        if locked.status == AppointmentStatus.CANCELLED:
            appointment_cancelled.send(sender=Appointment, appointment=locked, now=now)
    return locked


def _apply_policy(locked: Appointment, *, actor: Actor, reason: str, now: datetime) -> None:
    """The terms the client booked under decide what the new status costs, recorded with it
    (same transaction, appointment row still locked: the lock order of every policy path).

    A cancellation by the system is a release of an unpaid booking: the release records its
    own decision (RELEASE_UNPAID), so nothing is decided here.
    """
    from policies.choices import Action  # policies build on the appointment services
    from policies.services.decisions import decide_and_record

    if locked.status == AppointmentStatus.CANCELLED:
        if locked.cancelled_by == CancelledBy.SYSTEM:
            return
        action = (
            Action.CANCEL_BY_CLIENT
            if locked.cancelled_by == CancelledBy.CLIENT
            else Action.CANCEL_BY_STAFF
        )
    elif locked.status == AppointmentStatus.NO_SHOW:
        action = Action.NO_SHOW
    elif locked.status == AppointmentStatus.ATTENDED:
        action = Action.ATTEND
    else:
        return
    decide_and_record(appointment=locked, action=action, actor=actor, now=now, note=reason)


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
        raise InvalidTransition(_("A correction needs a written reason."))
    with overlap_means_slot_taken(), transaction.atomic():
        locked = lock_appointment(appointment)
        from_status = locked.status
        if not can_correct(from_status, to_status):
            raise InvalidTransition
        if to_status in BLOCKING_STATUSES:
            lock_staff(locked.staff)
        if to_status in BLOCKING_STATUSES and has_overlap(
            staff=locked.staff,
            blocked_start=locked.blocked_start,
            blocked_end=locked.blocked_end,
            exclude_id=locked.pk,
        ):
            raise SlotTaken(_("Another appointment now holds this time."))
        locked.status = to_status
        _write_status_change(
            locked,
            kind=EventKind.CORRECTED,
            from_status=from_status,
            actor=actor,
            reason=reason,
            now=now,
        )
        if from_status == AppointmentStatus.NO_SHOW and to_status == AppointmentStatus.ATTENDED:
            from policies.services.ledger import policy_correct_no_show

            # The client came: the no-show's unpaid fee is taken back, with the reason.
            policy_correct_no_show(appointment=locked, actor=actor, reason=reason, now=now)
    return locked


def _mark_moment(
    *, appointment: Appointment, field_name: str, kind: str, actor: Actor, now: datetime | None
) -> Appointment:
    """Check-in, start and finish: recorded once, while the appointment is open; status unchanged."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_appointment(appointment)
        if locked.status not in RESCHEDULABLE and not (
            kind == EventKind.FINISHED and locked.status == AppointmentStatus.ATTENDED
        ):
            raise InvalidTransition
        if getattr(locked, field_name) is not None:
            raise InvalidTransition(_("This was already recorded."))
        if kind == EventKind.STARTED and locked.arrived_at is None:
            locked.arrived_at = now  # starting implies the client is here
        if kind == EventKind.FINISHED and locked.started_at is None:
            raise InvalidTransition(_("The appointment has not started."))
        setattr(locked, field_name, now)
        locked.save()
        record_event(
            appointment=locked,
            kind=kind,
            actor=actor,
            at=now,
            from_status=locked.status,
            to_status=locked.status,
        )
        after_change(Change(appointment=locked, kind=kind, at=now))
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
