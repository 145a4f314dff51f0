"""`/api/v1/team/` and `/api/v1/api-keys/`: who gets into the business, for admins only,
through the same services as the settings pages; a key never gives access."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client as DjangoClient
from django_scopes import scope

from tenants.models import ApiKey, ApiKeyRole, Membership, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.factories import MembershipFactory
from tests.test_tenant_isolation import NOW, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    with time_machine.travel(NOW, tick=False):
        return World("OURS")


def _key(world: World, role: str = ApiKeyRole.ADMIN) -> dict[str, Any]:
    _row, raw = api_key_create(tenant=world.business, name=f"{role} key", role=role)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(http: DjangoClient, url: str, body: Any = None, **headers: Any) -> Any:
    return http.post(url, body or {}, content_type="application/json", **headers)


# --- Team --------------------------------------------------------------------------------


def test_an_admin_lists_the_team_with_roles_and_pending_invitations(
    client: DjangoClient, world: World
) -> None:
    login_member(client, world.business, Role.ADMIN)
    rows = client.get("/api/v1/team/").json()["results"]
    member = next(row for row in rows if row["id"] == world.membership.pk)
    assert member["role"] == "receptionist" and member["is_active"] is True
    assert member["full_name"] == "OURS member" and "password" not in member
    only_admins = client.get("/api/v1/team/", {"role": "admin"}).json()["results"]
    assert [row["role"] for row in only_admins] == ["admin"]


def test_an_admin_invites_someone_and_the_email_goes_after_the_commit(
    client: DjangoClient, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    login_member(client, world.business, Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, "/api/v1/team/", {"email": "Nuria@Example.com", "role": "admin"})
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "nuria@example.com"
    assert response.json()["invitation_pending"] is True
    assert [message.to for message in mail.outbox] == [["nuria@example.com"]]
    again = _post(client, "/api/v1/team/", {"email": "nuria@example.com", "role": "admin"})
    assert again.status_code == 400
    assert again.json()["code"] == "invalid" and "email" in again.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "role": "admin"}, "email"),
        ({"email": 7, "role": "admin"}, "email"),
        ({"email": "a\x07@example.com", "role": "admin"}, "email"),
        ({"email": "a@example.com", "role": "boss"}, "role"),
        ({"email": "a@example.com"}, "role"),
    ],
)
def test_a_bad_invitation_is_a_400_naming_the_field(
    client: DjangoClient, world: World, body: dict[str, Any], field: str
) -> None:
    login_member(client, world.business, Role.OWNER)
    response = _post(client, "/api/v1/team/", body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    with scope(tenant=world.business):
        assert not Membership.objects.filter(user__email="a@example.com").exists()


def test_only_an_owner_makes_or_touches_an_owner(client: DjangoClient, world: World) -> None:
    with scope(tenant=world.business):
        owner = MembershipFactory(tenant=world.business, role=Role.OWNER)
    login_member(client, world.business, Role.ADMIN)
    invite = _post(client, "/api/v1/team/", {"email": "boss@example.com", "role": "owner"})
    promote = _post(client, f"/api/v1/team/{world.membership.pk}/role/", {"role": "owner"})
    demote = _post(client, f"/api/v1/team/{owner.pk}/role/", {"role": "provider"})
    deactivate = _post(client, f"/api/v1/team/{owner.pk}/deactivate/")
    for response in (invite, promote, demote, deactivate):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"
    with scope(tenant=world.business):
        owner.refresh_from_db()
        assert owner.role == Role.OWNER and owner.is_active
        assert Membership.objects.get(pk=world.membership.pk).role == Role.RECEPTIONIST


def test_an_owner_changes_roles_but_the_business_keeps_an_owner(
    client: DjangoClient, world: World
) -> None:
    login_member(client, world.business, Role.OWNER)
    promoted = _post(client, f"/api/v1/team/{world.membership.pk}/role/", {"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    with scope(tenant=world.business):
        me = Membership.objects.get(tenant=world.business, role=Role.OWNER)
    refused = _post(client, f"/api/v1/team/{me.pk}/role/", {"role": "admin"})
    assert refused.status_code == 400
    assert "role" in refused.json()["errors"]
    yourself = _post(client, f"/api/v1/team/{me.pk}/deactivate/")
    assert yourself.status_code == 400 and yourself.json()["code"] == "invalid"


def test_deactivating_and_reactivating_a_member(client: DjangoClient, world: World) -> None:
    login_member(client, world.business, Role.ADMIN)
    url = f"/api/v1/team/{world.membership.pk}/"
    assert _post(client, url + "deactivate/").json()["is_active"] is False
    assert client.get("/api/v1/team/", {"active": "false"}).json()["results"][0]["id"] == (
        world.membership.pk
    )
    assert _post(client, url + "reactivate/").json()["is_active"] is True


def test_an_admin_key_takes_access_away_but_never_gives_it(
    client: DjangoClient, world: World
) -> None:
    auth = _key(world)
    url = f"/api/v1/team/{world.membership.pk}/"
    raised = _post(client, url + "role/", {"role": "admin"}, **auth)
    assert raised.status_code == 403 and raised.json()["code"] == "permission_denied"
    lowered = _post(client, url + "role/", {"role": "provider"}, **auth)
    assert lowered.status_code == 200 and lowered.json()["role"] == "provider"
    assert _post(client, url + "deactivate/", **auth).json()["is_active"] is False
    assert _post(client, url + "reactivate/", **auth).status_code == 403
    invite = _post(client, "/api/v1/team/", {"email": "x@example.com", "role": "admin"}, **auth)
    assert invite.status_code == 403


@pytest.mark.parametrize("role", [ApiKeyRole.RECEPTIONIST, ApiKeyRole.READ_ONLY])
def test_lower_keys_do_not_even_see_the_team_or_the_keys(
    client: DjangoClient, world: World, role: str
) -> None:
    auth = _key(world, role)
    for url in ("/api/v1/team/", "/api/v1/api-keys/", f"/api/v1/api-keys/{world.api_key.pk}/"):
        response = client.get(url, **auth)
        assert response.status_code == 403
        assert b"OURS" not in response.content


# --- API keys ----------------------------------------------------------------------------


def test_a_new_key_is_shown_once_stored_hashed_and_works(
    client: DjangoClient, world: World
) -> None:
    login_member(client, world.business, Role.ADMIN)
    response = _post(client, "/api/v1/api-keys/", {"name": "Widget", "role": "receptionist"})
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    created = response.json()
    raw = created["key"]
    assert raw.startswith(created["prefix"]) and created["role"] == "receptionist"
    assert created["created_by"] is not None
    with scope(tenant=world.business):
        stored = ApiKey.objects.get(pk=created["id"])
    assert stored.key_hash == ApiKey.hash_key(raw)
    # Never shown again: not in the list, not in the key's own page.
    listing = client.get("/api/v1/api-keys/")
    one = client.get(f"/api/v1/api-keys/{created['id']}/")
    assert raw.encode() not in listing.content and raw.encode() not in one.content
    assert "key" not in one.json()
    client.logout()
    assert client.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_a_revoked_key_fails_at_once(client: DjangoClient, world: World) -> None:
    _row, raw = api_key_create(tenant=world.business, name="leaked", role=ApiKeyRole.ADMIN)
    with scope(tenant=world.business):
        leaked = ApiKey.objects.get(name="leaked")
    revoked = _post(
        client, f"/api/v1/api-keys/{leaked.pk}/revoke/", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    # A key may revoke itself (a leak noticed by the program that holds it).
    assert revoked.status_code == 200
    assert revoked.json()["is_active"] is False and revoked.json()["revoked_at"]
    after = client.get("/api/v1/clients/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert after.status_code == 401
    listed = client.get(
        "/api/v1/api-keys/", {"active": "false"}, HTTP_AUTHORIZATION=f"Bearer {world.raw_key}"
    ).json()["results"]
    assert [row["id"] for row in listed] == [leaked.pk]
    again = _post(
        client,
        f"/api/v1/api-keys/{leaked.pk}/revoke/",
        HTTP_AUTHORIZATION=f"Bearer {world.raw_key}",
    )
    assert again.status_code == 200  # revoking a revoked key changes nothing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "role": "admin"}, "name"),
        ({"name": "x" * 101, "role": "admin"}, "name"),
        ({"name": "bell\x07", "role": "admin"}, "name"),
        ({"name": 12, "role": "admin"}, "name"),
        ({"name": "Widget", "role": "owner"}, "role"),
    ],
)
def test_a_bad_key_is_a_400_naming_the_field(
    client: DjangoClient, world: World, body: dict[str, Any], field: str
) -> None:
    login_member(client, world.business, Role.OWNER)
    response = _post(client, "/api/v1/api-keys/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]
    with scope(tenant=world.business):
        assert ApiKey.objects.count() == 1


def test_a_receptionist_signed_in_cannot_create_a_key(client: DjangoClient, world: World) -> None:
    login_member(client, world.business, Role.RECEPTIONIST)
    response = _post(client, "/api/v1/api-keys/", {"name": "Mine", "role": "admin"})
    assert response.status_code == 403
    with scope(tenant=world.business):
        assert ApiKey.objects.count() == 1


def test_another_business_keys_and_members_are_not_found(
    client: DjangoClient, world: World
) -> None:
    with time_machine.travel(NOW, tick=False):
        theirs = World("THEIRS")
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {world.raw_key}"}
    assert _post(client, f"/api/v1/api-keys/{theirs.api_key.pk}/revoke/", **auth).status_code == 404
    assert client.get(f"/api/v1/team/{theirs.membership.pk}/", **auth).status_code == 404
    with scope(tenant=theirs.business):
        assert ApiKey.objects.get(pk=theirs.api_key.pk).revoked_at is None


# --- The business's profile and booking rules ---------------------------------------------


def test_an_admin_changes_the_business_profile(client: DjangoClient, world: World) -> None:
    auth = _key(world)
    response = client.patch(
        "/api/v1/business/",
        {"name": "Renamed", "sms_quiet_start": "22:00"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed" and response.json()["sms_quiet_start"] == "22:00:00"
    assert response.json()["slug"] == world.business.slug


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"currency": "EURO"}, "currency"),
        ({"name": "tab\x0bbed"}, "name"),
        ({"name": ""}, "name"),
        ({"sms_quiet_start": "25:00"}, "sms_quiet_start"),
    ],
)
def test_a_bad_profile_is_a_400_and_changes_nothing(
    client: DjangoClient, world: World, body: dict[str, Any], field: str
) -> None:
    response = client.patch(
        "/api/v1/business/", body, content_type="application/json", **_key(world)
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    world.business.refresh_from_db()
    assert world.business.name == "OURS business"


def test_booking_rules_are_read_by_all_and_changed_by_admins(
    client: DjangoClient, world: World
) -> None:
    read = client.get("/api/v1/booking-rules/", **_key(world, ApiKeyRole.READ_ONLY))
    assert read.status_code == 200 and set(read.json()) == {
        "min_notice_minutes",
        "max_advance_days",
        "slot_step_minutes",
    }
    refused = client.patch(
        "/api/v1/booking-rules/",
        {"slot_step_minutes": 30},
        content_type="application/json",
        **_key(world, ApiKeyRole.RECEPTIONIST),
    )
    assert refused.status_code == 403
    changed = client.patch(
        "/api/v1/booking-rules/",
        {"slot_step_minutes": 30},
        content_type="application/json",
        **_key(world),
    )
    assert changed.status_code == 200 and changed.json()["slot_step_minutes"] == 30
    assert client.get("/api/v1/booking-rules/", **_key(world)).json() == changed.json()
    for bad in ({"slot_step_minutes": 1}, {"max_advance_days": 10**9}, {"min_notice_minutes": -1}):
        response = client.patch(
            "/api/v1/booking-rules/", bad, content_type="application/json", **_key(world)
        )
        assert response.status_code == 400 and set(response.json()["errors"]) == set(bad)
