"""The policy engine, case by case: boundaries to the second, across clock changes, and what
each action does with the fee and the deposit, said in the client's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from policies.choices import (
    Action,
    Consequence,
    DepositAppliesTo,
    DepositKind,
    DepositOutcome,
    Reason,
)
from policies.engine import (
    NO_POLICY,
    Charge,
    Credit,
    Facts,
    Requirement,
    Standing,
    Terms,
    credit_expiry,
    decide,
    deposit_due_at,
    deposit_requirement,
    describe_terms,
    is_late,
)

D = Decimal
MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 3, 11, 10, 0, tzinfo=MADRID)  # a Wednesday, 09:00 UTC
SECOND = timedelta(seconds=1)

KEEP_WITH_CREDIT = Terms(
    deposit_kind=DepositKind.FIXED,
    deposit_amount=D("20"),
    cancellation_window_hours=48,
    late_cancellation=Charge(Consequence.KEEP_DEPOSIT),
    credit_days=3,
)


def facts(**overrides: object) -> Facts:
    values: dict[str, object] = {
        "start": START,
        "price": D("40.00"),
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "language": "en",
        "deposit_required": D("20.00"),
        "deposit_paid": D("20.00"),
    }
    values.update(overrides)
    return Facts(**values)  # type: ignore[arg-type]


# --- Time -----------------------------------------------------------------------------------


def test_exactly_the_window_before_the_start_is_on_time_and_one_second_later_is_late() -> None:
    edge = START - timedelta(hours=48)
    assert decide(KEEP_WITH_CREDIT, facts(), Action.CANCEL_BY_CLIENT, edge).reason == Reason.ON_TIME
    late = decide(KEEP_WITH_CREDIT, facts(), Action.CANCEL_BY_CLIENT, edge + SECOND)
    assert late.reason == Reason.LATE and late.late


@pytest.mark.parametrize(
    ("zone", "start", "wall_clock_is_late"),
    [
        # Madrid springs forward on 29 March: two days before at the same wall time is only
        # 47 hours before, so it is late; the exact 48 hours fall at 09:00 local.
        (MADRID, datetime(2026, 3, 30, 10, 0, tzinfo=MADRID), True),
        # ... and falls back on 25 October: the same wall time two days before is 49 hours.
        (MADRID, datetime(2026, 10, 26, 10, 0, tzinfo=MADRID), False),
        (NEW_YORK, datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK), True),
        (NEW_YORK, datetime(2026, 11, 2, 10, 0, tzinfo=NEW_YORK), False),
    ],
)
def test_the_window_is_absolute_time_across_daylight_saving_changes(
    zone: ZoneInfo, start: datetime, wall_clock_is_late: bool
) -> None:
    local_start = start
    exact = local_start.astimezone(UTC) - timedelta(hours=48)
    assert not is_late(KEEP_WITH_CREDIT, start=local_start, now=exact)
    assert is_late(KEEP_WITH_CREDIT, start=local_start, now=exact + SECOND)
    # Given in local time, the same instants decide the same.
    assert not is_late(KEEP_WITH_CREDIT, start=local_start, now=exact.astimezone(zone))
    # Arithmetic on a zoned datetime is wall-clock arithmetic: the same local time, two days before.
    same_wall_time_two_days_before = start - timedelta(days=2)
    assert (
        is_late(KEEP_WITH_CREDIT, start=local_start, now=same_wall_time_two_days_before)
        is wall_clock_is_late
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(NO_POLICY, facts(), Action.CANCEL_BY_CLIENT, datetime(2026, 3, 1, 10, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        decide(NO_POLICY, facts(start=datetime(2026, 3, 11)), Action.CANCEL_BY_CLIENT, START)  # noqa: DTZ001


def test_a_credit_lasts_until_local_midnight_after_its_last_day_across_a_clock_change() -> None:
    terms = Terms(credit_days=2)
    # 23 October 10:00 in Madrid; the last day is the 25th, when clocks go back at 03:00.
    expires = credit_expiry(
        terms, start=datetime(2026, 10, 23, 10, tzinfo=MADRID), tz="Europe/Madrid"
    )
    assert expires == datetime(2026, 10, 26, 0, 0, tzinfo=MADRID)
    assert expires == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert credit_expiry(Terms(credit_days=0), start=START, tz="Europe/Madrid") is None


def test_the_deposit_deadline_never_falls_after_the_start() -> None:
    terms = Terms(deposit_deadline_hours=24)
    booked = START - timedelta(days=5)
    assert deposit_due_at(terms, booked_at=booked, start=START) == booked + timedelta(hours=24)
    late_booking = START - timedelta(hours=3)
    assert deposit_due_at(terms, booked_at=late_booking, start=START) == START
    assert deposit_due_at(NO_POLICY, booked_at=booked, start=START) is None


# --- Cancellations --------------------------------------------------------------------------


def test_an_on_time_cancellation_refunds_the_deposit() -> None:
    decision = decide(KEEP_WITH_CREDIT, facts(), Action.CANCEL_BY_CLIENT, START - timedelta(days=3))
    assert decision.deposit == DepositOutcome.REFUND
    assert decision.deposit_refunded == D("20.00") and decision.fee == 0
    assert decision.message == "Cancelling now is free: your €20.00 deposit will be refunded."


def test_a_late_cancellation_keeps_the_deposit_as_credit_until_the_last_day() -> None:
    decision = decide(
        KEEP_WITH_CREDIT, facts(), Action.CANCEL_BY_CLIENT, START - timedelta(hours=2)
    )
    assert decision.deposit == DepositOutcome.CREDIT
    assert decision.deposit_credited == D("20.00") and decision.deposit_kept == 0
    assert decision.credit_expires_at == datetime(2026, 3, 15, 0, 0, tzinfo=MADRID)
    assert decision.message == (
        "Cancelling now keeps your €20.00 deposit; book again before March 15 to use it as credit."
    )


def test_the_sentence_uses_the_clients_language_for_amounts_and_dates() -> None:
    decision = decide(
        KEEP_WITH_CREDIT, facts(language="es"), Action.CANCEL_BY_CLIENT, START - timedelta(hours=2)
    )
    assert "20,00\xa0€" in decision.message
    assert "15 de marzo" in decision.message
    assert not decision.message.startswith("Cancelling")  # the catalogue speaks Spanish


def test_a_late_cancellation_without_credit_keeps_the_deposit() -> None:
    terms = replace(KEEP_WITH_CREDIT, credit_days=0)
    decision = decide(terms, facts(), Action.CANCEL_BY_CLIENT, START - timedelta(hours=2))
    assert decision.deposit == DepositOutcome.KEEP and decision.deposit_kept == D("20.00")
    assert decision.loss == D("20.00") and decision.credit_expires_at is None
    assert decision.message == "Cancelling now keeps your €20.00 deposit."


def test_there_is_nothing_to_keep_of_a_deposit_never_paid() -> None:
    decision = decide(
        KEEP_WITH_CREDIT, facts(deposit_paid=D("0")), Action.CANCEL_BY_CLIENT, START - SECOND
    )
    assert decision.late and decision.loss == 0
    assert decision.deposit == DepositOutcome.WITHDRAW and decision.deposit_withdrawn == D("20.00")
    assert decision.message == "Cancelling now is free."


@pytest.mark.parametrize(
    ("fee", "paid", "kept", "refunded", "due", "message"),
    [
        (
            D("15"),
            D("20"),
            D("15.00"),
            D("5.00"),
            D("0.00"),
            "Cancelling now costs a €15.00 late-cancellation fee, taken from your €20.00 deposit."
            " The remaining €5.00 will be refunded.",
        ),
        (
            D("20"),
            D("20"),
            D("20.00"),
            D("0.00"),
            D("0.00"),
            "Cancelling now costs a €20.00 late-cancellation fee, taken from your €20.00 deposit.",
        ),
        (
            D("30"),
            D("20"),
            D("20.00"),
            D("0.00"),
            D("10.00"),
            "Cancelling now costs a €30.00 late-cancellation fee: your €20.00 deposit pays part"
            " of it and €10.00 remain to be paid.",
        ),
        (
            D("30"),
            D("0"),
            D("0.00"),
            D("0.00"),
            D("30.00"),
            "Cancelling now costs a €30.00 late-cancellation fee.",
        ),
    ],
)
def test_a_late_fee_is_paid_from_the_deposit_first(
    fee: Decimal, paid: Decimal, kept: Decimal, refunded: Decimal, due: Decimal, message: str
) -> None:
    terms = Terms(late_cancellation=Charge(Consequence.FIXED_FEE, amount=fee))
    decision = decide(
        terms, facts(deposit_paid=paid, deposit_required=paid), Action.CANCEL_BY_CLIENT, START
    )
    assert decision.fee == fee
    assert (decision.deposit_kept, decision.deposit_refunded, decision.fee_due) == (
        kept,
        refunded,
        due,
    )
    assert decision.message == message


def test_a_fixed_fee_is_never_more_than_the_price() -> None:
    terms = Terms(late_cancellation=Charge(Consequence.FIXED_FEE, amount=D("100")))
    decision = decide(terms, facts(deposit_paid=D("0")), Action.CANCEL_BY_CLIENT, START)
    assert decision.fee == D("40.00")


@pytest.mark.parametrize(
    ("price", "percent", "currency", "fee"),
    [
        (D("33.33"), D("50"), "EUR", D("16.67")),  # 16.665 rounds half up
        (D("10.00"), D("12.5"), "EUR", D("1.25")),
        (D("1001"), D("50"), "JPY", D("501")),  # yen have no decimals: 500.5 rounds up
        (D("0.00"), D("50"), "EUR", D("0.00")),
    ],
)
def test_a_percentage_fee_rounds_half_up_to_the_currency(
    price: Decimal, percent: Decimal, currency: str, fee: Decimal
) -> None:
    terms = Terms(late_cancellation=Charge(Consequence.PERCENT_FEE, percent=percent))
    decision = decide(
        terms,
        facts(price=price, currency=currency, deposit_paid=D("0"), deposit_required=D("0")),
        Action.CANCEL_BY_CLIENT,
        START,
    )
    assert decision.fee == fee
    assert decision.fee.as_tuple().exponent == fee.as_tuple().exponent


def test_a_staff_cancellation_never_charges_the_client() -> None:
    harsh = Terms(
        late_cancellation=Charge(Consequence.FIXED_FEE, amount=D("40")),
        no_show=Charge(Consequence.KEEP_DEPOSIT),
    )
    decision = decide(harsh, facts(), Action.CANCEL_BY_STAFF, START - SECOND)
    assert decision.fee == 0 and decision.loss == 0 and not decision.late
    assert decision.deposit == DepositOutcome.REFUND and decision.deposit_refunded == D("20.00")
    assert decision.message == (
        "Your appointment was cancelled by the business, at no cost to you; your €20.00 deposit"
        " will be refunded."
    )


def test_an_unpaid_release_withdraws_the_request() -> None:
    decision = decide(
        KEEP_WITH_CREDIT,
        facts(deposit_paid=D("0")),
        Action.RELEASE_UNPAID,
        START - timedelta(days=2),
    )
    assert decision.reason == Reason.DEPOSIT_UNPAID and decision.fee == 0
    assert decision.deposit == DepositOutcome.WITHDRAW
    assert decision.message == "Your booking was released because the deposit was not paid in time."


# --- No-shows and visits --------------------------------------------------------------------


def test_a_no_show_keeps_the_deposit_and_gives_credit_only_when_chosen() -> None:
    terms = replace(KEEP_WITH_CREDIT, no_show=Charge(Consequence.KEEP_DEPOSIT))
    assert decide(terms, facts(), Action.NO_SHOW, START).deposit == DepositOutcome.KEEP
    with_credit = replace(terms, credit_after_no_show=True)
    decision = decide(with_credit, facts(), Action.NO_SHOW, START)
    assert decision.deposit == DepositOutcome.CREDIT
    assert decision.message == (
        "Your €20.00 deposit is kept for the missed appointment; book again before March 15 to"
        " use it as credit."
    )


def test_a_no_show_fee_by_percentage() -> None:
    terms = Terms(no_show=Charge(Consequence.PERCENT_FEE, percent=D("50")))
    decision = decide(
        terms, facts(deposit_paid=D("0"), deposit_required=D("0")), Action.NO_SHOW, START
    )
    assert decision.fee == D("20.00") and decision.fee_due == D("20.00")
    assert decision.message == "A €20.00 fee applies for the missed appointment."


def test_a_no_show_without_consequence_refunds() -> None:
    decision = decide(NO_POLICY, facts(), Action.NO_SHOW, START)
    assert decision.deposit == DepositOutcome.REFUND
    assert decision.message == (
        "There is no charge for the missed appointment; your €20.00 deposit will be refunded."
    )


def test_attending_counts_the_deposit_towards_the_price() -> None:
    decision = decide(KEEP_WITH_CREDIT, facts(), Action.ATTEND, START)
    assert decision.deposit == DepositOutcome.APPLY and decision.deposit_applied == D("20.00")
    assert decision.message == "Your €20.00 deposit counts towards the price."


# --- Moves ----------------------------------------------------------------------------------


def test_a_client_may_move_until_the_limit_and_the_deadline() -> None:
    terms = Terms(reschedule_max=2, reschedule_until_hours=24)
    edge = START - timedelta(hours=24)
    allowed = decide(terms, facts(client_reschedules=1), Action.RESCHEDULE_BY_CLIENT, edge)
    assert allowed.allowed and allowed.deposit == DepositOutcome.CARRY
    assert allowed.message == "You can move this appointment; your €20.00 deposit stays with it."
    too_late = decide(terms, facts(), Action.RESCHEDULE_BY_CLIENT, edge + SECOND)
    assert not too_late.allowed and too_late.reason == Reason.RESCHEDULE_TOO_LATE
    assert too_late.message == (
        "Changes are possible until 24 hours before the start; you can still cancel it."
    )
    limit = decide(
        terms, facts(client_reschedules=2), Action.RESCHEDULE_BY_CLIENT, START - timedelta(days=5)
    )
    assert not limit.allowed and limit.reason == Reason.RESCHEDULE_LIMIT


def test_staff_may_always_move() -> None:
    terms = Terms(reschedule_max=0, reschedule_until_hours=48)
    decision = decide(terms, facts(client_reschedules=9), Action.RESCHEDULE_BY_STAFF, START)
    assert decision.allowed and decision.fee == 0


# --- Credit ---------------------------------------------------------------------------------


def test_a_credit_counts_for_a_booking_made_before_it_expires() -> None:
    expires = datetime(2026, 3, 15, 0, 0, tzinfo=MADRID)
    credit = Credit(amount=D("20.00"), expires_at=expires)
    used = decide(NO_POLICY, facts(credit=credit), Action.REBOOK, expires - SECOND)
    assert used.allowed and used.credit_used == D("20.00")
    assert used.message == "Your €20.00 credit counts towards this appointment."
    expired = decide(NO_POLICY, facts(credit=credit), Action.REBOOK, expires)
    assert not expired.allowed and expired.reason == Reason.CREDIT_EXPIRED
    assert expired.message == "Your €20.00 credit could be used until March 14."
    none = decide(NO_POLICY, facts(), Action.REBOOK, START)
    assert not none.allowed and none.reason == Reason.NO_CREDIT


def test_exceptions_are_not_the_engines_to_decide() -> None:
    with pytest.raises(ValueError, match="does not decide"):
        decide(NO_POLICY, facts(), Action.WAIVE_FEE, START)


# --- Who pays a deposit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applies_to", "standing", "amount", "reason"),
    [
        (DepositAppliesTo.EVERYONE, Standing(is_new=False), D("20.00"), "everyone"),
        (DepositAppliesTo.NEW_CLIENTS, Standing(is_new=True), D("20.00"), "new_clients"),
        (DepositAppliesTo.NEW_CLIENTS, Standing(is_new=False), D("0"), ""),
        (DepositAppliesTo.UNRELIABLE, Standing(is_new=False, strikes=1), D("0"), ""),
        (DepositAppliesTo.UNRELIABLE, Standing(is_new=False, strikes=2), D("20.00"), "unreliable"),
        (DepositAppliesTo.FLAGGED, Standing(is_new=True), D("0"), ""),
        (DepositAppliesTo.FLAGGED, Standing(flagged=True), D("20.00"), "flagged"),
        (DepositAppliesTo.NEW_CLIENTS, Standing(is_new=False, flagged=True), D("20.00"), "flagged"),
    ],
)
def test_who_pays_the_deposit(
    applies_to: str, standing: Standing, amount: Decimal, reason: str
) -> None:
    terms = replace(KEEP_WITH_CREDIT, deposit_applies_to=applies_to, reliability_threshold=2)
    requirement = deposit_requirement(terms, price=D("40.00"), currency="EUR", standing=standing)
    assert requirement == Requirement(amount, reason)


def test_a_deposit_is_never_more_than_the_price_and_percentages_round_half_up() -> None:
    fixed = Terms(deposit_kind=DepositKind.FIXED, deposit_amount=D("50"))
    assert deposit_requirement(
        fixed, price=D("40"), currency="EUR", standing=Standing()
    ).amount == D("40.00")
    percent = Terms(deposit_kind=DepositKind.PERCENT, deposit_percent=D("25"))
    assert deposit_requirement(
        percent, price=D("10.10"), currency="EUR", standing=Standing()
    ).amount == D("2.53")
    assert deposit_requirement(
        percent, price=D("0"), currency="EUR", standing=Standing()
    ) == Requirement(D("0"), "")


# --- Stored terms and their description -----------------------------------------------------


def test_terms_survive_their_snapshot_exactly() -> None:
    terms = Terms(
        deposit_kind=DepositKind.PERCENT,
        deposit_percent=D("12.50"),
        deposit_applies_to=DepositAppliesTo.UNRELIABLE,
        deposit_deadline_hours=24,
        late_cancellation=Charge(Consequence.FIXED_FEE, amount=D("9.99")),
        no_show=Charge(Consequence.PERCENT_FEE, percent=D("100")),
        credit_days=3,
        credit_after_no_show=True,
        reschedule_max=2,
        reschedule_until_hours=12,
    )
    snapshot = terms.to_snapshot()
    assert snapshot["late_cancellation"] == {"kind": "fixed_fee", "amount": "9.99", "percent": "0"}
    assert Terms.from_snapshot(snapshot, 1) == terms
    with pytest.raises(ValueError, match="version"):
        Terms.from_snapshot(snapshot, 2)


def test_the_terms_read_as_sentences_before_booking() -> None:
    terms = replace(
        KEEP_WITH_CREDIT,
        deposit_deadline_hours=24,
        no_show=Charge(Consequence.FIXED_FEE, amount=D("25")),
        reschedule_max=1,
        reschedule_until_hours=24,
    )
    lines = describe_terms(
        terms,
        price=D("40"),
        currency="EUR",
        language="en",
        requirement=Requirement(D("20.00"), "everyone"),
    )
    assert lines == [
        "A deposit of €20.00 holds this appointment; pay it within 24 hours of booking or the"
        " booking is released.",
        "Cancelling is free until 48 hours before the start; later, the deposit is kept.",
        "If you miss the appointment, a fee of €25.00 applies.",
        "A kept deposit counts as credit if you book again within 3 days of the original date.",
        "You can move the appointment 1 time.",
        "Changes are possible until 24 hours before the start.",
    ]
    assert describe_terms(
        NO_POLICY, price=D("40"), currency="EUR", language="en", requirement=Requirement(D("0"), "")
    ) == ["Cancelling is free."]
