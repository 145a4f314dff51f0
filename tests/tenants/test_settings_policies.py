"""Deposit and cancellation policies in the settings, written by the policies app's services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from policies.models import Policy
from tenants.models import Business, Role
from tests.conftest import login_member
from tests.factories import PolicyFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.ADMIN)


def _policy(**changes: Any) -> dict[str, Any]:
    return {
        "deposit_kind": "none",
        "deposit_amount": "0",
        "deposit_percent": "0",
        "deposit_applies_to": "everyone",
        "deposit_deadline_hours": "",
        "cancellation_window_hours": "48",
        "late_cancellation_consequence": "nothing",
        "late_cancellation_fee_amount": "0",
        "late_cancellation_fee_percent": "0",
        "no_show_consequence": "nothing",
        "no_show_fee_amount": "0",
        "no_show_fee_percent": "0",
        "credit_days": "0",
        "reschedule_max": "",
        "reschedule_until_hours": "0",
        "reliability_threshold": "2",
        "reliability_window_months": "6",
        **changes,
    }


def test_an_admin_creates_the_default_policy_then_changes_the_window(
    admin: DjangoClient, business: Business
) -> None:
    page = admin.get("/settings/policies/").content.decode()
    assert "No default policy" in page
    response = admin.post(
        "/settings/policies/new/",
        _policy(
            deposit_kind="fixed",
            deposit_amount="15.00",
            late_cancellation_consequence="keep_deposit",
        ),
    )
    assert response.status_code == 302
    with scope(tenant=business):
        policy = Policy.objects.get(service=None)
    assert policy.deposit_amount == Decimal("15.00")
    response = admin.post(
        f"/settings/policies/{policy.pk}/",
        _policy(deposit_kind="fixed", deposit_amount="15.00", cancellation_window_hours="24"),
    )
    assert response.status_code == 302
    with scope(tenant=business):
        policy.refresh_from_db()
    assert policy.cancellation_window_hours == 24
    assert "24 hours before the start" in admin.get("/settings/policies/").content.decode()


def test_switching_the_deposit_off_clears_the_amount(
    admin: DjangoClient, business: Business
) -> None:
    with scope(tenant=business):
        policy = PolicyFactory(tenant=business, deposit_kind="fixed", deposit_amount=Decimal("10"))
    response = admin.post(f"/settings/policies/{policy.pk}/", _policy(deposit_amount="10.00"))
    assert response.status_code == 302
    with scope(tenant=business):
        policy.refresh_from_db()
    assert (policy.deposit_kind, policy.deposit_amount) == ("none", Decimal("0"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"deposit_kind": "fixed", "deposit_amount": "0"}, "deposit_amount"),
        ({"deposit_kind": "percent", "deposit_percent": "150"}, "deposit_percent"),
        ({"deposit_kind": "fixed", "deposit_amount": "10.001"}, "deposit_amount"),
        ({"cancellation_window_hours": "100000"}, "cancellation_window_hours"),
        ({"no_show_consequence": "fixed_fee"}, "no_show_fee_amount"),
        ({"reliability_window_months": "0"}, "reliability_window_months"),
        ({"cancellation_window_hours": "-1"}, "cancellation_window_hours"),
    ],
)
def test_a_bad_policy_is_a_field_error_and_changes_nothing(
    admin: DjangoClient, business: Business, changes: dict[str, str], field: str
) -> None:
    with scope(tenant=business):
        policy = PolicyFactory(tenant=business)
    response = admin.post(f"/settings/policies/{policy.pk}/", _policy(**changes))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    with scope(tenant=business):
        assert Policy.objects.values().get(pk=policy.pk)["cancellation_window_hours"] == 48
        assert Policy.objects.get(pk=policy.pk).deposit_kind == "none"


def test_a_service_gets_its_own_policy_once(admin: DjangoClient, business: Business) -> None:
    with scope(tenant=business):
        PolicyFactory(tenant=business)
        service = ServiceFactory(tenant=business, name="Implante", price=Decimal("900"))
    response = admin.post(
        "/settings/policies/new/", _policy(service=str(service.pk), cancellation_window_hours="72")
    )
    assert response.status_code == 302
    page = admin.get("/settings/policies/").content.decode()
    assert "Implante" in page and "72 hours before the start" in page
    # The service is no longer offered for a new policy; a second default is refused.
    response = admin.post("/settings/policies/new/", _policy(service=str(service.pk)))
    assert response.status_code == 400 and "service" in response.context["form"].errors
    response = admin.post("/settings/policies/new/", _policy())
    assert response.status_code == 400
    assert response.context["form"].errors["service"] == [
        "The business already has a default policy."
    ]
