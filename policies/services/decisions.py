"""The terms an appointment is booked under, the engine's decisions applied to it, and the
release of bookings whose deposit was not paid in time."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from appointments.errors import InvalidTransition
from appointments.models import Appointment
from appointments.services.common import Actor, lock_appointment
from appointments.services.transitions import appointment_cancel
from appointments.workflow import OPEN_STATUSES
from policies.choices import (
    FINAL_ACTIONS,
    Action,
    DepositAppliesTo,
    DepositKind,
    DepositOutcome,
    DepositStatus,
    EntryKind,
    Outcome,
    PaymentMethod,
)
from policies.engine import (
    NO_POLICY,
    SNAPSHOT_VERSION,
    Decision,
    Requirement,
    Standing,
    decide,
    deposit_due_at,
    deposit_requirement,
    describe_terms,
)
from policies.errors import AlreadyDecided
from policies.models import AppointmentTerms, ClientFlag, LedgerEntry, Policy, PolicyDecision
from policies.money import format_money
from policies.selectors import (
    BookingProbe,
    available_credits,
    effective_policy,
    reliability_for,
)
from policies.services.common import (
    ZERO,
    actor_fields,
    agreed_terms,
    facts_for,
    ledger_entry,
    locked_terms,
    policy_event,
    terms_of,
)
from policies.services.setup import terms_from_policy
from tenants.models import Business

logger = logging.getLogger(__name__)

# Actions `decide_and_record` applies. REBOOK happens inside the snapshot of the new booking.
RECORDED_ACTIONS: frozenset[str] = FINAL_ACTIONS | {
    Action.RESCHEDULE_BY_CLIENT,
    Action.RESCHEDULE_BY_STAFF,
}

DEPOSIT_STATUS_AFTER: dict[str, str] = {
    DepositOutcome.REFUND: DepositStatus.REFUNDED,
    DepositOutcome.KEEP: DepositStatus.KEPT,
    DepositOutcome.CREDIT: DepositStatus.CREDITED,
    DepositOutcome.APPLY: DepositStatus.APPLIED,
    DepositOutcome.WITHDRAW: DepositStatus.WITHDRAWN,
}

# Unpaid bookings released per tick. Each is its own short transaction (it locks one
# appointment and plans one message); a backlog after an outage drains over a few ticks.
RELEASE_BATCH_SIZE = 200


def _status_for(row: AppointmentTerms) -> str:
    if row.deposit_required > row.deposit_paid:
        return DepositStatus.PENDING
    if row.deposit_paid > ZERO:
        return DepositStatus.PAID
    return DepositStatus.NOT_REQUIRED


def policy_terms_snapshot(
    appointment: Appointment,
    *,
    actor: Actor | None = None,
    now: datetime | None = None,
    probe: BookingProbe | None = None,
) -> AppointmentTerms:
    """Store the terms in force for a new booking, ask for its deposit, and use the client's
    rebooking credit on it. Call it in the booking's transaction; a second call returns the
    stored terms unchanged (what the client agreed to is never rewritten).

    `probe`: what the booking already read of the policies (`appointment_book` does, in its
    validation query); the booking is new, so there is no row to look for either.

    Queries, from a booking with a probe: the policy, the insert; the client's standing only
    when the deposit depends on it; the deposit's request when there is one; the credits only
    when the client holds some. No savepoint: the booking's transaction is the unit.
    """
    now = now or timezone.now()
    actor = actor or Actor.system()
    tenant = appointment.tenant
    if probe is None:
        existing = AppointmentTerms.objects.filter(pk=appointment.pk).first()
        if existing is not None:
            return existing
        policy = effective_policy(tenant=tenant, service=appointment.service)
        check_credits = True
    else:
        policy = (
            Policy.objects.filter(tenant=tenant, pk=probe.policy_id).first()
            if probe.policy_id is not None
            else None
        )
        check_credits = probe.has_credit
    terms = terms_from_policy(policy) if policy is not None else terms_of(None)
    standing = Standing()
    if (
        terms.deposit_kind != DepositKind.NONE
        and terms.deposit_applies_to != DepositAppliesTo.EVERYONE
    ):
        reliability = reliability_for(
            tenant=tenant,
            client_ids=[appointment.client_id],
            now=now,
            window_months=terms.reliability_window_months,
            threshold=terms.reliability_threshold,
        )[appointment.client_id]
        standing = Standing(
            is_new=reliability.is_new,
            strikes=reliability.strikes,
            flagged=ClientFlag.objects.filter(
                tenant=tenant, client_id=appointment.client_id
            ).exists(),
        )
    requirement = deposit_requirement(
        terms, price=appointment.price, currency=tenant.currency, standing=standing
    )
    row = AppointmentTerms(
        tenant=tenant,
        appointment=appointment,
        policy=policy,
        version=SNAPSHOT_VERSION,
        terms=terms.to_snapshot(),
        currency=tenant.currency,
        deposit_required=requirement.amount,
        deposit_reason=requirement.reason,
        deposit_due_at=(
            deposit_due_at(terms, booked_at=now, start=appointment.start)
            if requirement.amount
            else None
        ),
        created_at=now,
    )
    row.deposit_status = _status_for(row)
    with transaction.atomic(savepoint=False):
        row.save(force_insert=True)
        if requirement.amount:
            ledger_entry(
                appointment=appointment,
                kind=EntryKind.DEPOSIT_REQUESTED,
                amount=requirement.amount,
                currency=row.currency,
                actor=actor,
                now=now,
                reason=requirement.reason,
            ).save()
        if check_credits:
            _use_credits(appointment=appointment, row=row, actor=actor, now=now)
    return row


def _use_credits(
    *, appointment: Appointment, row: AppointmentTerms, actor: Actor, now: datetime
) -> None:
    """A kept deposit held as credit counts towards the client's next booking, if made in time."""
    credits = available_credits(tenant=appointment.tenant, client_id=appointment.client_id, now=now)
    for credit in credits:
        decision = decide(
            terms_of(row), facts_for(appointment, row, credit=credit), Action.REBOOK, now
        )
        if not decision.allowed:
            continue
        record = _decision_row(appointment, decision, actor=actor, now=now, amount=credit.amount)
        LedgerEntry.objects.bulk_create(
            [
                ledger_entry(
                    appointment=appointment,
                    kind=EntryKind.CREDIT_USED,
                    amount=credit.amount,
                    currency=row.currency,
                    actor=actor,
                    now=now,
                    decision=record,
                    credit_expires_at=credit.expires_at,
                ),
                ledger_entry(
                    appointment=appointment,
                    kind=EntryKind.DEPOSIT_PAID,
                    amount=credit.amount,
                    currency=row.currency,
                    actor=actor,
                    now=now,
                    decision=record,
                    provider="credit",
                    method=PaymentMethod.CREDIT,
                ),
            ]
        )
        row.deposit_paid += credit.amount
        row.deposit_status = _status_for(row)
        row.save(update_fields=["deposit_paid", "deposit_status", "updated_at"])
        _event(appointment, record, actor=actor, now=now)


def policy_decide(
    *, appointment: Appointment, action: str, now: datetime, language: str | None = None
) -> Decision:
    """What `action` would mean now, without writing anything (pages, previews, guards).
    `language`: the sentence's, when not the client's own."""
    row = AppointmentTerms.objects.filter(pk=appointment.pk).first()
    return decide(terms_of(row), facts_for(appointment, row, language=language), action, now)


@dataclass(frozen=True)
class ClientView:
    """What the client's own page says of their terms, in the page's language (one query).

    `terms`: the terms they booked under, as sentences (empty: they agreed to none).
    `cancel`: what cancelling now would mean ("" without terms: nothing to say).
    `move`: whether they may move it now, and the sentence that says so or why not.
    """

    terms: list[str]
    cancel: str
    move: Decision


def policy_client_view(*, appointment: Appointment, now: datetime, language: str) -> ClientView:
    row = AppointmentTerms.objects.filter(pk=appointment.pk).first()
    terms = terms_of(row)
    facts = facts_for(appointment, row, language=language)
    agreed = agreed_terms(row)
    cancel = decide(terms, facts, Action.CANCEL_BY_CLIENT, now).message if agreed else ""
    move = decide(terms, facts, Action.RESCHEDULE_BY_CLIENT, now)
    return ClientView(
        terms=_terms_lines(appointment, row, language=language), cancel=cancel, move=move
    )


def policy_terms_sentences(
    *, appointment: Appointment, language: str, short: bool = False
) -> list[str]:
    """The terms the client booked under, as the sentences a confirmation states (one query;
    none when they booked under no terms). `short` (an SMS): only the deposit still to pay,
    the one thing the client must act on."""
    row = AppointmentTerms.objects.filter(pk=appointment.pk).first()
    if short:
        if row is None or row.deposit_status != DepositStatus.PENDING:
            return []
        return _terms_lines(appointment, row, language=language)[:1]
    return _terms_lines(appointment, row, language=language)


def terms_sentences_of(
    appointment: Appointment, row: AppointmentTerms | None, *, language: str
) -> list[str]:
    """`policy_terms_sentences` for a terms row already read (no query)."""
    return _terms_lines(appointment, row, language=language)


def _terms_lines(
    appointment: Appointment, row: AppointmentTerms | None, *, language: str
) -> list[str]:
    if row is None:
        return []
    terms = terms_of(row)
    if terms == NO_POLICY:
        return []
    lines = describe_terms(
        terms,
        price=appointment.price,
        currency=row.currency,
        language=language,
        requirement=Requirement(row.deposit_required, row.deposit_reason),
    )
    with translation.override(language):
        if row.deposit_status == DepositStatus.PAID:
            lines.append(
                _("Your %(amount)s deposit is paid.")
                % {"amount": format_money(row.deposit_paid, row.currency, language)}
            )
        elif row.deposit_status == DepositStatus.PENDING and row.deposit_paid > ZERO:
            lines.append(
                _("Deposit still to pay: %(amount)s.")
                % {
                    "amount": format_money(
                        row.deposit_required - row.deposit_paid, row.currency, language
                    )
                }
            )
    return lines


def policy_decision_message(*, appointment: Appointment, actions: frozenset[str]) -> str:
    """What the latest recorded decision among `actions` told the client ("" if none)."""
    record = (
        PolicyDecision.objects.filter(
            tenant_id=appointment.tenant_id, appointment=appointment, action__in=actions
        )
        .order_by("-at", "-id")
        .only("message")
        .first()
    )
    return record.message if record is not None else ""


def decide_and_record(
    *,
    appointment: Appointment,
    action: str,
    actor: Actor,
    now: datetime | None = None,
    note: str = "",
    decision: Decision | None = None,
) -> Decision:
    """Apply the engine to `action` on `appointment` and record it: the decision, its ledger
    entries and an appointment event, in one transaction. A refused decision (a move past
    the limits) is returned and writes nothing. A final action (cancel, no-show, attend,
    release) is decided once per appointment: a second one raises AlreadyDecided.

    Call it inside the appointment service's transaction, after its status change, while it
    holds the appointment's row lock.

    `decision`: one `policy_decide` took under the same appointment lock, recorded as it is
    (a move is decided on the time it leaves, and recorded once it has moved). A move of an
    appointment booked under no terms records nothing: there is nothing to count it against.
    """
    if action not in RECORDED_ACTIONS:
        raise ValueError(f"decide_and_record does not apply {action!r}.")
    now = now or timezone.now()
    with transaction.atomic():
        if action in (Action.RESCHEDULE_BY_CLIENT, Action.RESCHEDULE_BY_STAFF):
            found = AppointmentTerms.objects.select_for_update().filter(pk=appointment.pk).first()
            if found is None:
                return decision or decide(terms_of(None), facts_for(appointment, None), action, now)
            row = found
        else:
            row = locked_terms(appointment, now=now)
        if action in FINAL_ACTIONS and row.outcome != Outcome.OPEN:
            raise AlreadyDecided
        if decision is None or decision.action != action:
            decision = decide(terms_of(row), facts_for(appointment, row), action, now)
        if decision.allowed:
            _record(appointment, row, decision, actor=actor, now=now, note=note)
    return decision


def _decision_row(
    appointment: Appointment,
    decision: Decision,
    *,
    actor: Actor,
    now: datetime,
    amount: Decimal = ZERO,
    note: str = "",
) -> PolicyDecision:
    return PolicyDecision.objects.create(
        tenant_id=appointment.tenant_id,
        appointment=appointment,
        action=decision.action,
        reason_code=decision.reason,
        late=decision.late,
        fee=decision.fee,
        deposit_outcome=decision.deposit,
        amount=amount,
        credit_expires_at=decision.credit_expires_at,
        message=decision.message,
        note=note,
        at=now,
        **actor_fields(actor),
    )


def _event(
    appointment: Appointment, record: PolicyDecision, *, actor: Actor, now: datetime
) -> None:
    policy_event(
        appointment=appointment,
        actor=actor,
        now=now,
        what="decision",
        # The status change's own event already says why (the decision keeps it as its note).
        decision=record.pk,
        action=record.action,
        code=record.reason_code,
        late=record.late,
        fee=record.fee,
        deposit=record.deposit_outcome,
        amount=record.amount,
    )


def _record(
    appointment: Appointment,
    row: AppointmentTerms,
    decision: Decision,
    *,
    actor: Actor,
    now: datetime,
    note: str,
) -> PolicyDecision | None:
    """Write the decision, its ledger entries, the terms row's new state and an event.

    Under no terms at all (booked without a policy or credit) a decision that moves no money
    only updates the row's outcome (reliability counts it): no decision row, no event, so the
    history of a business without policies is not filled with "nothing happened".
    """
    moved = (
        decision.deposit_refunded
        + decision.deposit_kept
        + decision.deposit_credited
        + decision.deposit_applied
    )
    silent = (
        decision.fee == ZERO and decision.deposit == DepositOutcome.NONE and not agreed_terms(row)
    )
    record = (
        None
        if silent
        else _decision_row(appointment, decision, actor=actor, now=now, amount=moved, note=note)
    )
    amounts: tuple[tuple[str, Decimal, dict[str, Any]], ...] = (
        (EntryKind.FEE_CHARGED, decision.fee, {}),
        # Credit: the deposit is kept, and the same amount is issued as credit.
        (EntryKind.KEPT, decision.deposit_kept + decision.deposit_credited, {}),
        (
            EntryKind.FEE_PAID,
            decision.fee_paid_from_deposit,
            {"provider": "deposit", "method": PaymentMethod.DEPOSIT},
        ),
        (
            EntryKind.CREDIT_ISSUED,
            decision.deposit_credited,
            {"credit_expires_at": decision.credit_expires_at},
        ),
        (EntryKind.REFUNDED, decision.deposit_refunded, {}),
        (EntryKind.DEPOSIT_APPLIED, decision.deposit_applied, {}),
        (EntryKind.DEPOSIT_WITHDRAWN, decision.deposit_withdrawn, {}),
    )
    entries = [
        ledger_entry(
            appointment=appointment,
            kind=kind,
            amount=amount,
            currency=row.currency,
            actor=actor,
            now=now,
            decision=record,
            **extra,
        )
        for kind, amount, extra in amounts
        if amount > ZERO
    ]
    if entries:
        LedgerEntry.objects.bulk_create(entries)

    if decision.deposit in DEPOSIT_STATUS_AFTER:
        row.deposit_status = DEPOSIT_STATUS_AFTER[decision.deposit]
    if decision.action == Action.CANCEL_BY_CLIENT:
        row.outcome = Outcome.CANCELLED_LATE if decision.late else Outcome.CANCELLED_ON_TIME
    elif decision.action == Action.CANCEL_BY_STAFF:
        row.outcome = Outcome.CANCELLED_BY_STAFF
    elif decision.action == Action.NO_SHOW:
        row.outcome = Outcome.NO_SHOW
    elif decision.action == Action.ATTEND:
        row.outcome = Outcome.ATTENDED
    elif decision.action == Action.RELEASE_UNPAID:
        row.outcome = Outcome.RELEASED
    elif decision.action in (Action.RESCHEDULE_BY_CLIENT, Action.RESCHEDULE_BY_STAFF):
        if decision.action == Action.RESCHEDULE_BY_CLIENT:
            row.client_reschedules += 1
        if row.deposit_status == DepositStatus.PENDING:
            # Moved earlier: the deposit is still due before the (new) start.
            row.deposit_due_at = deposit_due_at(
                terms_of(row), booked_at=row.created_at, start=appointment.start
            )
    row.save()
    if record is not None:
        _event(appointment, record, actor=actor, now=now)
    return record


def deposits_release_unpaid(*, now: datetime, limit: int = RELEASE_BATCH_SIZE) -> list[int]:
    """Cancel the open bookings whose deposit deadline passed unpaid; returns their ids.

    Runs for every business (beat, no tenant). Each release is its own transaction that
    locks the appointment, then its terms, and re-checks both, so a payment recorded at the
    last moment or a second tick never releases a booking twice. The cancellation goes
    through the appointments' own service (system actor): the client is told, the slot is free.
    """
    with scopes_disabled():
        due = list(
            AppointmentTerms.objects.filter(
                deposit_status=DepositStatus.PENDING,
                deposit_due_at__lt=now,
                appointment__status__in=OPEN_STATUSES,
            )
            .order_by("deposit_due_at")
            .values_list("appointment_id", "tenant_id")[:limit]
        )
        tenants = Business.objects.in_bulk({tenant_id for _id, tenant_id in due})
    released: list[int] = []
    for appointment_id, tenant_id in due:
        tenant = tenants[tenant_id]
        try:
            with scope(tenant=tenant):
                if _release(appointment_id=appointment_id, tenant=tenant, now=now):
                    released.append(appointment_id)
        except Exception:  # one broken row must not stop the others; it is retried next tick
            logger.exception("appointment %s: releasing the unpaid booking failed", appointment_id)
    return released


def _release(*, appointment_id: int, tenant: Business, now: datetime) -> bool:
    with transaction.atomic():
        appointment = Appointment.objects.filter(pk=appointment_id, tenant=tenant).first()
        if appointment is None:
            return False
        appointment = lock_appointment(appointment)
        row = locked_terms(appointment, now=now)
        if (
            row.deposit_status != DepositStatus.PENDING
            or row.deposit_due_at is None
            or row.deposit_due_at >= now
            or appointment.status not in OPEN_STATUSES
        ):
            return False
        with translation.override(tenant.language):
            reason = _("The deposit was not paid in time.")
        actor = Actor.system()
        try:
            cancelled = appointment_cancel(
                appointment=appointment, actor=actor, reason=reason, now=now
            )
        except InvalidTransition:
            return False
        decision = decide(terms_of(row), facts_for(cancelled, row), Action.RELEASE_UNPAID, now)
        _record(cancelled, row, decision, actor=actor, now=now, note=reason)
    return True
