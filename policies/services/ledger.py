"""Money recorded by people: payments taken at the desk, and staff's audited exceptions.

The caller checks the role (the API: receptionists record payments, admins make exceptions);
every exception needs a written reason and lands in the appointment's events.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from appointments.models import Appointment
from appointments.services.common import Actor
from policies.choices import Action, DepositOutcome, DepositStatus, EntryKind, Outcome, Reason
from policies.engine import Terms, credit_expiry
from policies.errors import NothingToDo
from policies.models import LedgerEntry, PolicyDecision
from policies.money import format_money, has_currency_precision
from policies.payments import RECORDED_BY_STAFF, PaymentProvider
from policies.selectors import appointment_fee_outstanding, appointment_kept_not_credited
from policies.services.common import (
    ZERO,
    actor_fields,
    ledger_entry,
    locked_money,
    policy_event,
    terms_of,
)

DEFAULT_EXCEPTION_CREDIT_DAYS = 30


def _check_amount(amount: Decimal, *, outstanding: Decimal, currency: str) -> None:
    if amount <= ZERO:
        raise ValidationError({"amount": [_("Give an amount above zero.")]})
    if not has_currency_precision(amount, currency):
        raise ValidationError(
            {
                "amount": [
                    _("This amount has more decimals than %(currency)s uses.")
                    % {"currency": currency}
                ]
            }
        )
    if amount > outstanding:
        raise ValidationError(
            {
                "amount": [
                    _("At most %(amount)s is outstanding.")
                    % {
                        "amount": format_money(
                            outstanding, currency, to_locale(get_language() or "en")
                        )
                    }
                ]
            }
        )


def deposit_mark_paid(
    *,
    appointment: Appointment,
    actor: Actor,
    method: str,
    reference: str = "",
    now: datetime | None = None,
    provider: PaymentProvider = RECORDED_BY_STAFF,
) -> LedgerEntry:
    """Record that the client paid the appointment's outstanding deposit."""
    now = now or timezone.now()
    with transaction.atomic():
        row = locked_money(appointment, now=now)
        outstanding = row.deposit_required - row.deposit_paid
        if row.deposit_status != DepositStatus.PENDING or outstanding <= ZERO:
            raise NothingToDo(_("No deposit is waiting to be paid for this appointment."))
        payment = provider.collect(
            amount=outstanding, currency=row.currency, method=method, reference=reference
        )
        entry = ledger_entry(
            appointment=appointment,
            kind=EntryKind.DEPOSIT_PAID,
            amount=outstanding,
            currency=row.currency,
            actor=actor,
            now=now,
            provider=payment.provider,
            method=payment.method,
            reference=payment.reference,
        )
        entry.save()
        row.deposit_paid += outstanding
        row.deposit_status = DepositStatus.PAID
        row.save(update_fields=["deposit_paid", "deposit_status", "updated_at"])
        policy_event(
            appointment=appointment,
            actor=actor,
            now=now,
            what="deposit_paid",
            amount=outstanding,
            method=payment.method,
            reference=payment.reference,
        )
    return entry


def fee_mark_paid(
    *,
    appointment: Appointment,
    actor: Actor,
    method: str,
    reference: str = "",
    amount: Decimal | None = None,
    now: datetime | None = None,
    provider: PaymentProvider = RECORDED_BY_STAFF,
) -> LedgerEntry:
    """Record that the client paid (part of) the appointment's outstanding fee."""
    now = now or timezone.now()
    with transaction.atomic():
        row = locked_money(appointment, now=now)  # serialises payments and waivers
        outstanding = appointment_fee_outstanding(appointment=appointment)
        if outstanding <= ZERO:
            raise NothingToDo(_("No fee is outstanding for this appointment."))
        amount = outstanding if amount is None else amount
        _check_amount(amount, outstanding=outstanding, currency=row.currency)
        payment = provider.collect(
            amount=amount, currency=row.currency, method=method, reference=reference
        )
        entry = ledger_entry(
            appointment=appointment,
            kind=EntryKind.FEE_PAID,
            amount=amount,
            currency=row.currency,
            actor=actor,
            now=now,
            provider=payment.provider,
            method=payment.method,
            reference=payment.reference,
        )
        entry.save()
        policy_event(
            appointment=appointment,
            actor=actor,
            now=now,
            what="fee_paid",
            amount=amount,
            method=payment.method,
            reference=payment.reference,
        )
    return entry


def _required_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("An exception needs a written reason.")]})
    return reason


def _client_language(appointment: Appointment) -> str:
    return appointment.client.language or appointment.tenant.language


def fee_waive(
    *,
    appointment: Appointment,
    actor: Actor,
    reason: str,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> PolicyDecision:
    """Waive (part of) the appointment's outstanding fee: a real emergency, a goodwill gesture."""
    reason = _required_reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        row = locked_money(appointment, now=now)
        outstanding = appointment_fee_outstanding(appointment=appointment)
        if outstanding <= ZERO:
            raise NothingToDo(_("No fee is outstanding for this appointment."))
        amount = outstanding if amount is None else amount
        _check_amount(amount, outstanding=outstanding, currency=row.currency)
        language = _client_language(appointment)
        with translation.override(language):
            message = _("The %(fee)s fee has been waived.") % {
                "fee": format_money(amount, row.currency, language)
            }
        record = PolicyDecision.objects.create(
            tenant_id=appointment.tenant_id,
            appointment=appointment,
            action=Action.WAIVE_FEE,
            reason_code=Reason.EXCEPTION,
            amount=amount,
            message=message,
            note=reason,
            at=now,
            **actor_fields(actor),
        )
        ledger_entry(
            appointment=appointment,
            kind=EntryKind.FEE_WAIVED,
            amount=amount,
            currency=row.currency,
            actor=actor,
            now=now,
            decision=record,
            reason=reason,
        ).save()
        policy_event(
            appointment=appointment,
            actor=actor,
            now=now,
            what="fee_waived",
            reason=reason,
            decision=record.pk,
            amount=amount,
        )
    return record


def credit_keep(
    *,
    appointment: Appointment,
    actor: Actor,
    reason: str,
    days: int | None = None,
    now: datetime | None = None,
) -> PolicyDecision:
    """Turn what the business kept of the appointment's deposit into rebooking credit, usable
    for `days` days from now (default: the terms' credit days, else 30)."""
    reason = _required_reason(reason)
    now = now or timezone.now()
    if days is not None and not 1 <= days <= 365:
        raise ValidationError({"days": [_("Give between 1 and 365 days.")]})
    with transaction.atomic():
        row = locked_money(appointment, now=now)
        kept = appointment_kept_not_credited(appointment=appointment)
        if kept <= ZERO:
            raise NothingToDo(_("Nothing was kept of this appointment's deposit."))
        terms = terms_of(row)
        days = days or terms.credit_days or DEFAULT_EXCEPTION_CREDIT_DAYS
        # Counted from today: the original window may be over when staff make the exception.
        expires = credit_expiry(
            Terms(credit_days=days), start=now, tz=appointment.location.timezone
        )
        assert expires is not None  # noqa: S101 - days >= 1
        language = _client_language(appointment)
        with translation.override(language):
            message = _("Your %(credit)s deposit is kept as credit for your next booking.") % {
                "credit": format_money(kept, row.currency, language)
            }
        record = PolicyDecision.objects.create(
            tenant_id=appointment.tenant_id,
            appointment=appointment,
            action=Action.KEEP_CREDIT,
            reason_code=Reason.EXCEPTION,
            deposit_outcome=DepositOutcome.CREDIT,
            amount=kept,
            credit_expires_at=expires,
            message=message,
            note=reason,
            at=now,
            **actor_fields(actor),
        )
        ledger_entry(
            appointment=appointment,
            kind=EntryKind.CREDIT_ISSUED,
            amount=kept,
            currency=row.currency,
            actor=actor,
            now=now,
            decision=record,
            reason=reason,
            credit_expires_at=expires,
        ).save()
        row.deposit_status = DepositStatus.CREDITED
        row.save(update_fields=["deposit_status", "updated_at"])
        policy_event(
            appointment=appointment,
            actor=actor,
            now=now,
            what="credit_kept",
            reason=reason,
            decision=record.pk,
            amount=kept,
            credit_expires_at=expires,
        )
    return record


def policy_correct_no_show(
    *, appointment: Appointment, actor: Actor, reason: str, now: datetime | None = None
) -> PolicyDecision | None:
    """An admin corrected a no-show to attended (the client came after all): the appointment
    counts as attended, and the fee the no-show charged and nobody paid is taken back by a
    waiver that says so, with the admin's reason (the ledger keeps both entries).

    Call it inside the correction's transaction, with the appointment row locked. Money the
    no-show already moved (a fee paid, a deposit kept) is left to staff to settle by hand.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = locked_money(appointment, now=now)
        if row.outcome == Outcome.NO_SHOW:
            row.outcome = Outcome.ATTENDED
            row.save(update_fields=["outcome", "updated_at"])
        if appointment_fee_outstanding(appointment=appointment) <= ZERO:
            return None
        with translation.override(_client_language(appointment)):
            note = _("No-show corrected to attended: %(reason)s") % {"reason": reason.strip()}
        return fee_waive(appointment=appointment, actor=actor, reason=note, now=now)
