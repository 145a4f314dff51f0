"""Every browser page x receptionist and provider, with their own business's ids: refused
(403) exactly where the page is for admins, and nothing changes.

The admin pages are the settings and the dashboard's DASHBOARD_ADMIN_ONLY; a new page lands in
one list or the other, or this test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.models import Role
from tests.conftest import login_member
from tests.test_tenant_isolation import (
    DASHBOARD_ADMIN_ONLY,
    DASHBOARD_FOR_PROVIDERS,
    DASHBOARD_OBJECTS,
    NOW,
    SETTINGS_OBJECTS,
    World,
    _dashboard_snapshot,
    _settings_snapshot,
)

pytestmark = pytest.mark.django_db


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


PAGES = sorted(
    r for r in _routes(get_resolver().url_patterns) if r.startswith(("dashboard/", "settings/"))
)
ADMIN_PAGES = {r for r in PAGES if r.startswith("settings/")} | DASHBOARD_ADMIN_ONLY


def _url(route: str, world: World) -> str:
    objects = {**SETTINGS_OBJECTS, **DASHBOARD_OBJECTS}
    if "<int:pk>" in route:
        kind = objects[route][0]
        route = route.replace("<int:pk>", str(world.id_of(kind)))
    return "/" + route


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.PROVIDER])
@pytest.mark.parametrize("route", PAGES)
def test_admin_pages_refuse_lower_roles_and_only_those(route: str, role: str) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        client = DjangoClient()
        login_member(client, world.business, role)
        before = (_settings_snapshot(world), _dashboard_snapshot(world))
        url = _url(route, world)
        statuses = {
            method: getattr(client, method)(url, {"confirm": "yes", "role": "owner"}).status_code
            for method in ("get", "post")
        }
        refused = {method for method, code in statuses.items() if code == 403}
        if route in ADMIN_PAGES:
            # A POST-only page may say 405 to a GET before it asks for the role.
            assert statuses["post"] == 403 and statuses["get"] in {403, 405}, statuses
            assert (_settings_snapshot(world), _dashboard_snapshot(world)) == before
        elif role == Role.RECEPTIONIST or route in DASHBOARD_FOR_PROVIDERS:
            assert refused == set(), statuses  # the front desk's own pages
        else:
            assert refused == {"get", "post"}, statuses  # providers: their own schedule only


@pytest.mark.parametrize("route", sorted(ADMIN_PAGES))
def test_admins_open_the_admin_pages(route: str) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        client = DjangoClient()
        login_member(client, world.business, Role.ADMIN)
        response = client.get(_url(route, world))
    assert response.status_code in {200, 405}, response.status_code
