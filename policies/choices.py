"""The policies' vocabulary, shared by the models, the engine and the API.

The values are part of the API contract (integrators switch on them); the labels are translated.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DepositKind(models.TextChoices):
    NONE = "none", _("No deposit")
    FIXED = "fixed", _("Fixed amount")
    PERCENT = "percent", _("Percentage of the price")


class DepositAppliesTo(models.TextChoices):
    """Who must pay the deposit. Clients flagged by staff always must (when there is a deposit)."""

    EVERYONE = "everyone", _("Everyone")
    NEW_CLIENTS = "new_clients", _("New clients")
    UNRELIABLE = "unreliable", _("Clients below the reliability threshold")
    FLAGGED = "flagged", _("Clients flagged by staff")


class Consequence(models.TextChoices):
    """What a late cancellation or a no-show costs the client."""

    NOTHING = "nothing", _("Nothing")
    KEEP_DEPOSIT = "keep_deposit", _("Keep the deposit")
    FIXED_FEE = "fixed_fee", _("Fixed fee")
    PERCENT_FEE = "percent_fee", _("Percentage of the price")


class Action(models.TextChoices):
    """What a decision is about. The engine decides the first eight; the last two are staff's
    audited exceptions, recorded in the same history."""

    CANCEL_BY_CLIENT = "cancel_by_client", _("Cancelled by the client")
    CANCEL_BY_STAFF = "cancel_by_staff", _("Cancelled by staff")
    NO_SHOW = "no_show", _("No-show")
    ATTEND = "attend", _("Attended")
    RESCHEDULE_BY_CLIENT = "reschedule_by_client", _("Moved by the client")
    RESCHEDULE_BY_STAFF = "reschedule_by_staff", _("Moved by staff")
    RELEASE_UNPAID = "release_unpaid", _("Released: deposit not paid")
    REBOOK = "rebook", _("Booked again with credit")
    WAIVE_FEE = "waive_fee", _("Fee waived")
    KEEP_CREDIT = "keep_credit", _("Credit kept")


# Actions after which the appointment's money is settled: decided once.
FINAL_ACTIONS: frozenset[str] = frozenset(
    {
        Action.CANCEL_BY_CLIENT,
        Action.CANCEL_BY_STAFF,
        Action.NO_SHOW,
        Action.ATTEND,
        Action.RELEASE_UNPAID,
    }
)


class Reason(models.TextChoices):
    """Why the engine decided as it did: a stable code for the API and the UI."""

    ON_TIME = "on_time", _("Cancelled in time")
    LATE = "late", _("Cancelled late")
    STAFF = "staff", _("Decided by staff")
    NO_SHOW = "no_show", _("Client did not come")
    ATTENDED = "attended", _("Client came")
    RESCHEDULE_ALLOWED = "reschedule_allowed", _("Move allowed")
    RESCHEDULE_LIMIT = "reschedule_limit", _("Moved as many times as allowed")
    RESCHEDULE_TOO_LATE = "reschedule_too_late", _("Too close to the start to move")
    DEPOSIT_UNPAID = "deposit_unpaid", _("Deposit not paid in time")
    CREDIT_VALID = "credit_valid", _("Credit used")
    CREDIT_EXPIRED = "credit_expired", _("Credit expired")
    NO_CREDIT = "no_credit", _("No credit")
    EXCEPTION = "exception", _("Exception made by staff")


class DepositOutcome(models.TextChoices):
    """What happens to the deposit paid for the appointment."""

    NONE = "none", _("No deposit involved")
    REFUND = "refund", _("Refunded")
    KEEP = "keep", _("Kept")
    CREDIT = "credit", _("Kept as credit")
    CARRY = "carry", _("Stays with the appointment")
    APPLY = "apply", _("Counted towards the price")
    WITHDRAW = "withdraw", _("Request withdrawn, nothing was paid")


class DepositStatus(models.TextChoices):
    """An appointment's deposit, as the front desk needs to see it."""

    NOT_REQUIRED = "not_required", _("Not required")
    PENDING = "pending", _("Waiting for payment")
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")
    KEPT = "kept", _("Kept")
    CREDITED = "credited", _("Kept as credit")
    APPLIED = "applied", _("Counted towards the price")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Outcome(models.TextChoices):
    """How an appointment ended, as reliability counts it. "Late" is decided (and stored) when
    the cancellation is decided, under the terms the client agreed to."""

    OPEN = "", _("Open")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED_ON_TIME = "cancelled_on_time", _("Cancelled in time by the client")
    CANCELLED_LATE = "cancelled_late", _("Cancelled late by the client")
    CANCELLED_BY_STAFF = "cancelled_by_staff", _("Cancelled by the business")
    RELEASED = "released", _("Released: deposit not paid")


class EntryKind(models.TextChoices):
    """A ledger entry. Amounts are positive; the kind says which way the money went."""

    DEPOSIT_REQUESTED = "deposit_requested", _("Deposit requested")
    DEPOSIT_PAID = "deposit_paid", _("Deposit paid")
    DEPOSIT_WITHDRAWN = "deposit_withdrawn", _("Deposit request withdrawn")
    DEPOSIT_APPLIED = "deposit_applied", _("Deposit counted towards the price")
    REFUNDED = "refunded", _("Deposit refunded")
    KEPT = "kept", _("Deposit kept")
    CREDIT_ISSUED = "credit_issued", _("Credit issued")
    CREDIT_USED = "credit_used", _("Credit used")
    FEE_CHARGED = "fee_charged", _("Fee charged")
    FEE_WAIVED = "fee_waived", _("Fee waived")
    FEE_PAID = "fee_paid", _("Fee paid")


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    TRANSFER = "transfer", _("Bank transfer")
    OTHER = "other", _("Other")
    DEPOSIT = "deposit", _("From the deposit")
    CREDIT = "credit", _("From credit")


class Tier(models.TextChoices):
    """A client's reliability: strikes are no-shows plus late cancellations within the window."""

    NEW = "new", _("New")
    RELIABLE = "reliable", _("Reliable")
    WATCH = "watch", _("Watch")
    UNRELIABLE = "unreliable", _("Unreliable")
