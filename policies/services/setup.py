"""Writing policies and client flags. Every check has a clear field error; the database's
CHECK constraints stand behind them for any writer that skips this module."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from appointments.models import BookingRules, Service
from appointments.services.common import Actor
from clients.models import Client
from policies.choices import Consequence, DepositKind
from policies.engine import Charge, Terms
from policies.models import MAX_RELIABILITY_MONTHS, MAX_WINDOW_HOURS, ClientFlag, Policy
from policies.money import ZERO, format_money, has_currency_precision
from tenants.models import Business

POLICY_FIELDS = (
    "service",
    "deposit_kind",
    "deposit_amount",
    "deposit_percent",
    "deposit_applies_to",
    "reliability_threshold",
    "reliability_window_months",
    "deposit_deadline_hours",
    "cancellation_window_hours",
    "late_cancellation_consequence",
    "late_cancellation_fee_amount",
    "late_cancellation_fee_percent",
    "no_show_consequence",
    "no_show_fee_amount",
    "no_show_fee_percent",
    "credit_days",
    "credit_after_no_show",
    "reschedule_max",
    "reschedule_until_hours",
)
MAX_CREDIT_DAYS = 365
CONSEQUENCES = ("late_cancellation", "no_show")


def terms_from_policy(policy: Policy) -> Terms:
    def charge(prefix: str) -> Charge:
        return Charge(
            kind=getattr(policy, f"{prefix}_consequence"),
            amount=getattr(policy, f"{prefix}_fee_amount"),
            percent=getattr(policy, f"{prefix}_fee_percent"),
        )

    return Terms(
        deposit_kind=policy.deposit_kind,
        deposit_amount=policy.deposit_amount,
        deposit_percent=policy.deposit_percent,
        deposit_applies_to=policy.deposit_applies_to,
        reliability_threshold=policy.reliability_threshold,
        reliability_window_months=policy.reliability_window_months,
        deposit_deadline_hours=policy.deposit_deadline_hours,
        cancellation_window_hours=policy.cancellation_window_hours,
        late_cancellation=charge("late_cancellation"),
        no_show=charge("no_show"),
        credit_days=policy.credit_days,
        credit_after_no_show=policy.credit_after_no_show,
        reschedule_max=policy.reschedule_max,
        reschedule_until_hours=policy.reschedule_until_hours,
    )


def _max_advance_days(*, tenant: Business, service: Service | None) -> int:
    if service is not None and service.max_advance_days is not None:
        return service.max_advance_days
    days = (
        BookingRules.objects.filter(tenant=tenant)
        .values_list("max_advance_days", flat=True)
        .first()
    )
    if days is None:
        default: int = BookingRules._meta.get_field("max_advance_days").default
        return default
    return days


def _normalize(policy: Policy) -> None:
    """Only the value the chosen kind uses is kept: switching kinds needs no clean-up."""
    if policy.deposit_kind != DepositKind.FIXED:
        policy.deposit_amount = ZERO
    if policy.deposit_kind != DepositKind.PERCENT:
        policy.deposit_percent = ZERO
    for prefix in CONSEQUENCES:
        kind = getattr(policy, f"{prefix}_consequence")
        if kind != Consequence.FIXED_FEE:
            setattr(policy, f"{prefix}_fee_amount", ZERO)
        if kind != Consequence.PERCENT_FEE:
            setattr(policy, f"{prefix}_fee_percent", ZERO)


def policy_validate(policy: Policy) -> None:
    """Raise ValidationError with field errors unless `policy` is coherent and fits its business."""
    policy.full_clean(exclude=["tenant"], validate_unique=False, validate_constraints=False)
    tenant = policy.tenant
    currency = tenant.currency
    service: Service | None = policy.service
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if service is not None and service.tenant_id != tenant.pk:
        add("service", _("This service belongs to another business."))

    amounts = ["deposit_amount", *(f"{p}_fee_amount" for p in CONSEQUENCES)]
    for name in amounts:
        value: Decimal = getattr(policy, name)
        if value < 0:
            add(name, _("An amount can't be negative."))
        elif not has_currency_precision(value, currency):
            add(
                name,
                _("This amount has more decimals than %(currency)s uses.") % {"currency": currency},
            )
    for name in ["deposit_percent", *(f"{p}_fee_percent" for p in CONSEQUENCES)]:
        value = getattr(policy, name)
        if not ZERO <= value <= 100:
            add(name, _("Give a percentage between 0 and 100."))

    if policy.deposit_kind == DepositKind.FIXED and policy.deposit_amount <= 0:
        add("deposit_amount", _("Give the deposit amount."))
    if policy.deposit_kind == DepositKind.PERCENT and policy.deposit_percent <= 0:
        add("deposit_percent", _("Give the deposit percentage."))
    for prefix in CONSEQUENCES:
        kind = getattr(policy, f"{prefix}_consequence")
        if kind == Consequence.FIXED_FEE and getattr(policy, f"{prefix}_fee_amount") <= 0:
            add(f"{prefix}_fee_amount", _("Give the fee amount."))
        if kind == Consequence.PERCENT_FEE and getattr(policy, f"{prefix}_fee_percent") <= 0:
            add(f"{prefix}_fee_percent", _("Give the fee percentage."))

    if service is not None:
        # The price is known: a deposit or a fee above it would be refused at every booking.
        price = format_money(service.price, currency, to_locale(get_language() or "en"))
        if policy.deposit_kind == DepositKind.FIXED and policy.deposit_amount > service.price:
            add(
                "deposit_amount",
                _("The deposit can't be more than the service's price (%(price)s).")
                % {"price": price},
            )
        for prefix in CONSEQUENCES:
            if (
                getattr(policy, f"{prefix}_consequence") == Consequence.FIXED_FEE
                and getattr(policy, f"{prefix}_fee_amount") > service.price
            ):
                add(
                    f"{prefix}_fee_amount",
                    _("The fee can't be more than the service's price (%(price)s).")
                    % {"price": price},
                )

    max_hours = min(_max_advance_days(tenant=tenant, service=service) * 24, MAX_WINDOW_HOURS)
    for name in ("cancellation_window_hours", "reschedule_until_hours"):
        if getattr(policy, name) > max_hours:
            add(
                name,
                _("This can't be longer than how far ahead clients may book (%(hours)d hours).")
                % {"hours": max_hours},
            )
    if policy.deposit_deadline_hours is not None and policy.deposit_deadline_hours > max_hours:
        add(
            "deposit_deadline_hours",
            _("This can't be longer than how far ahead clients may book (%(hours)d hours).")
            % {"hours": max_hours},
        )
    if policy.reliability_threshold < 1:
        add("reliability_threshold", _("Give at least 1."))
    if not 1 <= policy.reliability_window_months <= MAX_RELIABILITY_MONTHS:
        add(
            "reliability_window_months",
            _("Give between 1 and %(max)d months.") % {"max": MAX_RELIABILITY_MONTHS},
        )
    if policy.credit_days > MAX_CREDIT_DAYS:
        add("credit_days", _("Give at most %(max)d days.") % {"max": MAX_CREDIT_DAYS})

    clash = Policy.objects.filter(tenant=tenant, service=service).exclude(pk=policy.pk)
    if clash.exists():
        if service is None:
            add("service", _("The business already has a default policy."))
        else:
            add("service", _("This service already has its own policy."))
    if errors:
        raise ValidationError(errors)


def _save(policy: Policy) -> Policy:
    _normalize(policy)
    policy_validate(policy)
    try:
        with transaction.atomic():
            policy.save()
    except IntegrityError as exc:  # a concurrent request created the same policy meanwhile
        raise ValidationError(
            {"service": [_("A policy for this was created meanwhile; edit that one.")]}
        ) from exc
    return policy


def policy_create(*, tenant: Business, **fields: Any) -> Policy:
    """Create the business's default policy (no `service`) or a service's own. ValidationError
    (field errors) on bad input; nothing is written then."""
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown policy fields: {sorted(unknown)}")
    return _save(Policy(tenant=tenant, **fields))


def policy_update(*, policy: Policy, **fields: Any) -> Policy:
    """Change a policy. Appointments already booked keep the terms they were booked under."""
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown policy fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(policy, name, value)
    return _save(policy)


def policy_delete(*, policy: Policy) -> None:
    """Remove a policy: bookings made from then on follow the business's default (a service's
    own gone) or no policy at all. Appointments already booked keep the terms they were booked
    under: their terms are a copy, only its link to the policy is cleared."""
    policy.delete()


def client_flag(*, client: Client, actor: Actor, reason: str) -> ClientFlag:
    """Flag a client: they pay the deposit from their next booking on. Needs a written reason."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the client is flagged.")]})
    flag, _created = ClientFlag.objects.update_or_create(
        tenant_id=client.tenant_id,
        client=client,
        defaults={
            "reason": reason,
            "flagged_by": actor.user,
            "flagged_by_label": actor.label,
            "created_at": timezone.now(),
        },
    )
    return flag


def client_unflag(*, client: Client) -> bool:
    deleted, _kinds = ClientFlag.objects.filter(tenant_id=client.tenant_id, client=client).delete()
    return deleted > 0
