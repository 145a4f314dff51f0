"""Deposit and cancellation policies, the terms each appointment was booked under, the
decisions taken on them, and the per-client money ledger.

Money is Decimal in the business currency (two decimals, like `Service.price`); every amount
and percentage has a database CHECK behind the services' validation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from policies.choices import (
    Action,
    Consequence,
    DepositAppliesTo,
    DepositKind,
    DepositOutcome,
    DepositStatus,
    EntryKind,
    Outcome,
    Reason,
)
from tenants.models import TenantOwnedModel

ZERO = Decimal("0")
# A cancellation window longer than a year protects nothing a booking window allows; the
# services also keep it within the business's maximum advance.
MAX_WINDOW_HOURS = 366 * 24
MAX_RELIABILITY_MONTHS = 60


def _money_field(verbose_name: Any, help_text: Any = "") -> Any:
    return models.DecimalField(
        verbose_name, max_digits=10, decimal_places=2, default=ZERO, help_text=help_text
    )


def _percent_field(verbose_name: Any) -> Any:
    return models.DecimalField(verbose_name, max_digits=5, decimal_places=2, default=ZERO)


def _consequence_checks(prefix: str, label: str) -> list[models.BaseConstraint]:
    kind, amount, percent = f"{prefix}_consequence", f"{prefix}_fee_amount", f"{prefix}_fee_percent"
    return [
        models.CheckConstraint(
            condition=Q(**{f"{amount}__gte": 0}), name=f"policy_{label}_fee_amount_not_negative"
        ),
        models.CheckConstraint(
            condition=Q(**{f"{percent}__gte": 0, f"{percent}__lte": 100}),
            name=f"policy_{label}_fee_percent_0_100",
        ),
        # The value that matters for the kind is set, the others are zero.
        models.CheckConstraint(
            condition=(
                Q(
                    **{
                        f"{kind}__in": [Consequence.NOTHING, Consequence.KEEP_DEPOSIT],
                        amount: 0,
                        percent: 0,
                    }
                )
                | Q(**{kind: Consequence.FIXED_FEE, f"{amount}__gt": 0, percent: 0})
                | Q(**{kind: Consequence.PERCENT_FEE, f"{percent}__gt": 0, amount: 0})
            ),
            name=f"policy_{label}_consequence_coherent",
        ),
    ]


class Policy(TenantOwnedModel):
    """A business's deposit and cancellation rules. Without a service it is the business's
    default; with one, it replaces the default for that service entirely (a policy's rules
    make sense together, so an override is never a mix of two)."""

    service = models.ForeignKey(
        "appointments.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service"),
        help_text=_("Empty: the business's default policy."),
    )
    deposit_kind = models.CharField(
        _("deposit"), max_length=16, choices=DepositKind.choices, default=DepositKind.NONE
    )
    deposit_amount = _money_field(_("deposit amount"))
    deposit_percent = _percent_field(_("deposit percentage"))
    deposit_applies_to = models.CharField(
        _("who pays a deposit"),
        max_length=16,
        choices=DepositAppliesTo.choices,
        default=DepositAppliesTo.EVERYONE,
        help_text=_("Clients flagged by staff always pay it."),
    )
    reliability_threshold = models.PositiveSmallIntegerField(
        _("reliability threshold"),
        default=2,
        help_text=_("No-shows and late cancellations that make a client unreliable."),
    )
    reliability_window_months = models.PositiveSmallIntegerField(
        _("reliability window (months)"), default=6
    )
    deposit_deadline_hours = models.PositiveIntegerField(
        _("deposit deadline (hours after booking)"),
        null=True,
        blank=True,
        help_text=_("An unpaid booking is released after it. Empty: never released."),
    )
    cancellation_window_hours = models.PositiveIntegerField(
        _("cancellation window (hours)"),
        default=48,
        help_text=_("A client's cancellation later than this before the start is late."),
    )
    late_cancellation_consequence = models.CharField(
        _("late cancellation"),
        max_length=16,
        choices=Consequence.choices,
        default=Consequence.NOTHING,
    )
    late_cancellation_fee_amount = _money_field(_("late cancellation fee"))
    late_cancellation_fee_percent = _percent_field(_("late cancellation fee percentage"))
    no_show_consequence = models.CharField(
        _("no-show"), max_length=16, choices=Consequence.choices, default=Consequence.NOTHING
    )
    no_show_fee_amount = _money_field(_("no-show fee"))
    no_show_fee_percent = _percent_field(_("no-show fee percentage"))
    credit_days = models.PositiveSmallIntegerField(
        _("rebooking credit (days)"),
        default=0,
        help_text=_(
            "A deposit kept for a late cancellation counts as credit for a booking made within"
            " this many days of the original date. 0: no credit."
        ),
    )
    credit_after_no_show = models.BooleanField(_("credit after a no-show too"), default=False)
    reschedule_max = models.PositiveSmallIntegerField(
        _("moves allowed"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    reschedule_until_hours = models.PositiveIntegerField(
        _("moves allowed until (hours before the start)"), default=0
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(service__isnull=True),
                name="policy_one_default_per_business",
            ),
            models.UniqueConstraint(
                fields=["tenant", "service"],
                condition=Q(service__isnull=False),
                name="policy_one_per_service",
            ),
            models.CheckConstraint(
                condition=Q(deposit_amount__gte=0), name="policy_deposit_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(deposit_percent__gte=0, deposit_percent__lte=100),
                name="policy_deposit_percent_0_100",
            ),
            models.CheckConstraint(
                condition=(
                    Q(deposit_kind=DepositKind.NONE, deposit_amount=0, deposit_percent=0)
                    | Q(deposit_kind=DepositKind.FIXED, deposit_amount__gt=0, deposit_percent=0)
                    | Q(deposit_kind=DepositKind.PERCENT, deposit_percent__gt=0, deposit_amount=0)
                ),
                name="policy_deposit_coherent",
            ),
            *_consequence_checks("late_cancellation", "late"),
            *_consequence_checks("no_show", "no_show"),
            models.CheckConstraint(
                condition=Q(cancellation_window_hours__lte=MAX_WINDOW_HOURS),
                name="policy_window_at_most_a_year",
            ),
            models.CheckConstraint(
                condition=Q(reschedule_until_hours__lte=MAX_WINDOW_HOURS),
                name="policy_reschedule_until_at_most_a_year",
            ),
            models.CheckConstraint(
                condition=Q(reliability_threshold__gte=1), name="policy_threshold_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    reliability_window_months__gte=1,
                    reliability_window_months__lte=MAX_RELIABILITY_MONTHS,
                ),
                name="policy_reliability_window_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.service) if self.service_id else str(_("Default policy"))


class AppointmentTerms(TenantOwnedModel):
    """The terms an appointment was booked under, and where its deposit stands.

    Written once at booking (`policy_terms_snapshot`): a later change of the policy never
    changes what the client agreed to. The state fields (deposit, outcome, moves) are kept
    next to the terms so that deciding reads one row and reliability counts in one query.
    """

    appointment = models.OneToOneField(
        "appointments.Appointment",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="policy_terms",
        verbose_name=_("appointment"),
    )
    policy = models.ForeignKey(
        Policy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveSmallIntegerField(default=1)  # the shape of `terms`
    terms = models.JSONField(_("terms"))
    currency = models.CharField(_("currency"), max_length=3)
    deposit_required = _money_field(_("deposit required"))
    deposit_reason = models.CharField(
        _("why a deposit"), max_length=16, choices=DepositAppliesTo.choices, blank=True
    )
    deposit_paid = _money_field(_("deposit paid"))
    deposit_due_at = models.DateTimeField(_("deposit due"), null=True, blank=True)
    deposit_status = models.CharField(
        _("deposit"),
        max_length=16,
        choices=DepositStatus.choices,
        default=DepositStatus.NOT_REQUIRED,
    )
    client_reschedules = models.PositiveSmallIntegerField(_("moves by the client"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, blank=True, default=Outcome.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("appointment terms")
        verbose_name_plural = _("appointment terms")
        constraints = [
            models.CheckConstraint(
                condition=Q(deposit_required__gte=0), name="terms_deposit_required_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(deposit_paid__gte=0), name="terms_deposit_paid_not_negative"
            ),
        ]
        indexes = [
            # The release of unpaid bookings reads only the pending ones, by deadline.
            models.Index(
                fields=["deposit_due_at"],
                condition=Q(deposit_status=DepositStatus.PENDING),
                name="terms_pending_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"terms of appointment {self.appointment_id}"


class _ActorFields(models.Model):
    """Who did it, as in AppointmentEvent: kept readable if the user is deleted."""

    actor_type = models.CharField(_("actor"), max_length=8)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=16)

    class Meta:
        abstract = True


class PolicyDecision(TenantOwnedModel, _ActorFields):
    """One applied decision of the engine on an appointment, or one audited exception."""

    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="policy_decisions"
    )
    action = models.CharField(_("action"), max_length=24, choices=Action.choices)
    reason_code = models.CharField(_("why"), max_length=24, choices=Reason.choices)
    late = models.BooleanField(_("late"), default=False)
    fee = _money_field(_("fee"))
    deposit_outcome = models.CharField(
        _("deposit"), max_length=16, choices=DepositOutcome.choices, default=DepositOutcome.NONE
    )
    amount = _money_field(
        _("amount"), help_text=_("The deposit or credit the decision moved, or the fee waived.")
    )
    credit_expires_at = models.DateTimeField(_("credit usable until"), null=True, blank=True)
    message = models.TextField(_("what the client was told"), blank=True)
    note = models.TextField(_("staff's reason"), blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("policy decision")
        verbose_name_plural = _("policy decisions")
        ordering = ("at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(fee__gte=0), name="decision_fee_not_negative"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="decision_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["tenant", "appointment", "at"], name="decision_appointment_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.appointment_id}"


class LedgerEntry(TenantOwnedModel, _ActorFields):
    """One movement of a client's money. Append-only; the amount is positive, the kind says
    which way it went (see `selectors.client_balance`)."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.TextField(_("reason"), blank=True)
    provider = models.CharField(_("payment provider"), max_length=32, blank=True)
    method = models.CharField(_("payment method"), max_length=16, blank=True)
    reference = models.CharField(_("payment reference"), max_length=200, blank=True)
    # On credit entries: until when the credit is usable (a use copies its credit's expiry,
    # so the available credit is one sum over unexpired rows).
    credit_expires_at = models.DateTimeField(_("credit usable until"), null=True, blank=True)
    decision = models.ForeignKey(
        PolicyDecision, on_delete=models.PROTECT, null=True, blank=True, related_name="entries"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ("created_at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["tenant", "client", "created_at"], name="ledger_client_idx"),
            models.Index(fields=["tenant", "appointment"], name="ledger_appointment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class ClientFlag(TenantOwnedModel):
    """A client staff flagged: they pay the deposit whoever else does not."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.CASCADE, related_name="+", verbose_name=_("client")
    )
    reason = models.TextField(_("reason"))
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    flagged_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("client flag")
        verbose_name_plural = _("client flags")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "client"], name="clientflag_one_per_client"),
        ]

    def __str__(self) -> str:
        return f"flag on client {self.client_id}"
