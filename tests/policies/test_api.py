"""The policies API as an integrator and the front desk use it: keys and roles, JSON in and
out, one error shape, nothing changed by a refused request, never a 500."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from time_machine import TimeMachineFixture

from appointments.models import Appointment
from appointments.services import Actor, appointment_mark_no_show
from policies.choices import Action, Consequence, DepositKind
from policies.models import ClientFlag, LedgerEntry, Policy
from policies.services import decide_and_record, policy_create, policy_terms_snapshot
from tenants.models import ApiKeyRole, Business
from tenants.services import api_key_create
from tests.factories import BusinessFactory
from tests.policies.conftest import MONDAY_10, NOW, Shop

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, client: DjangoClient, raw_key: str) -> None:
        self.client, self.auth = client, f"Bearer {raw_key}"

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1/{path}", params, HTTP_AUTHORIZATION=self.auth)

    def send(self, method: str, path: str, body: Any = None, **headers: Any) -> Any:
        return getattr(self.client, method)(
            f"/api/v1/{path}",
            body if body is not None else {},
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
            **headers,
        )

    def post(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self.send("post", path, body, **headers)


@pytest.fixture(autouse=True)
def clock(time_machine: TimeMachineFixture) -> TimeMachineFixture:
    time_machine.move_to(NOW, tick=False)
    return time_machine


AFTER_THE_VISIT = MONDAY_10 + timedelta(hours=1)


def _key(business: Business, role: str) -> str:
    with scope(tenant=business):
        return api_key_create(tenant=business, name=role, role=role)[1]


@pytest.fixture
def admin(client: DjangoClient, shop: Shop) -> Api:
    return Api(client, _key(shop.business, ApiKeyRole.ADMIN))


@pytest.fixture
def desk(client: DjangoClient, shop: Shop) -> Api:
    return Api(client, _key(shop.business, ApiKeyRole.RECEPTIONIST))


@pytest.fixture
def reader(client: DjangoClient, shop: Shop) -> Api:
    return Api(client, _key(shop.business, ApiKeyRole.READ_ONLY))


def _booked(shop: Shop, **policy: Any) -> Appointment:
    fields: dict[str, Any] = {
        "deposit_kind": DepositKind.FIXED,
        "deposit_amount": Decimal("20.00"),
        "deposit_deadline_hours": 24,
        "late_cancellation_consequence": Consequence.KEEP_DEPOSIT,
        "credit_days": 3,
    }
    fields.update(policy)
    policy_create(tenant=shop.business, **fields)
    appointment = shop.book()
    policy_terms_snapshot(appointment, now=NOW)
    return appointment


# --- Policies -------------------------------------------------------------------------------


def test_admins_write_policies_with_consequences_as_objects(admin: Api, shop: Shop) -> None:
    response = admin.post(
        "policies/",
        {
            "deposit_kind": "percent",
            "deposit_percent": "25",
            "deposit_applies_to": "unreliable",
            "cancellation_window_hours": 48,
            "late_cancellation": {"consequence": "fixed_fee", "fee_amount": "15.00"},
            "no_show": {"consequence": "keep_deposit"},
            "credit_days": 3,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service"] is None and body["currency"] == "EUR"
    assert body["late_cancellation"] == {
        "consequence": "fixed_fee",
        "fee_amount": "15.00",
        "fee_percent": "0.00",
    }
    response = admin.send(
        "patch",
        f"policies/{body['id']}/",
        {"late_cancellation": {"consequence": "percent_fee", "fee_percent": "50"}},
    )
    assert response.status_code == 200, response.content
    assert response.json()["late_cancellation"] == {
        "consequence": "percent_fee",
        "fee_amount": "0.00",
        "fee_percent": "50.00",
    }
    assert response.json()["no_show"]["consequence"] == "keep_deposit"


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"deposit_kind": "fixed", "deposit_amount": "-1"}, {"deposit_amount"}),
        (
            {"deposit_kind": "fixed", "deposit_amount": "45.00", "service": "SERVICE"},
            {"deposit_amount"},
        ),
        (
            {"late_cancellation": {"consequence": "percent_fee", "fee_percent": "120"}},
            {"late_cancellation"},
        ),
        ({"no_show": {"consequence": "fixed_fee", "fee_amount": "-5"}}, {"no_show"}),
        ({"no_show": {"consequence": "fixed_fee"}}, {"no_show"}),
        ({"cancellation_window_hours": 31 * 24}, {"cancellation_window_hours"}),
        ({"cancellation_window_hours": -1}, {"cancellation_window_hours"}),
        ({"deposit_kind": "gold"}, {"deposit_kind"}),
        ({"service": 10**12}, {"service"}),
        ({"late_cancellation": "keep"}, {"late_cancellation"}),
    ],
)
def test_bad_policies_get_field_errors_and_change_nothing(
    admin: Api, shop: Shop, body: dict[str, Any], errors: set[str]
) -> None:
    if body.get("service") == "SERVICE":
        body = {**body, "service": shop.service.pk}
    response = admin.post("policies/", body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == errors
    assert not Policy.objects.exists()


def test_a_missing_fee_is_reported_where_the_integrator_wrote_it(admin: Api) -> None:
    response = admin.post("policies/", {"no_show": {"consequence": "fixed_fee"}})
    assert response.json()["errors"] == {"no_show": {"fee_amount": ["Give the fee amount."]}}


def test_a_second_default_policy_is_a_field_error(admin: Api, shop: Shop) -> None:
    assert admin.post("policies/", {}).status_code == 201
    response = admin.post("policies/", {})
    assert response.status_code == 400
    assert response.json()["errors"] == {"service": ["The business already has a default policy."]}


def test_the_front_desk_and_read_only_keys_read_policies_but_do_not_write(
    desk: Api, reader: Api, shop: Shop
) -> None:
    policy = policy_create(tenant=shop.business)
    for api in (desk, reader):
        assert api.get("policies/").status_code == 200
        assert api.get(f"policies/{policy.pk}/").json()["id"] == policy.pk
        assert api.post("policies/", {}).status_code == 403
        assert api.send("patch", f"policies/{policy.pk}/", {"credit_days": 2}).status_code == 403
    assert Policy.objects.count() == 1


# --- One appointment's policy ---------------------------------------------------------------


def test_an_appointment_shows_its_terms_deposit_and_what_cancelling_now_would_mean(
    reader: Api, shop: Shop
) -> None:
    appointment = _booked(shop)
    body = reader.get(f"appointments/{appointment.pk}/policy/").json()
    assert body["terms"]["late_cancellation"]["consequence"] == "keep_deposit"
    assert body["deposit"] == {
        "amount_required": "20.00",
        "amount_paid": "0.00",
        "deposit_status": "pending",
        "due_at": "2026-03-06T09:00:00Z",
        "required_because": "everyone",
    }
    assert body["if_cancelled_now"]["allowed"] is True
    assert body["if_cancelled_now"]["message"] == "Cancelling now is free."
    assert body["if_moved_now"]["reason_code"] == "reschedule_allowed"
    assert body["decisions"] == []


def test_an_appointment_booked_before_terms_existed_shows_none(reader: Api, shop: Shop) -> None:
    appointment = shop.book()
    body = reader.get(f"appointments/{appointment.pk}/policy/").json()
    assert body["terms"] is None and body["deposit"]["deposit_status"] == "not_required"


def test_the_front_desk_records_a_deposit_once(desk: Api, shop: Shop) -> None:
    appointment = _booked(shop)
    url = f"appointments/{appointment.pk}/policy/payments/"
    response = desk.post(url, {"payment_for": "deposit", "method": "card", "reference": "TPV 7"})
    assert response.status_code == 200, response.content
    assert response.json()["deposit"]["deposit_status"] == "paid"
    again = desk.post(url, {"payment_for": "deposit", "method": "card"})
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_do"
    assert LedgerEntry.objects.filter(kind="deposit_paid").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payment_for": "deposit", "method": "credit"}, "method"),
        ({"payment_for": "tip", "method": "cash"}, "payment_for"),
        ({"payment_for": "deposit", "method": "other"}, "reference"),
        ({"payment_for": "fee", "method": "cash", "amount": "abc"}, "amount"),
    ],
)
def test_a_bad_payment_is_refused_and_changes_nothing(
    desk: Api, shop: Shop, body: dict[str, Any], field: str
) -> None:
    appointment = _booked(shop)
    before = LedgerEntry.objects.count()
    response = desk.post(f"appointments/{appointment.pk}/policy/payments/", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert LedgerEntry.objects.count() == before


def test_a_retried_payment_with_its_idempotency_key_is_recorded_once(desk: Api, shop: Shop) -> None:
    appointment = _booked(shop)
    url = f"appointments/{appointment.pk}/policy/payments/"
    body = {"payment_for": "deposit", "method": "cash"}
    first = desk.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-1")
    second = desk.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert LedgerEntry.objects.filter(kind="deposit_paid").count() == 1


def _no_show_with_fee(shop: Shop) -> Appointment:
    """A client who did not come to a visit with a 30 € no-show fee: marking the no-show
    decides and records it under the terms stored at booking."""
    appointment = _booked(
        shop, no_show_consequence=Consequence.FIXED_FEE, no_show_fee_amount=Decimal("30")
    )
    appointment_mark_no_show(appointment=appointment, actor=Actor.system(), now=MONDAY_10)
    return appointment


def test_only_admins_waive_a_fee_and_always_with_a_reason(
    admin: Api, desk: Api, shop: Shop, clock: TimeMachineFixture
) -> None:
    appointment = _no_show_with_fee(shop)
    clock.move_to(AFTER_THE_VISIT, tick=False)
    url = f"appointments/{appointment.pk}/policy/waive-fee/"
    assert desk.post(url, {"reason": "Emergency"}).status_code == 403
    missing = admin.post(url, {"reason": ""})
    assert missing.status_code == 400 and "reason" in missing.json()["errors"]
    response = admin.post(url, {"reason": "Emergency at home"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["fee_outstanding"] == "0.00"
    assert [d["action"] for d in body["decisions"]] == ["no_show", "waive_fee"]
    assert body["decisions"][-1]["note"] == "Emergency at home"
    assert admin.post(url, {"reason": "again"}).status_code == 409


def test_admins_keep_a_kept_deposit_as_credit(
    admin: Api, desk: Api, shop: Shop, clock: TimeMachineFixture
) -> None:
    appointment = _booked(shop, no_show_consequence=Consequence.KEEP_DEPOSIT, credit_days=0)
    desk.post(
        f"appointments/{appointment.pk}/policy/payments/",
        {"payment_for": "deposit", "method": "cash"},
    )
    decide_and_record(
        appointment=appointment, action=Action.NO_SHOW, actor=Actor.system(), now=MONDAY_10
    )
    clock.move_to(AFTER_THE_VISIT, tick=False)
    url = f"appointments/{appointment.pk}/policy/keep-credit/"
    assert desk.post(url, {"reason": "Car accident"}).status_code == 403
    assert admin.post(url, {"reason": "Car accident", "days": 0}).status_code == 400
    response = admin.post(url, {"reason": "Car accident", "days": 10})
    assert response.status_code == 200, response.content
    assert response.json()["deposit"]["deposit_status"] == "credited"
    ledger = desk.get(f"clients/{shop.client.pk}/ledger/").json()
    assert ledger["balance"]["credit"] == "20.00"


# --- Clients --------------------------------------------------------------------------------


def test_a_clients_ledger_shows_the_balance_and_the_newest_entries_first(
    reader: Api, desk: Api, shop: Shop, clock: TimeMachineFixture
) -> None:
    appointment = _no_show_with_fee(shop)
    clock.move_to(AFTER_THE_VISIT, tick=False)
    desk.post(
        f"appointments/{appointment.pk}/policy/payments/",
        {"payment_for": "fee", "method": "cash", "amount": "10.00"},
    )
    body = reader.get(f"clients/{shop.client.pk}/ledger/", page_size=2).json()
    assert body["currency"] == "EUR"
    assert body["balance"] == {"deposits_held": "0.00", "fees_owed": "20.00", "credit": "0.00"}
    assert [e["entry_kind"] for e in body["results"]] == ["fee_paid", "deposit_withdrawn"]
    assert body["results"][0]["method"] == "cash"
    assert body["next"] is not None
    rest = reader.client.get(body["next"], HTTP_AUTHORIZATION=reader.auth).json()
    assert [e["entry_kind"] for e in rest["results"]] == ["fee_charged", "deposit_requested"]


def test_reliability_for_chosen_clients(
    reader: Api, desk: Api, shop: Shop, clock: TimeMachineFixture
) -> None:
    _no_show_with_fee(shop)
    clock.move_to(AFTER_THE_VISIT, tick=False)
    desk.send("put", f"clients/{shop.client.pk}/deposit-flag/", {"reason": "Never answers"})
    response = reader.get("reliability/", client=str(shop.client.pk))
    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert row["client"] == shop.client.pk
    assert (row["no_shows"], row["strikes"], row["tier"], row["flagged"]) == (1, 1, "watch", True)
    assert reader.get("reliability/", client="1,x").status_code == 400
    assert reader.get("reliability/", client=",".join(["1"] * 201)).status_code == 400


def test_the_front_desk_flags_and_unflags_a_client_with_a_reason(
    desk: Api, reader: Api, shop: Shop
) -> None:
    url = f"clients/{shop.client.pk}/deposit-flag/"
    assert reader.get(url).json()["flagged"] is False
    assert desk.send("put", url, {"reason": ""}).status_code == 400
    assert reader.send("put", url, {"reason": "x"}).status_code == 403
    response = desk.send("put", url, {"reason": "Two no-shows at the other clinic"})
    assert response.status_code == 200 and response.json()["flagged"] is True
    assert response.json()["flagged_by"] == "receptionist"
    assert desk.send("delete", url).status_code == 204
    assert not ClientFlag.objects.exists()


def test_another_business_client_and_appointment_are_not_found(admin: Api, shop: Shop) -> None:
    other = BusinessFactory()
    with scope(tenant=other):
        theirs = Shop(other)
        appointment = theirs.book()
    for path in (
        f"appointments/{appointment.pk}/policy/",
        f"clients/{theirs.client.pk}/ledger/",
        f"clients/{theirs.client.pk}/deposit-flag/",
    ):
        assert admin.get(path).status_code == 404
    response = admin.post(
        f"appointments/{appointment.pk}/policy/payments/",
        {"payment_for": "deposit", "method": "cash"},
    )
    assert response.status_code == 404
    assert admin.get("reliability/", client=str(theirs.client.pk)).json()["results"] == []


def test_the_schema_documents_the_policy_routes(admin: Api) -> None:
    paths = admin.get("schema/", format="json").json()["paths"]
    for path in (
        "/api/v1/policies/",
        "/api/v1/policies/{id}/",
        "/api/v1/appointments/{id}/policy/",
        "/api/v1/appointments/{id}/policy/payments/",
        "/api/v1/appointments/{id}/policy/waive-fee/",
        "/api/v1/appointments/{id}/policy/keep-credit/",
        "/api/v1/clients/{id}/ledger/",
        "/api/v1/clients/{id}/deposit-flag/",
        "/api/v1/reliability/",
    ):
        assert path in paths


# --- Never a 500 ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "fixed",
            "percent",
            "fixed_fee",
            "percent_fee",
            "keep_deposit",
            "1e9",
            "NaN",
            "-0.001",
            "99999999999",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)
policy_fields = st.sampled_from(
    [
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
    ]
)
nested = st.fixed_dictionaries(
    {},
    optional={
        "consequence": json_values | st.sampled_from(Consequence.values),
        "fee_amount": json_values,
        "fee_percent": json_values,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.dictionaries(policy_fields, json_values | nested, max_size=6))
def test_any_policy_body_gets_a_clear_answer_never_a_500(admin: Api, body: dict[str, Any]) -> None:
    with scopes_disabled():
        before = Policy.objects.count()
    response = admin.post("policies/", body)
    assert response.status_code in {201, 400}, (body, response.content)
    with scopes_disabled():
        Policy.objects.all().delete()
    if response.status_code == 400:
        assert response.json()["code"] == "invalid" and response.json()["errors"]
        assert before == 0


def test_an_admin_deletes_a_policy_and_booked_terms_stay(admin: Api, desk: Api, shop: Shop) -> None:
    appointment = _booked(shop)
    policy = Policy.objects.get(tenant=shop.business)
    url = f"policies/{policy.pk}/"
    assert desk.send("delete", url).status_code == 403
    assert admin.send("delete", url).status_code == 204
    assert not Policy.objects.filter(pk=policy.pk).exists()
    body = admin.get(f"appointments/{appointment.pk}/policy/").json()
    assert (body["policy"], body["deposit"]["amount_required"]) == (None, "20.00")
    assert body["terms"]["deposit_amount"] == "20.00"


# --- Cancelling through the API -------------------------------------------------------------


def _late_fee_policy(shop: Shop) -> None:
    policy_create(
        tenant=shop.business,
        cancellation_window_hours=48,
        late_cancellation_consequence=Consequence.FIXED_FEE,
        late_cancellation_fee_amount=Decimal("15.00"),
    )


def test_a_client_cancellation_entered_through_the_api_is_judged_by_the_terms(
    desk: Api, shop: Shop, time_machine: TimeMachineFixture
) -> None:
    _late_fee_policy(shop)
    appointment = shop.book()  # 4 days ahead: the terms (48 h, 15.00 fee) are stored with it
    time_machine.move_to(MONDAY_10 - timedelta(hours=10), tick=False)
    response = desk.post(
        f"appointments/{appointment.pk}/cancel/", {"by": "client", "reason": "Flu"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    fees = LedgerEntry.objects.filter(appointment=appointment, kind="fee_charged")
    assert [entry.amount for entry in fees] == [Decimal("15.00")]
    decision = desk.get(f"appointments/{appointment.pk}/policy/").json()["decisions"][0]
    assert decision["action"] == Action.CANCEL_BY_CLIENT and decision["late"] is True


def test_a_staff_cancellation_through_the_api_never_charges(
    desk: Api, shop: Shop, time_machine: TimeMachineFixture
) -> None:
    _late_fee_policy(shop)
    appointment = shop.book()
    time_machine.move_to(MONDAY_10 - timedelta(hours=10), tick=False)
    response = desk.post(f"appointments/{appointment.pk}/cancel/", {"reason": "Staff ill"})
    assert response.status_code == 200, response.content
    assert not LedgerEntry.objects.filter(appointment=appointment, kind="fee_charged").exists()


def test_cancelling_on_behalf_of_nobody_known_is_refused_and_changes_nothing(
    desk: Api, shop: Shop
) -> None:
    appointment = shop.book()
    response = desk.post(f"appointments/{appointment.pk}/cancel/", {"by": "the cat"})
    assert response.status_code == 400 and "by" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
