"""Deposit and cancellation policies."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.models import Service
from policies.models import Policy
from policies.services.setup import POLICY_FIELDS
from tenants.forms.base import (
    ModelFieldsForm,
)
from tenants.models import Business

# --- Policies ---------------------------------------------------------------------------


class PolicyForm(ModelFieldsForm):
    """A policy's rules. The service a policy is for is chosen once, when it is created."""

    model = Policy
    model_fields = tuple(name for name in POLICY_FIELDS if name != "service")
    widgets: ClassVar[dict[str, Any]] = {
        "deposit_kind": forms.RadioSelect(),
        "late_cancellation_consequence": forms.RadioSelect(),
        "no_show_consequence": forms.RadioSelect(),
    }
    # The page groups the fields; each name appears in exactly one group.
    groups: ClassVar[list[tuple[Any, tuple[str, ...]]]] = [
        (
            _("Deposit"),
            (
                "deposit_kind",
                "deposit_amount",
                "deposit_percent",
                "deposit_applies_to",
                "deposit_deadline_hours",
            ),
        ),
        (
            _("Cancellations"),
            (
                "cancellation_window_hours",
                "late_cancellation_consequence",
                "late_cancellation_fee_amount",
                "late_cancellation_fee_percent",
            ),
        ),
        (_("No-shows"), ("no_show_consequence", "no_show_fee_amount", "no_show_fee_percent")),
        (_("Rebooking credit"), ("credit_days", "credit_after_no_show")),
        (_("Moves"), ("reschedule_max", "reschedule_until_hours")),
        (_("Reliability"), ("reliability_threshold", "reliability_window_months")),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, forms.DecimalField):
                field.widget.attrs.setdefault("step", "0.01")
            # A radio group's "empty" choice is meaningless here: every kind has a default.
            if isinstance(field, forms.TypedChoiceField) and name.endswith(
                ("_kind", "_consequence")
            ):
                choices = cast(list[tuple[Any, Any]], field.choices)
                field.choices = [(v, label) for v, label in choices if v != ""]

    def grouped(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.groups]


class NewPolicyForm(PolicyForm):
    def __init__(self, *args: Any, tenant: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        taken = Policy.objects.filter(tenant=tenant, service__isnull=False).values("service_id")
        self.fields = {
            "service": forms.ModelChoiceField(
                label=_("service"),
                queryset=Service.objects.filter(tenant=tenant).exclude(pk__in=taken),
                required=False,
                empty_label=_("— The business's default policy —"),
                help_text=_(
                    "A service's own policy replaces the default for that service entirely."
                ),
            ),
            **self.fields,
        }
