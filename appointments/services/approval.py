"""Staff approval of new clients' online bookings: the request, its acceptance, its decline.

A business may ask for it (`Business.approve_new_clients`). The booking page then books a
client the business does not know yet as a *request* (`appointment_book(..., as_request=True)`):
status "requested", holding the staff member's time like any booking (availability hides it,
the no-overlap constraint covers it), told "we received your request", with no reminders
and no terms or deposit yet. Then, one of:

- a member accepts it (`appointment_accept`): scheduled. The client gets the usual booking
  confirmation with their link; the reminder rules are planned; the terms in force are
  stored and any deposit is asked for from that moment, with its full time to pay.
- a member declines it (`appointment_decline`): cancelled by the business, with the reason
  ("Declined by the business" when none is given). The client is told; the time is free
  again (and offered to the waitlist like any freed time).
- the client withdraws it from their page: an ordinary cancellation by the client, which
  costs nothing (they agreed to no terms yet).

Nothing else leaves "requested" (see workflow.TRANSITIONS): no confirmation, check-in,
attendance or no-show of a request.

Neither change bumps the appointment's version: the version retires the client's links when
the *time* changes (a reschedule). Accepting keeps the time, and the link in the "request
received" message must keep working, to show the client the answer.

Who is new: a client with no appointment at this business that was booked for real, upcoming
(scheduled, confirmed) or past (attended, no-show). Requests, cancelled and declined
appointments do not make a client known: someone whose only history is a request still
waiting or turned down is still new. The client is found by phone or email, as for every
online booking (`selfservice.services.booking.client_for_self_service`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.errors import InvalidTransition
from appointments.models import (
    Appointment,
    AppointmentStatus,
    CancelledBy,
    EventKind,
)
from appointments.services.common import Actor, Change, after_change, lock_appointment, record_event
from appointments.signals import appointment_cancelled
from clients.models import Client
from tenants.models import Business

S = AppointmentStatus

# Appointments that make a client known to the business (see the module's docstring).
KNOWN_CLIENT_STATUSES: tuple[str, ...] = (S.SCHEDULED, S.CONFIRMED, S.ATTENDED, S.NO_SHOW)
DECLINE_REASON_MAX = 1000


def client_is_known(*, tenant: Business, client: Client) -> bool:
    """Whether the business has booked this client for real before (one query)."""
    if client.pk is None:
        return False
    return Appointment.objects.filter(
        tenant=tenant, client=client, status__in=KNOWN_CLIENT_STATUSES
    ).exists()


def approval_required(*, tenant: Business, client: Client) -> bool:
    """Whether an online booking by `client` waits for the business as a request."""
    return tenant.approve_new_clients and not client_is_known(tenant=tenant, client=client)


def _answerable(locked: Appointment, now: datetime) -> None:
    if locked.status != S.REQUESTED:
        raise InvalidTransition(_("This request has already been answered or withdrawn."))
    if now >= locked.start:
        raise InvalidTransition(_("This request's time has passed: it can only be declined."))


def _store_terms(locked: Appointment, *, actor: Actor, now: datetime) -> None:
    """The terms in force now, stored as at a booking (only when there is a policy or the
    client holds credit: else nothing is stored, as at a booking)."""
    from policies.selectors import BookingProbe, booking_probe_sql  # policies build on us
    from policies.services.decisions import policy_terms_snapshot

    sql, params = booking_probe_sql(
        tenant_id=locked.tenant_id,
        service_id=locked.service_id,
        client_id=locked.client_id,
        now=now,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        policy_id, has_credit = cursor.fetchone()
    probe = BookingProbe(policy_id=policy_id, has_credit=bool(has_credit))
    if probe.needs_terms:
        policy_terms_snapshot(locked, actor=actor, now=now, probe=probe)


def appointment_accept(
    *, appointment: Appointment, actor: Actor, now: datetime | None = None
) -> Appointment:
    """Accept a request: it becomes an ordinary scheduled booking. InvalidTransition when it
    is no longer a request (answered, withdrawn) or its time has passed."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_appointment(appointment)
        _answerable(locked, now)
        locked.status = S.SCHEDULED
        locked.save()
        record_event(
            appointment=locked,
            kind=EventKind.ACCEPTED,
            actor=actor,
            at=now,
            from_status=S.REQUESTED,
            to_status=S.SCHEDULED,
        )
        # The terms before the confirmation is planned: it states them (and the deposit).
        _store_terms(locked, actor=actor, now=now)
        after_change(
            Change(
                appointment=locked,
                kind=EventKind.ACCEPTED,
                at=now,
                data={"from": S.REQUESTED, "to": S.SCHEDULED},
            )
        )
    return locked


def default_decline_reason(tenant: Business) -> str:
    with translation.override(tenant.language):
        return _("Declined by the business.")


def appointment_decline(
    *,
    appointment: Appointment,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Decline a request: cancelled by the business, with `reason` (a default one when
    empty), the client told and the time freed. InvalidTransition when it is no longer a
    request. A request whose time has passed may still be declined (to close it)."""
    now = now or timezone.now()
    reason = reason.strip()[:DECLINE_REASON_MAX]
    with transaction.atomic():
        locked = lock_appointment(appointment)
        if locked.status != S.REQUESTED:
            raise InvalidTransition(_("This request has already been answered or withdrawn."))
        locked.status = S.CANCELLED
        locked.cancelled_at = now
        locked.cancelled_by = CancelledBy.STAFF
        locked.cancellation_reason = reason or default_decline_reason(locked.tenant)
        locked.save()
        record_event(
            appointment=locked,
            kind=EventKind.DECLINED,
            actor=actor,
            at=now,
            from_status=S.REQUESTED,
            to_status=S.CANCELLED,
            reason=locked.cancellation_reason,
        )
        after_change(
            Change(
                appointment=locked,
                kind=EventKind.DECLINED,
                at=now,
                data={"from": S.REQUESTED, "to": S.CANCELLED},
            )
        )
        # The time is free again: offered to the waitlist like any cancelled time.
        appointment_cancelled.send(sender=Appointment, appointment=locked, now=now)
    return locked
