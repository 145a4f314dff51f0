"""Properties of the policy engine over random terms, appointments, moments and zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.choices import Action, Consequence, DepositKind
from policies.engine import Charge, Facts, Terms, decide
from policies.money import quantum

ZONES = ["Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]
FINAL = [
    Action.CANCEL_BY_CLIENT,
    Action.CANCEL_BY_STAFF,
    Action.NO_SHOW,
    Action.ATTEND,
    Action.RELEASE_UNPAID,
]


def money(max_value: int = 2000) -> st.SearchStrategy[Decimal]:
    return st.integers(min_value=0, max_value=max_value * 100).map(lambda c: Decimal(c) / 100)


percents = st.integers(min_value=0, max_value=10000).map(lambda p: Decimal(p) / 100)


@st.composite
def charges(draw: st.DrawFn) -> Charge:
    kind = draw(st.sampled_from(Consequence.values))
    return Charge(
        kind=kind,
        amount=draw(money()) if kind == Consequence.FIXED_FEE else Decimal(0),
        percent=draw(percents) if kind == Consequence.PERCENT_FEE else Decimal(0),
    )


@st.composite
def terms(draw: st.DrawFn) -> Terms:
    return Terms(
        deposit_kind=draw(st.sampled_from(DepositKind.values)),
        cancellation_window_hours=draw(st.integers(min_value=0, max_value=24 * 30)),
        late_cancellation=draw(charges()),
        no_show=draw(charges()),
        credit_days=draw(st.integers(min_value=0, max_value=30)),
        credit_after_no_show=draw(st.booleans()),
        reschedule_max=draw(st.none() | st.integers(min_value=0, max_value=5)),
        reschedule_until_hours=draw(st.integers(min_value=0, max_value=24 * 7)),
    )


@st.composite
def appointment_facts(draw: st.DrawFn) -> Facts:
    currency = draw(st.sampled_from(["EUR", "USD", "JPY"]))
    step = quantum(currency)
    price = draw(money()).quantize(step)
    paid = draw(st.integers(min_value=0, max_value=int(price / step))) * step
    extra = draw(st.integers(min_value=0, max_value=int(price / step))) * step
    start = draw(
        st.datetimes(
            min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
            max_value=datetime(2027, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        )
    )
    return Facts(
        start=start,
        price=price,
        currency=currency,
        timezone=draw(st.sampled_from(ZONES)),
        language=draw(st.sampled_from(["en", "es"])),
        deposit_required=min(price, paid + extra),
        deposit_paid=paid,
        client_reschedules=draw(st.integers(min_value=0, max_value=6)),
    )


offsets = st.integers(min_value=-60 * 24 * 3600, max_value=60 * 24 * 3600).map(
    lambda s: timedelta(seconds=s)
)


@settings(max_examples=300, deadline=None)
@given(terms(), appointment_facts(), st.sampled_from(FINAL), offsets)
def test_the_fee_is_never_more_than_the_price_and_the_deposit_is_accounted_for(
    t: Terms, f: Facts, action: str, offset: timedelta
) -> None:
    decision = decide(t, f, action, f.start + offset)
    assert Decimal(0) <= decision.fee <= f.price
    assert Decimal(0) <= decision.fee_paid_from_deposit <= decision.fee
    assert decision.fee_due >= 0
    # Every cent of the paid deposit goes exactly one way; the unpaid rest is withdrawn.
    moved = (
        decision.deposit_refunded
        + decision.deposit_kept
        + decision.deposit_credited
        + decision.deposit_applied
    )
    assert moved == f.deposit_paid
    assert decision.deposit_withdrawn == f.deposit_required - f.deposit_paid
    for amount in (decision.fee, decision.deposit_kept, decision.deposit_refunded):
        assert amount == amount.quantize(quantum(f.currency))
    assert (decision.deposit_credited > 0) == (decision.credit_expires_at is not None)


@settings(max_examples=300, deadline=None)
@given(terms(), appointment_facts(), offsets)
def test_a_staff_cancellation_never_charges(t: Terms, f: Facts, offset: timedelta) -> None:
    decision = decide(t, f, Action.CANCEL_BY_STAFF, f.start + offset)
    assert decision.fee == 0 and decision.loss == 0 and decision.worst_loss == 0
    assert decision.deposit_refunded == f.deposit_paid


@settings(max_examples=300, deadline=None)
@given(terms(), appointment_facts(), offsets, offsets)
def test_cancelling_earlier_is_never_worse_for_the_client(
    t: Terms, f: Facts, first: timedelta, second: timedelta
) -> None:
    earlier, later = sorted([first, second])
    a = decide(t, f, Action.CANCEL_BY_CLIENT, f.start + earlier)
    b = decide(t, f, Action.CANCEL_BY_CLIENT, f.start + later)
    assert a.loss <= b.loss
    assert a.worst_loss <= b.worst_loss
    assert not (a.late and not b.late)


@settings(max_examples=200, deadline=None)
@given(
    terms(),
    appointment_facts(),
    st.sampled_from(list(Action.values[:7])),
    offsets,
    st.sampled_from(ZONES),
)
def test_the_decision_depends_on_the_instant_not_how_it_is_written(
    t: Terms, f: Facts, action: str, offset: timedelta, zone: str
) -> None:
    moment = f.start + offset
    in_utc = decide(t, f, action, moment)
    local = decide(t, f, action, moment.astimezone(ZoneInfo(zone)))
    assert in_utc == local


@settings(max_examples=200, deadline=None)
@given(terms(), appointment_facts(), offsets)
def test_a_move_is_allowed_exactly_while_the_limits_allow_it(
    t: Terms, f: Facts, offset: timedelta
) -> None:
    now = f.start + offset
    decision = decide(t, f, Action.RESCHEDULE_BY_CLIENT, now)
    within_limit = t.reschedule_max is None or f.client_reschedules < t.reschedule_max
    in_time = now <= f.start - timedelta(hours=t.reschedule_until_hours)
    assert decision.allowed == (within_limit and in_time)
    assert decision.fee == 0 and decision.message
