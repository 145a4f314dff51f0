"""Sessions: a new key at login, logout on the server, idle and absolute timeouts, and a
deactivated person locked out at their next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client as DjangoClient
from django.urls import reverse

from tenants.models import Business, Membership
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
HOME = "/dashboard/"


def _log_in(client: DjangoClient, business: Business) -> Any:
    user = UserFactory(email="desk@example.com")
    MembershipFactory(tenant=business, user=user)
    response = client.post(
        reverse("login"), {"username": "desk@example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    return user


def _logged_in(client: DjangoClient) -> bool:
    response = client.get(HOME)
    return response.status_code == 200


def test_a_login_gets_a_new_session_key(client: DjangoClient, business: Business) -> None:
    client.get(reverse("login"))
    client.session["x"] = 1  # an anonymous session exists before logging in
    before = client.session.session_key
    _log_in(client, business)
    assert client.session.session_key != before


def test_logout_ends_the_session_on_the_server(client: DjangoClient, business: Business) -> None:
    _log_in(client, business)
    stolen = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=stolen).exists()
    thief = DjangoClient()
    thief.cookies["sessionid"] = stolen
    assert thief.get(HOME).status_code == 302


def test_an_idle_session_ends(client: DjangoClient, business: Business, settings: Any) -> None:
    settings.PUNTUAL_SESSION_IDLE_TIMEOUT = 30 * 60
    with time_machine.travel(T0, tick=False):
        _log_in(client, business)
        assert _logged_in(client)
    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert _logged_in(client)  # activity moves the idle clock
    with time_machine.travel(T0 + timedelta(minutes=58), tick=False):
        assert _logged_in(client)
    with time_machine.travel(T0 + timedelta(minutes=89), tick=False):
        response = client.get(HOME)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_session_ends_after_the_absolute_timeout_however_active(
    client: DjangoClient, business: Business, settings: Any
) -> None:
    settings.PUNTUAL_SESSION_IDLE_TIMEOUT = 3600
    settings.PUNTUAL_SESSION_ABSOLUTE_TIMEOUT = 4 * 3600
    with time_machine.travel(T0, tick=False):
        _log_in(client, business)
        assert _logged_in(client)
    for minutes in range(50, 4 * 60, 50):
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            assert _logged_in(client), minutes
    with time_machine.travel(T0 + timedelta(hours=4, minutes=1), tick=False):
        old_key = client.session.session_key
        assert not _logged_in(client)
        assert not Session.objects.filter(session_key=old_key).exists()


def test_the_idle_clock_is_written_at_most_once_a_minute(
    client: DjangoClient, business: Business
) -> None:
    with time_machine.travel(T0, tick=False):
        _log_in(client, business)
        client.get(HOME)
        key = client.session.session_key
        first = Session.objects.get(session_key=key).session_data
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        client.get(HOME)
        assert Session.objects.get(session_key=key).session_data == first
    with time_machine.travel(T0 + timedelta(seconds=61), tick=False):
        client.get(HOME)
        assert Session.objects.get(session_key=key).session_data != first


def test_a_deactivated_user_loses_their_session_at_once(
    client: DjangoClient, business: Business
) -> None:
    user = _log_in(client, business)
    assert _logged_in(client)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get("/api/v1/business/").status_code == 401


def test_a_deactivated_member_loses_the_business_at_once(
    client: DjangoClient, business: Business
) -> None:
    user = _log_in(client, business)
    assert _logged_in(client)
    from django_scopes import scopes_disabled

    with scopes_disabled():
        Membership.objects.filter(user=user).update(is_active=False)
    assert client.get(HOME).status_code == 403
    assert client.get("/api/v1/business/").status_code == 403
    assert client.get("/api/v1/clients/").status_code == 403
