"""Explicit input and output shapes of the policies API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from appointments.models import Service
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
    Tier,
)
from policies.models import LedgerEntry, Policy, PolicyDecision
from policies.payments import STAFF_METHODS
from tenants.api.fields import StrictCharField, StrictStringsMixin
from tenants.api.serializers_base import CachedFieldsMixin
from tenants.middleware import tenant_of

MONEY: dict[str, Any] = {"max_digits": 10, "decimal_places": 2}


def _charge_serializer(prefix: str, name: str) -> type[serializers.Serializer[Any]]:
    """A policy's consequence as one object: {"consequence", "fee_amount", "fee_percent"}."""
    fields: dict[str, Any] = {
        "consequence": serializers.ChoiceField(
            choices=Consequence.choices, source=f"{prefix}_consequence", required=False
        ),
        "fee_amount": serializers.DecimalField(
            **MONEY, min_value=Decimal(0), source=f"{prefix}_fee_amount", required=False
        ),
        "fee_percent": serializers.DecimalField(
            max_digits=5,
            decimal_places=2,
            min_value=Decimal(0),
            max_value=Decimal(100),
            source=f"{prefix}_fee_percent",
            required=False,
        ),
    }
    return type(name, (serializers.Serializer,), fields)


LateCancellationSerializer = _charge_serializer("late_cancellation", "LateCancellationSerializer")
NoShowSerializer = _charge_serializer("no_show", "NoShowSerializer")


class PolicySerializer(StrictStringsMixin, serializers.ModelSerializer[Policy]):
    service: Any = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects,
        allow_null=True,
        required=False,
        help_text="Empty: the business's default policy; a service: that service's own policy.",
    )
    late_cancellation: Any = LateCancellationSerializer(
        source="*", required=False, help_text="What a cancellation inside the window costs."
    )
    no_show: Any = NoShowSerializer(source="*", required=False, help_text="What a no-show costs.")
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Policy
        fields = (
            "id",
            "service",
            "deposit_kind",
            "deposit_amount",
            "deposit_percent",
            "deposit_applies_to",
            "reliability_threshold",
            "reliability_window_months",
            "deposit_deadline_hours",
            "cancellation_window_hours",
            "late_cancellation",
            "no_show",
            "credit_days",
            "credit_after_no_show",
            "reschedule_max",
            "reschedule_until_hours",
            "currency",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")
        # Uniqueness and coherence are checked by the service, with clear field errors.
        validators: list[Any] = []
        extra_kwargs = {
            "deposit_amount": {"min_value": 0},
            "deposit_percent": {"min_value": 0, "max_value": 100},
        }

    def get_currency(self, obj: Policy) -> str:
        return str(tenant_of(self.context["request"]).currency)


class TermsChargeSerializer(serializers.Serializer[Any]):
    consequence = serializers.ChoiceField(choices=Consequence.choices, source="kind")
    fee_amount = serializers.DecimalField(max_digits=10, decimal_places=2, source="amount")
    fee_percent = serializers.DecimalField(max_digits=5, decimal_places=2, source="percent")


class TermsSerializer(serializers.Serializer[Any]):
    """The terms the client agreed to at booking (a copy of the policy then in force)."""

    deposit_kind = serializers.ChoiceField(choices=DepositKind.choices)
    deposit_amount = serializers.DecimalField(**MONEY)
    deposit_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    deposit_applies_to = serializers.ChoiceField(choices=DepositAppliesTo.choices)
    reliability_threshold = serializers.IntegerField()
    reliability_window_months = serializers.IntegerField()
    deposit_deadline_hours = serializers.IntegerField(allow_null=True)
    cancellation_window_hours = serializers.IntegerField()
    late_cancellation = TermsChargeSerializer()
    no_show = TermsChargeSerializer()
    credit_days = serializers.IntegerField()
    credit_after_no_show = serializers.BooleanField()
    reschedule_max = serializers.IntegerField(allow_null=True)
    reschedule_until_hours = serializers.IntegerField()


class DepositSerializer(serializers.Serializer[Any]):
    amount_required = serializers.DecimalField(**MONEY)
    amount_paid = serializers.DecimalField(**MONEY)
    deposit_status = serializers.ChoiceField(choices=DepositStatus.choices)
    due_at = serializers.DateTimeField(allow_null=True)
    required_because = serializers.CharField(
        help_text="Who pays a deposit under the terms (empty: none was required)."
    )


class DecisionPreviewSerializer(serializers.Serializer[Any]):
    """What an action would mean now, as the engine decides it (nothing is written)."""

    action = serializers.ChoiceField(choices=Action.choices)
    allowed = serializers.BooleanField()
    reason_code = serializers.ChoiceField(choices=Reason.choices)
    message = serializers.CharField(help_text="The sentence the client sees, in their language.")
    late = serializers.BooleanField()
    fee = serializers.DecimalField(**MONEY)
    fee_due = serializers.DecimalField(**MONEY)
    deposit_outcome = serializers.ChoiceField(choices=DepositOutcome.choices)
    deposit_refunded = serializers.DecimalField(**MONEY)
    deposit_kept = serializers.DecimalField(**MONEY)
    deposit_credited = serializers.DecimalField(**MONEY)
    credit_expires_at = serializers.DateTimeField(allow_null=True)


class PolicyDecisionSerializer(CachedFieldsMixin, serializers.ModelSerializer[PolicyDecision]):
    class Meta:
        model = PolicyDecision
        fields = (
            "id",
            "action",
            "reason_code",
            "late",
            "fee",
            "deposit_outcome",
            "amount",
            "credit_expires_at",
            "message",
            "note",
            "actor_type",
            "actor_label",
            "channel",
            "at",
        )


class AppointmentPolicySerializer(serializers.Serializer[Any]):
    appointment = serializers.IntegerField()
    currency = serializers.CharField()
    terms = TermsSerializer(allow_null=True, help_text="Null: booked before terms were stored.")
    terms_version = serializers.IntegerField(allow_null=True)
    policy = serializers.IntegerField(
        allow_null=True, help_text="The policy the terms were copied from, if it still exists."
    )
    deposit = DepositSerializer()
    fee_outstanding = serializers.DecimalField(**MONEY)
    client_reschedules = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True)
    if_cancelled_now = DecisionPreviewSerializer(
        allow_null=True, help_text="What the client's cancellation would mean now (open only)."
    )
    if_moved_now = DecisionPreviewSerializer(
        allow_null=True, help_text="Whether the client may move it now (open only)."
    )
    decisions = PolicyDecisionSerializer(many=True)


class PaymentInputSerializer(serializers.Serializer[Any]):
    payment_for = serializers.ChoiceField(choices=[("deposit", "deposit"), ("fee", "fee")])
    method = serializers.ChoiceField(choices=[(m.value, m.label) for m in STAFF_METHODS])
    reference = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(
        **MONEY,
        required=False,
        min_value=0,
        help_text="Fees only: part of the outstanding fee. Omitted: all of it. A deposit is"
        " always paid in full.",
    )


class WaiveFeeInputSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=2000)
    amount = serializers.DecimalField(
        **MONEY, required=False, min_value=0, help_text="Omitted: the whole outstanding fee."
    )


class KeepCreditInputSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=2000)
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        help_text="How long the credit is usable, from today. Omitted: the terms' credit days.",
    )


class LedgerEntrySerializer(CachedFieldsMixin, serializers.ModelSerializer[LedgerEntry]):
    entry_kind = serializers.ChoiceField(choices=EntryKind.choices, source="kind")

    class Meta:
        model = LedgerEntry
        fields = (
            "id",
            "entry_kind",
            "amount",
            "currency",
            "appointment",
            "reason",
            "provider",
            "method",
            "reference",
            "credit_expires_at",
            "actor_type",
            "actor_label",
            "channel",
            "created_at",
        )


class BalanceSerializer(serializers.Serializer[Any]):
    deposits_held = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Deposits paid, not yet refunded or used."
    )
    fees_owed = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Fees neither paid nor waived."
    )
    credit = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Rebooking credit still usable."
    )


class LedgerSerializer(serializers.Serializer[Any]):
    client = serializers.IntegerField()
    currency = serializers.CharField()
    balance = BalanceSerializer()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = LedgerEntrySerializer(many=True)


class ReliabilitySerializer(serializers.Serializer[Any]):
    client = serializers.IntegerField(source="client_id")
    attended = serializers.IntegerField()
    no_shows = serializers.IntegerField()
    late_cancellations = serializers.IntegerField()
    on_time_cancellations = serializers.IntegerField()
    visits_ever = serializers.IntegerField(help_text="Attended appointments at any time.")
    strikes = serializers.IntegerField(help_text="No-shows plus late cancellations.")
    tier = serializers.ChoiceField(choices=Tier.choices)
    flagged = serializers.BooleanField(help_text="Flagged by staff: always pays the deposit.")
    window_months = serializers.IntegerField()
    threshold = serializers.IntegerField()


class ReliabilityQuerySerializer(serializers.Serializer[Any]):
    client = serializers.CharField(
        required=False, help_text="Comma-separated client ids (at most 200)."
    )

    def validate_client(self, value: str) -> list[int]:
        from django.utils.translation import gettext as _

        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or not all(p.isdigit() and 0 < len(p) <= 18 for p in parts):
            raise serializers.ValidationError(_("Give client ids separated by commas."))
        if len(parts) > MAX_RELIABILITY_CLIENTS:
            raise serializers.ValidationError(
                _("Ask for at most %(max)d clients at once.") % {"max": MAX_RELIABILITY_CLIENTS}
            )
        return [int(p) for p in parts]


# One page of the biggest list the API serves.
MAX_RELIABILITY_CLIENTS = 200


class FlagInputSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=2000)


class FlagSerializer(serializers.Serializer[Any]):
    flagged = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    flagged_by = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField(allow_null=True)
