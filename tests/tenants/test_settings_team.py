"""The team page: invitations by email, roles, deactivation, and the last owner."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client as DjangoClient
from django_scopes import scope

from tenants.models import Business, Membership, Role, User
from tests.conftest import login_member
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=False)


def _membership(business: Business, user: User) -> Membership:
    with scope(tenant=business):
        return Membership.objects.get(tenant=business, user=user)


@pytest.fixture
def owner(client: DjangoClient, business: Business) -> DjangoClient:
    return login_member(client, business, Role.OWNER, email="owner@example.com")


def test_inviting_someone_new_creates_an_account_and_emails_a_link_to_choose_a_password(
    owner: DjangoClient, business: Business, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = owner.post(
            "/settings/team/invite/", {"email": " Nueva@Example.com ", "role": "receptionist"}
        )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="nueva@example.com")
    assert not user.has_usable_password()
    assert _membership(business, user).role == Role.RECEPTIONIST
    [email] = mail.outbox
    assert email.to == ["nueva@example.com"]
    assert business.name in email.subject
    link = re.search(r"http\S+/accounts/reset/\S+/", str(email.body))
    assert link is not None
    # The link is Django's password reset: it lets the new member choose a password.
    path = link.group(0).split("://", 1)[1].split("/", 1)[1]
    anonymous = DjangoClient()
    response = anonymous.get("/" + path, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0]
    response = anonymous.post(
        form_url, {"new_password1": "un-secreto-largo-42", "new_password2": "un-secreto-largo-42"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("un-secreto-largo-42")


def test_inviting_an_existing_user_adds_them_without_touching_their_password(
    owner: DjangoClient, business: Business, django_capture_on_commit_callbacks: object
) -> None:
    someone = UserFactory(email="ya@example.com")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        owner.post("/settings/team/invite/", {"email": "ya@example.com", "role": "admin"})
    someone.refresh_from_db()
    assert someone.has_usable_password()
    assert _membership(business, someone).role == Role.ADMIN
    [email] = mail.outbox
    assert "/accounts/reset/" not in email.body and "/accounts/login/" in email.body


def test_inviting_an_active_member_again_is_a_field_error(
    owner: DjangoClient, business: Business
) -> None:
    response = owner.post("/settings/team/invite/", {"email": "owner@example.com", "role": "admin"})
    assert response.status_code == 400
    assert response.context["invite"].errors["email"] == [
        "This person is already a member of the team."
    ]
    response = owner.post("/settings/team/invite/", {"email": "nope", "role": "admin"})
    assert response.status_code == 400
    assert mail.outbox == []


def test_an_admin_cannot_make_an_owner(client: DjangoClient, business: Business) -> None:
    login_member(client, business, Role.ADMIN)
    response = client.post("/settings/team/invite/", {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 400
    assert "role" in response.context["invite"].errors
    member = MembershipFactory(tenant=business, role=Role.RECEPTIONIST)
    client.post(f"/settings/team/{member.pk}/role/", {"role": "owner"})
    member.refresh_from_db()
    assert member.role == Role.RECEPTIONIST
    owner = MembershipFactory(tenant=business, role=Role.OWNER)
    client.post(f"/settings/team/{owner.pk}/deactivate/")
    owner.refresh_from_db()
    assert owner.is_active


def test_roles_change_and_members_are_deactivated_and_reactivated(
    owner: DjangoClient, business: Business
) -> None:
    member = MembershipFactory(tenant=business, role=Role.RECEPTIONIST)
    assert owner.post(f"/settings/team/{member.pk}/role/", {"role": "admin"}).status_code == 302
    member.refresh_from_db()
    assert member.role == Role.ADMIN
    owner.post(f"/settings/team/{member.pk}/deactivate/")
    member.refresh_from_db()
    assert not member.is_active
    # Their login no longer reaches the business.
    them = DjangoClient()
    them.force_login(member.user)
    assert them.get("/settings/").status_code == 403
    owner.post(f"/settings/team/{member.pk}/reactivate/")
    member.refresh_from_db()
    assert member.is_active


def test_the_last_owner_cannot_be_demoted_or_deactivated(
    client: DjangoClient, business: Business
) -> None:
    me = login_member(client, business, Role.OWNER)
    with scope(tenant=business):
        mine = Membership.objects.get(tenant=business, role=Role.OWNER)
    response = me.post(f"/settings/team/{mine.pk}/role/", {"role": "admin"}, follow=True)
    assert "The business needs an owner" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.OWNER
    # With a second owner, one of them may step down.
    other = MembershipFactory(tenant=business, role=Role.OWNER)
    me.post(f"/settings/team/{other.pk}/role/", {"role": "admin"})
    other.refresh_from_db()
    assert other.role == Role.ADMIN
    response = me.post(f"/settings/team/{mine.pk}/deactivate/", follow=True)
    assert "You can&#x27;t deactivate yourself." in response.content.decode()


def test_the_team_page_lists_members_with_their_roles(
    owner: DjangoClient, business: Business
) -> None:
    MembershipFactory(tenant=business, role=Role.PROVIDER, user=UserFactory(email="p@example.com"))
    page = owner.get("/settings/team/").content.decode()
    assert "p@example.com" in page and "owner@example.com" in page
