"""Log in with an email, log out with a POST, reset a forgotten password by email."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client as DjangoClient
from django.urls import reverse

from tenants.models import Business
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_member_logs_in_with_email_and_password(client: DjangoClient, business: Business) -> None:
    user = UserFactory(email="desk@example.com")
    MembershipFactory(tenant=business, user=user)
    response = client.post(
        reverse("login"), {"username": "desk@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:home")
    assert client.get(reverse("dashboard:home")).status_code == 200


def test_a_login_gets_a_new_session_key(client: DjangoClient) -> None:
    UserFactory(email="desk@example.com")
    client.get(reverse("login"))
    client.cookies["sessionid"] = "attacker-chosen"
    client.post(reverse("login"), {"username": "desk@example.com", "password": DEFAULT_PASSWORD})
    assert client.cookies["sessionid"].value != "attacker-chosen"


def test_a_wrong_password_is_refused_with_a_clear_message(client: DjangoClient) -> None:
    UserFactory(email="desk@example.com")
    response = client.post(reverse("login"), {"username": "desk@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "correct email and password" in response.content.decode()


def test_logging_out_needs_a_post_and_ends_the_session(
    client: DjangoClient, business: Business
) -> None:
    user = UserFactory()
    MembershipFactory(tenant=business, user=user)
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard:home")).status_code == 302


def test_a_forgotten_password_is_reset_through_the_emailed_link(client: DjangoClient) -> None:
    UserFactory(email="desk@example.com")
    response = client.post(reverse("password_reset"), {"email": "desk@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", str(mail.outbox[0].body))
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    new_password = "another-long-password-42"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302
    assert client.login(username="desk@example.com", password=new_password)


def test_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(
    client: DjangoClient,
) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_the_reset_email_is_in_spanish_when_asked_in_spanish(client: DjangoClient) -> None:
    UserFactory(email="desk@example.com")
    client.post(reverse("password_reset"), {"email": "desk@example.com"}, HTTP_ACCEPT_LANGUAGE="es")
    assert "contraseña" in mail.outbox[0].subject


def test_a_member_changes_their_password_on_puntuals_own_page(
    client: DjangoClient, business: Business
) -> None:
    user = UserFactory()
    MembershipFactory(tenant=business, user=user)
    client.force_login(user)
    page = client.get(reverse("password_change"))
    assert "<h1>Change your password</h1>" in page.content.decode()
    new_password = "yet-another-password-77"
    response = client.post(
        reverse("password_change"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )
    assert response.status_code == 302
    assert "Your new password is in use" in client.get(response["Location"]).content.decode()
