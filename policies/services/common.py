"""What the policies' services share: reading the terms row, facts, ledger rows and events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from appointments.models import Appointment, EventKind
from appointments.services.common import Actor, lock_appointment, record_event
from policies.engine import NO_POLICY, SNAPSHOT_VERSION, Credit, Facts, Terms
from policies.models import AppointmentTerms, LedgerEntry, PolicyDecision

ZERO = Decimal("0")


def actor_fields(actor: Actor) -> dict[str, Any]:
    return {
        "actor_type": actor.type,
        "actor_user": actor.user,
        "actor_label": actor.label,
        "channel": actor.channel,
    }


def terms_of(row: AppointmentTerms | None) -> Terms:
    if row is None:
        return NO_POLICY
    return Terms.from_snapshot(row.terms, row.version)


def agreed_terms(row: AppointmentTerms | None) -> bool:
    """Whether the client booked under terms (a policy, or credit on the booking), rather
    than under none: a neutral row only records how the appointment ended."""
    return row is not None and (terms_of(row) != NO_POLICY or row.deposit_required > ZERO)


def neutral_terms_row(appointment: Appointment, *, now: datetime) -> AppointmentTerms:
    """Terms for an appointment booked before any snapshot existed: the client agreed to no
    policy, so nothing is charged (the row still records how the appointment ended)."""
    return AppointmentTerms(
        tenant_id=appointment.tenant_id,
        appointment=appointment,
        version=SNAPSHOT_VERSION,
        terms=NO_POLICY.to_snapshot(),
        currency=appointment.tenant.currency,
        created_at=now,
    )


def locked_terms(appointment: Appointment, *, now: datetime) -> AppointmentTerms:
    """The appointment's terms row under a row lock (created neutral if it has none).

    Lock order, everywhere: the appointment row first (when the caller holds it), then this.
    """
    row = AppointmentTerms.objects.select_for_update().filter(pk=appointment.pk).first()
    if row is None:
        row = neutral_terms_row(appointment, now=now)
        row.save(force_insert=True)
    return row


def locked_money(appointment: Appointment, *, now: datetime) -> AppointmentTerms:
    """For payments and exceptions, which run outside a status change: the appointment row
    lock first, then the terms, the order every policy path takes. Locking the terms alone
    deadlocks against a release (it holds the appointment and waits for the terms, while the
    payment's ledger row waits on the appointment's key)."""
    lock_appointment(appointment)
    return locked_terms(appointment, now=now)


def facts_for(
    appointment: Appointment,
    row: AppointmentTerms | None,
    *,
    credit: Credit | None = None,
    language: str | None = None,
) -> Facts:
    """`language`: the sentences' (a page the client switched to another language); by
    default the client's own, else the business's."""
    tenant = appointment.tenant
    return Facts(
        start=appointment.start,
        price=appointment.price,
        currency=row.currency if row is not None else tenant.currency,
        timezone=appointment.location.timezone,
        language=language or appointment.client.language or tenant.language,
        deposit_required=row.deposit_required if row is not None else ZERO,
        deposit_paid=row.deposit_paid if row is not None else ZERO,
        client_reschedules=row.client_reschedules if row is not None else 0,
        credit=credit,
    )


def ledger_entry(
    *,
    appointment: Appointment,
    kind: str,
    amount: Decimal,
    currency: str,
    actor: Actor,
    now: datetime,
    decision: PolicyDecision | None = None,
    **extra: Any,
) -> LedgerEntry:
    """An unsaved entry (the caller bulk-creates a decision's entries together)."""
    return LedgerEntry(
        tenant_id=appointment.tenant_id,
        client_id=appointment.client_id,
        appointment=appointment,
        kind=kind,
        amount=amount,
        currency=currency,
        decision=decision,
        created_at=now,
        **actor_fields(actor),
        **extra,
    )


def policy_event(
    *,
    appointment: Appointment,
    actor: Actor,
    now: datetime,
    what: str,
    reason: str = "",
    **data: Any,
) -> None:
    """The appointment's audit trail gets one row per policy decision, payment or exception.

    EventKind has no policy kind yet (appointments owns it): a note whose data says "policy".
    """
    record_event(
        appointment=appointment,
        kind=EventKind.NOTE,
        actor=actor,
        at=now,
        from_status=appointment.status,
        to_status=appointment.status,
        reason=reason,
        data={"policy": {"what": what, **{k: _plain(v) for k, v in data.items()}}},
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
