"""The staff's waitlist page: who waits, the offers sent, the slots refilled."""

from __future__ import annotations

import pytest
from django.test import Client as DjangoClient
from django_scopes import scope

from selfservice.models import WaitlistEntry, WaitlistSource, WaitlistStatus
from selfservice.services.waitlist import waitlist_join
from tenants.models import Role
from tests.conftest import login_member
from tests.factories import ClientFactory
from tests.selfservice.conftest import NOW, Shop

pytestmark = pytest.mark.usefixtures("frozen")


def _entry(shop: Shop, name: str = "Pilar") -> WaitlistEntry:
    with scope(tenant=shop.business):
        return waitlist_join(
            tenant=shop.business,
            client=ClientFactory(tenant=shop.business, name=name),
            service=shop.service,
            source=WaitlistSource.ONLINE,
            now=NOW,
        )


def test_the_front_desk_sees_the_waitlist_and_removes_a_client(
    client: DjangoClient, shop: Shop
) -> None:
    entry = _entry(shop)
    login_member(client, shop.business, Role.RECEPTIONIST)
    page = client.get("/dashboard/waitlist/")
    body = page.content.decode()
    assert page.status_code == 200 and "Pilar" in body and "Offers sent" in body
    assert "0 refilled from the waitlist" in body
    response = client.post(f"/dashboard/waitlist/{entry.pk}/remove/")
    assert response.status_code == 302
    with scope(tenant=shop.business):
        entry.refresh_from_db()
    assert entry.status == WaitlistStatus.REMOVED
    assert client.post(f"/dashboard/waitlist/{entry.pk}/remove/").status_code == 404


def test_providers_and_visitors_are_refused(client: DjangoClient, shop: Shop) -> None:
    entry = _entry(shop)
    assert client.get("/dashboard/waitlist/").status_code == 302  # to the login page
    login_member(client, shop.business, Role.PROVIDER)
    assert client.get("/dashboard/waitlist/").status_code == 403
    assert client.get("/dashboard/surveys/").status_code == 403
    assert client.post(f"/dashboard/waitlist/{entry.pk}/remove/").status_code == 403
    with scope(tenant=shop.business):
        assert WaitlistEntry.objects.get().status == WaitlistStatus.WAITING
