"""The middleware finds the business of every request, and only that business is visible."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from tenants.models import ApiKey, ApiKeyRole, Business, Role
from tenants.services import api_key_create, api_key_revoke
from tests.conftest import login_member
from tests.factories import BusinessFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _key(business: Business, role: str = ApiKeyRole.ADMIN) -> tuple[ApiKey, str]:
    with scope(tenant=business):
        return api_key_create(tenant=business, name="test", role=role)


def test_an_anonymous_visitor_is_sent_to_the_login_page(client: DjangoClient) -> None:
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_member_works_on_their_business(client: DjangoClient, business: Business) -> None:
    login_member(client, business, Role.RECEPTIONIST)
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    assert response.context["business"] == business


def test_a_user_with_no_membership_is_told_so_and_sees_no_business(client: DjangoClient) -> None:
    client.force_login(UserFactory())
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 403
    assert response.context["business"] is None


def test_a_user_with_two_businesses_can_switch_between_them(client: DjangoClient) -> None:
    first, second = BusinessFactory(name="A first"), BusinessFactory(name="B second")
    user = UserFactory()
    MembershipFactory(tenant=first, user=user)
    MembershipFactory(tenant=second, user=user, role=Role.RECEPTIONIST)
    client.force_login(user)
    assert client.get(reverse("dashboard:home")).context["business"] == first

    response = client.post(reverse("switch_business"), {"business": second.pk})
    assert response.status_code == 302
    assert client.get(reverse("dashboard:home")).context["business"] == second


def test_switching_to_a_business_one_is_not_a_member_of_changes_nothing(
    client: DjangoClient, business: Business
) -> None:
    login_member(client, business)
    stranger = BusinessFactory()
    client.post(reverse("switch_business"), {"business": stranger.pk})
    assert client.get(reverse("dashboard:home")).context["business"] == business


def test_switching_business_needs_a_post(client: DjangoClient, business: Business) -> None:
    login_member(client, business)
    assert client.get(reverse("switch_business"), {"business": business.pk}).status_code == 405


def test_an_inactive_membership_gives_no_access(client: DjangoClient, business: Business) -> None:
    user = UserFactory()
    MembershipFactory(tenant=business, user=user, is_active=False)
    client.force_login(user)
    assert client.get(reverse("dashboard:home")).status_code == 403


def test_an_api_key_acts_for_its_own_business(client: DjangoClient, business: Business) -> None:
    _, raw = _key(business)
    response = client.get("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["slug"] == business.slug


def test_only_the_hash_of_a_key_is_stored(business: Business) -> None:
    key, raw = _key(business)
    key.refresh_from_db()
    assert raw not in {key.key_hash, key.lookup, key.name}
    assert key.key_hash == ApiKey.hash_key(raw)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer pnt_000000000000_wrong",
        "Bearer nonsense",
        "Bearer ",
        "Bearer pnt__x",
        "Bearer pnt_" + "a" * 40 + "_x",
    ],
)
def test_a_wrong_api_key_gets_401(client: DjangoClient, business: Business, header: str) -> None:
    response = client.get("/api/v1/business/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_wrong_api_key_does_not_fall_back_to_the_session(
    client: DjangoClient, business: Business
) -> None:
    login_member(client, business)
    response = client.get("/api/v1/business/", HTTP_AUTHORIZATION="Bearer pnt_000000000000_wrong")
    assert response.status_code == 401


def test_a_revoked_key_fails_at_once(client: DjangoClient, business: Business) -> None:
    key, raw = _key(business)
    assert client.get("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    with scope(tenant=business):
        api_key_revoke(api_key=key)
    assert client.get("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_a_key_with_a_valid_lookup_but_another_secret_is_refused(
    client: DjangoClient, business: Business
) -> None:
    _, raw = _key(business)
    forged = raw[: raw.rindex("_") + 1] + "x" * 43
    assert client.get("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401


def test_using_a_key_records_when_it_was_last_used(
    client: DjangoClient, business: Business
) -> None:
    key, raw = _key(business)
    before = timezone.now()
    client.get("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_at >= before


def test_a_read_only_key_may_read_but_not_write(client: DjangoClient, business: Business) -> None:
    _, raw = _key(business, ApiKeyRole.READ_ONLY)
    assert client.get("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert client.post("/api/v1/business/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 403


def test_the_api_answers_401_without_credentials(client: DjangoClient, business: Business) -> None:
    assert client.get("/api/v1/business/").status_code in {401, 403}


def test_a_logged_in_member_can_use_the_api_with_the_session(
    client: DjangoClient, business: Business
) -> None:
    login_member(client, business)
    assert client.get("/api/v1/business/").json()["slug"] == business.slug


def test_the_openapi_schema_is_served(client: DjangoClient, business: Business) -> None:
    _, raw = _key(business)
    response = client.get("/api/v1/schema/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert b"/api/v1/business/" in response.content
