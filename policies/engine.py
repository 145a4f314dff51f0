"""The policy engine: pure functions, no database and no clock.

Given the terms the client agreed to at booking (`Terms`), what is known about the appointment
(`Facts`), an action and the moment, `decide` returns a `Decision`: allowed or not and why,
the fee, what happens to the deposit, and the sentence to show the client in their language.

Time is absolute: "48 hours before the start" is 48 * 3600 seconds before the start instant,
whatever the clocks did in between. Exactly at the window's edge is still on time.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_skeleton
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from policies.choices import (
    Action,
    Consequence,
    DepositAppliesTo,
    DepositKind,
    DepositOutcome,
    Reason,
)
from policies.money import ZERO, format_money, percent_of, to_money

# The version of the stored terms' shape. Bump it when `Terms` changes shape, and teach
# `Terms.from_snapshot` to read every older version: stored terms are never rewritten.
SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class Charge:
    """The consequence of a late cancellation or a no-show."""

    kind: str = Consequence.NOTHING
    amount: Decimal = ZERO  # FIXED_FEE
    percent: Decimal = ZERO  # PERCENT_FEE, 0-100

    def fee(self, price: Decimal, currency: str) -> Decimal:
        """The fee on an appointment of `price`: never more than the price, never negative."""
        if self.kind == Consequence.FIXED_FEE:
            fee = min(self.amount, price)
        elif self.kind == Consequence.PERCENT_FEE:
            fee = min(percent_of(price, self.percent, currency), price)
        else:
            fee = ZERO
        return to_money(max(ZERO, fee), currency)


@dataclass(frozen=True)
class Terms:
    """A policy's rules as a client agrees to them. Frozen: stored with the appointment."""

    deposit_kind: str = DepositKind.NONE
    deposit_amount: Decimal = ZERO
    deposit_percent: Decimal = ZERO
    deposit_applies_to: str = DepositAppliesTo.EVERYONE
    reliability_threshold: int = 2
    reliability_window_months: int = 6
    deposit_deadline_hours: int | None = None  # None: an unpaid booking is never released
    cancellation_window_hours: int = 48
    late_cancellation: Charge = field(default_factory=Charge)
    no_show: Charge = field(default_factory=Charge)
    credit_days: int = 0  # 0: no rebooking credit
    credit_after_no_show: bool = False
    reschedule_max: int | None = None  # None: no limit
    reschedule_until_hours: int = 0

    @property
    def cancellation_window(self) -> timedelta:
        return timedelta(hours=self.cancellation_window_hours)

    @property
    def reschedule_until(self) -> timedelta:
        return timedelta(hours=self.reschedule_until_hours)

    def to_snapshot(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings (exact), everything else as is."""

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        return {k: plain(v) for k, v in asdict(self).items()}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any], version: int = SNAPSHOT_VERSION) -> Terms:
        if version != SNAPSHOT_VERSION:
            raise ValueError(f"Unknown terms version {version}.")

        def charge(raw: dict[str, Any]) -> Charge:
            return Charge(
                kind=raw["kind"], amount=Decimal(raw["amount"]), percent=Decimal(raw["percent"])
            )

        return cls(
            deposit_kind=data["deposit_kind"],
            deposit_amount=Decimal(data["deposit_amount"]),
            deposit_percent=Decimal(data["deposit_percent"]),
            deposit_applies_to=data["deposit_applies_to"],
            reliability_threshold=int(data["reliability_threshold"]),
            reliability_window_months=int(data["reliability_window_months"]),
            deposit_deadline_hours=data["deposit_deadline_hours"],
            cancellation_window_hours=int(data["cancellation_window_hours"]),
            late_cancellation=charge(data["late_cancellation"]),
            no_show=charge(data["no_show"]),
            credit_days=int(data["credit_days"]),
            credit_after_no_show=bool(data["credit_after_no_show"]),
            reschedule_max=data["reschedule_max"],
            reschedule_until_hours=int(data["reschedule_until_hours"]),
        )


# The terms of an appointment booked before any policy existed: nothing is charged.
NO_POLICY = Terms()


@dataclass(frozen=True)
class Credit:
    """A client's rebooking credit: usable by a booking made before `expires_at`."""

    amount: Decimal
    expires_at: datetime


@dataclass(frozen=True)
class Facts:
    """What the engine needs to know about an appointment at the moment of the action."""

    start: datetime  # aware
    price: Decimal
    currency: str
    timezone: str  # the location's: dates in sentences are local dates
    language: str  # the client's
    deposit_required: Decimal = ZERO
    deposit_paid: Decimal = ZERO
    client_reschedules: int = 0
    credit: Credit | None = None  # REBOOK: the credit the new booking may use


@dataclass(frozen=True)
class Standing:
    """What the deposit requirement asks about the client, as of booking."""

    is_new: bool = True  # never attended an appointment of the business
    strikes: int = 0  # no-shows and late cancellations within the terms' window
    flagged: bool = False  # flagged by staff


@dataclass(frozen=True)
class Requirement:
    amount: Decimal  # 0: no deposit
    reason: str  # the DepositAppliesTo value that made it required, "" when not required


@dataclass(frozen=True)
class Decision:
    action: str
    allowed: bool
    reason: str  # a Reason value
    message: str  # for the client, in their language
    late: bool = False
    fee: Decimal = ZERO  # charged by this action
    fee_paid_from_deposit: Decimal = ZERO
    deposit: str = DepositOutcome.NONE  # the main thing that happens to the paid deposit
    deposit_refunded: Decimal = ZERO
    deposit_kept: Decimal = ZERO  # forfeited, including what pays the fee
    deposit_credited: Decimal = ZERO
    deposit_applied: Decimal = ZERO  # counted towards the price of the visit
    deposit_withdrawn: Decimal = ZERO  # the unpaid part of the request, no longer asked for
    credit_expires_at: datetime | None = None
    credit_used: Decimal = ZERO

    @property
    def fee_due(self) -> Decimal:
        """What the client still has to pay after the deposit paid its part of the fee."""
        return self.fee - self.fee_paid_from_deposit

    @property
    def loss(self) -> Decimal:
        """What the client surely loses: the fee, and the deposit kept beyond paying it."""
        return self.fee + self.deposit_kept - self.fee_paid_from_deposit

    @property
    def worst_loss(self) -> Decimal:
        """What the client loses if they never use the credit."""
        return self.loss + self.deposit_credited


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"`{name}` must be an aware datetime.")
    # Arithmetic on a zoned datetime is wall-clock arithmetic; in UTC it is absolute.
    return moment.astimezone(UTC)


def is_late(terms: Terms, *, start: datetime, now: datetime) -> bool:
    """Whether a cancellation at `now` is inside the window: exactly at its edge is on time."""
    return _utc(now, "now") > _utc(start, "start") - terms.cancellation_window


def deposit_requirement(
    terms: Terms, *, price: Decimal, currency: str, standing: Standing
) -> Requirement:
    """The deposit a booking of `price` needs from a client of `standing` (never above the price)."""
    if terms.deposit_kind == DepositKind.FIXED:
        amount = min(to_money(terms.deposit_amount, currency), to_money(price, currency))
    elif terms.deposit_kind == DepositKind.PERCENT:
        amount = percent_of(price, terms.deposit_percent, currency)
    else:
        amount = ZERO
    if amount <= ZERO:
        return Requirement(ZERO, "")
    applies = terms.deposit_applies_to
    if applies == DepositAppliesTo.EVERYONE:
        return Requirement(amount, DepositAppliesTo.EVERYONE)
    if standing.flagged:
        return Requirement(amount, DepositAppliesTo.FLAGGED)
    if applies == DepositAppliesTo.NEW_CLIENTS and standing.is_new:
        return Requirement(amount, DepositAppliesTo.NEW_CLIENTS)
    if applies == DepositAppliesTo.UNRELIABLE and standing.strikes >= terms.reliability_threshold:
        return Requirement(amount, DepositAppliesTo.UNRELIABLE)
    return Requirement(ZERO, "")


def deposit_due_at(terms: Terms, *, booked_at: datetime, start: datetime) -> datetime | None:
    """When an unpaid deposit releases the booking: the deadline after booking, but never
    after the start. None when the terms release nothing."""
    if terms.deposit_deadline_hours is None:
        return None
    deadline = _utc(booked_at, "booked_at") + timedelta(hours=terms.deposit_deadline_hours)
    return min(deadline, _utc(start, "start"))


def credit_expiry(terms: Terms, *, start: datetime, tz: str) -> datetime | None:
    """A credit from the appointment at `start` is usable by bookings made before local midnight
    starting the day after the `credit_days`-th day after the appointment's local date."""
    if terms.credit_days <= 0:
        return None
    zone = zoneinfo.ZoneInfo(tz)
    last_day = start.astimezone(zone).date() + timedelta(days=terms.credit_days)
    return datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)


# --- Deciding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settlement:
    """What a final action does with the deposit and the fee (before the sentence)."""

    fee: Decimal = ZERO
    fee_paid_from_deposit: Decimal = ZERO
    refunded: Decimal = ZERO
    kept: Decimal = ZERO
    credited: Decimal = ZERO
    applied: Decimal = ZERO
    withdrawn: Decimal = ZERO
    credit_expires_at: datetime | None = None

    @property
    def outcome(self) -> str:
        if self.credited:
            return DepositOutcome.CREDIT
        if self.kept:
            return DepositOutcome.KEEP
        if self.applied:
            return DepositOutcome.APPLY
        if self.refunded:
            return DepositOutcome.REFUND
        if self.withdrawn:
            return DepositOutcome.WITHDRAW
        return DepositOutcome.NONE


def _settle(
    facts: Facts,
    *,
    mode: str,
    charge: Charge | None = None,
    credit_expires_at: datetime | None = None,
) -> _Settlement:
    """Settle the appointment's deposit. `mode`: "refund", "apply" or "charge" (with `charge`).

    A fee is paid from the deposit first (the rest of the deposit is refunded); "keep the
    deposit" keeps it, or holds it as credit when the terms give one. The unpaid part of a
    requested deposit is withdrawn: there is nothing to keep of money never paid.
    """
    paid = to_money(facts.deposit_paid, facts.currency)
    withdrawn = max(ZERO, to_money(facts.deposit_required, facts.currency) - paid)
    if mode == "apply":
        return _Settlement(applied=paid, withdrawn=withdrawn)
    if mode == "refund" or charge is None or charge.kind == Consequence.NOTHING:
        return _Settlement(refunded=paid, withdrawn=withdrawn)
    if charge.kind == Consequence.KEEP_DEPOSIT:
        if credit_expires_at is not None and paid > ZERO:
            return _Settlement(
                credited=paid, withdrawn=withdrawn, credit_expires_at=credit_expires_at
            )
        return _Settlement(kept=paid, withdrawn=withdrawn)
    fee = charge.fee(facts.price, facts.currency)
    from_deposit = min(paid, fee)
    return _Settlement(
        fee=fee,
        fee_paid_from_deposit=from_deposit,
        kept=from_deposit,
        refunded=paid - from_deposit,
        withdrawn=withdrawn,
    )


def decide(terms: Terms, facts: Facts, action: str, now: datetime) -> Decision:
    """The decision for `action` on the appointment described by `facts`, at `now` (aware)."""
    now_utc = _utc(now, "now")
    start = _utc(facts.start, "start")
    with translation.override(facts.language):
        if action == Action.CANCEL_BY_CLIENT:
            late = is_late(terms, start=start, now=now_utc)
            settlement = (
                _settle(
                    facts,
                    mode="charge",
                    charge=terms.late_cancellation,
                    credit_expires_at=credit_expiry(terms, start=start, tz=facts.timezone),
                )
                if late
                else _settle(facts, mode="refund")
            )
            return _final(
                action,
                Reason.LATE if late else Reason.ON_TIME,
                settlement,
                _cancel_sentence(facts, settlement),
                late=late,
            )
        if action == Action.CANCEL_BY_STAFF:
            settlement = _settle(facts, mode="refund")  # a staff cancellation never charges
            return _final(action, Reason.STAFF, settlement, _staff_cancel_sentence(facts))
        if action == Action.RELEASE_UNPAID:
            settlement = _settle(facts, mode="refund")
            return _final(action, Reason.DEPOSIT_UNPAID, settlement, _release_sentence(facts))
        if action == Action.NO_SHOW:
            expires = (
                credit_expiry(terms, start=start, tz=facts.timezone)
                if terms.credit_after_no_show
                else None
            )
            settlement = _settle(
                facts, mode="charge", charge=terms.no_show, credit_expires_at=expires
            )
            return _final(action, Reason.NO_SHOW, settlement, _no_show_sentence(facts, settlement))
        if action == Action.ATTEND:
            settlement = _settle(facts, mode="apply")
            message = (
                _("Your %(deposit)s deposit counts towards the price.")
                % {"deposit": _money(facts, facts.deposit_paid)}
                if facts.deposit_paid
                else ""
            )
            return _final(action, Reason.ATTENDED, settlement, message)
        if action == Action.RESCHEDULE_BY_CLIENT:
            return _reschedule_by_client(terms, facts, now_utc, start)
        if action == Action.RESCHEDULE_BY_STAFF:
            message = (
                _(
                    "Your appointment was moved by the business; your %(deposit)s deposit stays with it."
                )
                % {"deposit": _money(facts, facts.deposit_paid)}
                if facts.deposit_paid
                else _("Your appointment was moved by the business.")
            )
            return Decision(
                action=action,
                allowed=True,
                reason=Reason.STAFF,
                message=message,
                deposit=DepositOutcome.CARRY if facts.deposit_paid else DepositOutcome.NONE,
            )
        if action == Action.REBOOK:
            return _rebook(facts, now_utc)
    raise ValueError(f"The engine does not decide {action!r}.")


def _final(
    action: str, reason: str, settlement: _Settlement, message: str, *, late: bool = False
) -> Decision:
    return Decision(
        action=action,
        allowed=True,
        reason=reason,
        message=message,
        late=late,
        fee=settlement.fee,
        fee_paid_from_deposit=settlement.fee_paid_from_deposit,
        deposit=settlement.outcome,
        deposit_refunded=settlement.refunded,
        deposit_kept=settlement.kept,
        deposit_credited=settlement.credited,
        deposit_applied=settlement.applied,
        deposit_withdrawn=settlement.withdrawn,
        credit_expires_at=settlement.credit_expires_at,
    )


def _reschedule_by_client(terms: Terms, facts: Facts, now: datetime, start: datetime) -> Decision:
    action = Action.RESCHEDULE_BY_CLIENT
    if terms.reschedule_max is not None and facts.client_reschedules >= terms.reschedule_max:
        return Decision(
            action=action,
            allowed=False,
            reason=Reason.RESCHEDULE_LIMIT,
            message=_(
                "This appointment has been moved as many times as allowed; you can still cancel it."
            ),
        )
    if now > start - terms.reschedule_until:
        return Decision(
            action=action,
            allowed=False,
            reason=Reason.RESCHEDULE_TOO_LATE,
            message=ngettext(
                "Changes are possible until %(hours)d hour before the start; you can still cancel it.",
                "Changes are possible until %(hours)d hours before the start; you can still cancel it.",
                terms.reschedule_until_hours,
            )
            % {"hours": terms.reschedule_until_hours},
        )
    message = (
        _("You can move this appointment; your %(deposit)s deposit stays with it.")
        % {"deposit": _money(facts, facts.deposit_paid)}
        if facts.deposit_paid
        else _("You can move this appointment.")
    )
    return Decision(
        action=action,
        allowed=True,
        reason=Reason.RESCHEDULE_ALLOWED,
        message=message,
        deposit=DepositOutcome.CARRY if facts.deposit_paid else DepositOutcome.NONE,
    )


def _rebook(facts: Facts, now: datetime) -> Decision:
    credit = facts.credit
    if credit is None or credit.amount <= ZERO:
        return Decision(action=Action.REBOOK, allowed=False, reason=Reason.NO_CREDIT, message="")
    amount = _money(facts, credit.amount)
    if now < _utc(credit.expires_at, "expires_at"):
        return Decision(
            action=Action.REBOOK,
            allowed=True,
            reason=Reason.CREDIT_VALID,
            message=_("Your %(credit)s credit counts towards this appointment.")
            % {"credit": amount},
            credit_used=credit.amount,
            credit_expires_at=credit.expires_at,
        )
    return Decision(
        action=Action.REBOOK,
        allowed=False,
        reason=Reason.CREDIT_EXPIRED,
        message=_("Your %(credit)s credit could be used until %(date)s.")
        % {"credit": amount, "date": _last_day(facts, credit.expires_at)},
        credit_expires_at=credit.expires_at,
    )


# --- Sentences -----------------------------------------------------------------------------


def _money(facts: Facts, amount: Decimal) -> str:
    return format_money(amount, facts.currency, facts.language)


def _local_date(facts: Facts, moment: datetime) -> date:
    return moment.astimezone(zoneinfo.ZoneInfo(facts.timezone)).date()


def _day(facts: Facts, moment: datetime) -> str:
    """ "14 de marzo", "March 14": the local date of `moment`, as the client reads dates."""
    return format_skeleton("MMMMd", _local_date(facts, moment), locale=facts.language)


def _last_day(facts: Facts, expires_at: datetime) -> str:
    """The last local day before `expires_at` (a local midnight)."""
    day = _local_date(facts, expires_at - timedelta(microseconds=1))
    return format_skeleton("MMMMd", day, locale=facts.language)


def _refund_tail(facts: Facts, settlement: _Settlement) -> str:
    if not settlement.refunded:
        return ""
    return " " + _("The remaining %(refund)s will be refunded.") % {
        "refund": _money(facts, settlement.refunded)
    }


def _cancel_sentence(facts: Facts, s: _Settlement) -> str:
    deposit = _money(facts, facts.deposit_paid)
    if s.fee:
        values = {
            "fee": _money(facts, s.fee),
            "deposit": deposit,
            "due": _money(facts, s.fee - s.fee_paid_from_deposit),
        }
        if not s.fee_paid_from_deposit:
            return _("Cancelling now costs a %(fee)s late-cancellation fee.") % values
        if s.fee_paid_from_deposit == s.fee:
            return _(
                "Cancelling now costs a %(fee)s late-cancellation fee, taken from your %(deposit)s deposit."
            ) % values + _refund_tail(facts, s)
        return (
            _(
                "Cancelling now costs a %(fee)s late-cancellation fee: your %(deposit)s deposit pays part of it and %(due)s remain to be paid."
            )
            % values
        )
    if s.credited and s.credit_expires_at is not None:
        return _(
            "Cancelling now keeps your %(deposit)s deposit; book again before %(date)s to use it as credit."
        ) % {"deposit": deposit, "date": _day(facts, s.credit_expires_at)}
    if s.kept:
        return _("Cancelling now keeps your %(deposit)s deposit.") % {"deposit": deposit}
    if s.refunded:
        return _("Cancelling now is free: your %(deposit)s deposit will be refunded.") % {
            "deposit": deposit
        }
    return _("Cancelling now is free.")


def _no_show_sentence(facts: Facts, s: _Settlement) -> str:
    deposit = _money(facts, facts.deposit_paid)
    if s.fee:
        values = {
            "fee": _money(facts, s.fee),
            "deposit": deposit,
            "due": _money(facts, s.fee - s.fee_paid_from_deposit),
        }
        if not s.fee_paid_from_deposit:
            return _("A %(fee)s fee applies for the missed appointment.") % values
        if s.fee_paid_from_deposit == s.fee:
            return _(
                "A %(fee)s fee applies for the missed appointment, taken from your %(deposit)s deposit."
            ) % values + _refund_tail(facts, s)
        return (
            _(
                "A %(fee)s fee applies for the missed appointment: your %(deposit)s deposit pays part of it and %(due)s remain to be paid."
            )
            % values
        )
    if s.credited and s.credit_expires_at is not None:
        return _(
            "Your %(deposit)s deposit is kept for the missed appointment; book again before %(date)s to use it as credit."
        ) % {"deposit": deposit, "date": _day(facts, s.credit_expires_at)}
    if s.kept:
        return _("Your %(deposit)s deposit is kept for the missed appointment.") % {
            "deposit": deposit
        }
    if s.refunded:
        return _(
            "There is no charge for the missed appointment; your %(deposit)s deposit will be refunded."
        ) % {"deposit": deposit}
    return _("There is no charge for the missed appointment.")


def _staff_cancel_sentence(facts: Facts) -> str:
    if facts.deposit_paid:
        return _(
            "Your appointment was cancelled by the business, at no cost to you; your %(deposit)s deposit will be refunded."
        ) % {"deposit": _money(facts, facts.deposit_paid)}
    return _("Your appointment was cancelled by the business, at no cost to you.")


def _release_sentence(facts: Facts) -> str:
    if facts.deposit_paid:
        return _(
            "Your booking was released because the deposit was not paid in time; the %(paid)s already paid will be refunded."
        ) % {"paid": _money(facts, facts.deposit_paid)}
    return _("Your booking was released because the deposit was not paid in time.")


def describe_terms(
    terms: Terms, *, price: Decimal, currency: str, language: str, requirement: Requirement
) -> list[str]:
    """The terms as sentences for a client about to book (or reading them on their page)."""
    facts = Facts(
        start=datetime.now(UTC), price=price, currency=currency, timezone="UTC", language=language
    )
    lines: list[str] = []
    with translation.override(language):
        if requirement.amount:
            deposit = _money(facts, requirement.amount)
            if terms.deposit_deadline_hours is not None:
                lines.append(
                    ngettext(
                        "A deposit of %(deposit)s holds this appointment; pay it within %(hours)d hour of booking or the booking is released.",
                        "A deposit of %(deposit)s holds this appointment; pay it within %(hours)d hours of booking or the booking is released.",
                        terms.deposit_deadline_hours,
                    )
                    % {"deposit": deposit, "hours": terms.deposit_deadline_hours}
                )
            else:
                lines.append(
                    _("A deposit of %(deposit)s holds this appointment.") % {"deposit": deposit}
                )
        late = _charge_phrase(terms.late_cancellation, facts, requirement)
        if late:
            lines.append(
                ngettext(
                    "Cancelling is free until %(hours)d hour before the start; later, %(consequence)s.",
                    "Cancelling is free until %(hours)d hours before the start; later, %(consequence)s.",
                    terms.cancellation_window_hours,
                )
                % {"hours": terms.cancellation_window_hours, "consequence": late}
            )
        else:
            lines.append(_("Cancelling is free."))
        missed = _charge_phrase(terms.no_show, facts, requirement)
        if missed:
            lines.append(
                _("If you miss the appointment, %(consequence)s.") % {"consequence": missed}
            )
        keeps = requirement.amount and (
            terms.late_cancellation.kind == Consequence.KEEP_DEPOSIT
            or (terms.credit_after_no_show and terms.no_show.kind == Consequence.KEEP_DEPOSIT)
        )
        if keeps and terms.credit_days > 0:
            lines.append(
                ngettext(
                    "A kept deposit counts as credit if you book again within %(days)d day of the original date.",
                    "A kept deposit counts as credit if you book again within %(days)d days of the original date.",
                    terms.credit_days,
                )
                % {"days": terms.credit_days}
            )
        if terms.reschedule_max is not None:
            lines.append(
                ngettext(
                    "You can move the appointment %(count)d time.",
                    "You can move the appointment up to %(count)d times.",
                    terms.reschedule_max,
                )
                % {"count": terms.reschedule_max}
            )
        if terms.reschedule_until_hours:
            lines.append(
                ngettext(
                    "Changes are possible until %(hours)d hour before the start.",
                    "Changes are possible until %(hours)d hours before the start.",
                    terms.reschedule_until_hours,
                )
                % {"hours": terms.reschedule_until_hours}
            )
    return lines


def _charge_phrase(charge: Charge, facts: Facts, requirement: Requirement) -> str:
    if charge.kind == Consequence.KEEP_DEPOSIT:
        return _("the deposit is kept") if requirement.amount else ""
    fee = charge.fee(facts.price, facts.currency)
    if fee:
        return _("a fee of %(fee)s applies") % {"fee": _money(facts, fee)}
    return ""
