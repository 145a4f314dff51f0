"""Every API route x every write method x each role below admin: refused where it must be.

The table below is exact: a route whose writes a receptionist may not make must be listed,
and a listed one must refuse them, so a new endpoint cannot silently pick the wrong rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.models import ApiKeyRole, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.test_tenant_isolation import NOW, OBJECTS, World

pytestmark = pytest.mark.django_db

WRITES = ("post", "put", "patch", "delete")
PUBLIC = {"api/v1/schema/", "api/v1/docs/"}

# Who gets into the business: owners and admins only, even to read.
TEAM_AND_KEYS = {
    "api/v1/team/",
    "api/v1/team/<int:pk>/",
    "api/v1/team/<int:pk>/role/",
    "api/v1/team/<int:pk>/deactivate/",
    "api/v1/team/<int:pk>/reactivate/",
    "api/v1/api-keys/",
    "api/v1/api-keys/<int:pk>/",
    "api/v1/api-keys/<int:pk>/revoke/",
}
# Routes where only owners, admins and admin keys write (receptionists and providers: 403 to
# every write method, before DRF even looks for a handler).
ADMIN_ONLY = {
    "api/v1/business/",
    "api/v1/booking-rules/",
    "api/v1/locations/",
    "api/v1/locations/<int:pk>/",
    "api/v1/services/",
    "api/v1/services/<int:pk>/",
    "api/v1/staff/",
    "api/v1/staff/<int:pk>/",
    "api/v1/working-hours/",
    "api/v1/working-hours/<int:pk>/",
    "api/v1/reminder-rules/",
    "api/v1/reminder-rules/<int:pk>/",
    "api/v1/reminder-rules/<int:pk>/preview/",
    "api/v1/reminder-rules/preview/",
    "api/v1/policies/",
    "api/v1/policies/<int:pk>/",
    "api/v1/appointments/<int:pk>/policy/waive-fee/",
    "api/v1/appointments/<int:pk>/policy/keep-credit/",
    "api/v1/clients/<int:pk>/export/",
    "api/v1/clients/<int:pk>/erase/",
    *(
        "api/v1/webhook-endpoints/",
        "api/v1/webhook-endpoints/<int:pk>/",
        "api/v1/webhook-endpoints/<int:pk>/rotate-secret/",
        "api/v1/webhook-endpoints/<int:pk>/test/",
        "api/v1/webhook-endpoints/<int:pk>/deliveries/",
    ),
    *TEAM_AND_KEYS,
}
# Of those, routes with one write only (the others are 405 for everyone, after the role check
# passes, so receptionists see 403 on that one).
ONE_WRITE = {
    "api/v1/appointments/<int:pk>/policy/waive-fee/",
    "api/v1/appointments/<int:pk>/policy/keep-credit/",
}
# Routes only admins may even read (a client's whole personal data; the webhook endpoints,
# whose targets and deliveries are integration secrets).
ADMIN_ONLY_READS = {
    "api/v1/clients/<int:pk>/export/",
    "api/v1/clients/<int:pk>/erase/",
    *(r for r in ADMIN_ONLY if r.startswith("api/v1/webhook-endpoints/")),
    *TEAM_AND_KEYS,
}
# Writes that give access (a new key, an invitation, a member taken back): a person signed in
# makes them, never a key, not even an admin key, so a leaked key cannot outlive its revocation.
PEOPLE_ONLY_WRITES = {
    "api/v1/api-keys/": "post",
    "api/v1/team/": "post",
    "api/v1/team/<int:pk>/reactivate/": "post",
}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


API_ROUTES = sorted(
    r for r in _routes(get_resolver().url_patterns) if r.startswith("api/") and r not in PUBLIC
)


def _url(route: str, world: World) -> str:
    if "<int:pk>" in route:
        kind, _methods = OBJECTS[route]
        route = route.replace("<int:pk>", str(world.id_of(kind)))
    return "/" + route


def _as(role: str, world: World) -> tuple[DjangoClient, dict[str, Any]]:
    client = DjangoClient()
    if role.endswith("_key"):
        _key, raw = api_key_create(tenant=world.business, name=role, role=role.removesuffix("_key"))
        return client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    login_member(client, world.business, role)
    return client, {}


def test_the_table_names_real_routes() -> None:
    assert ADMIN_ONLY | ADMIN_ONLY_READS <= set(API_ROUTES)
    assert ADMIN_ONLY_READS <= ADMIN_ONLY


@pytest.mark.parametrize("route", API_ROUTES)
def test_a_read_only_key_can_only_read(route: str) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        http, headers = _as(f"{ApiKeyRole.READ_ONLY}_key", world)
        url = _url(route, world)
        for method in WRITES:
            response = getattr(http, method)(url, {}, content_type="application/json", **headers)
            assert response.status_code == 403, (method, url, response.status_code)
            assert response.json()["code"] == "permission_denied"
        response = http.get(url, **headers)
    if route in ADMIN_ONLY_READS:
        assert response.status_code == 403
    else:
        assert response.status_code in {200, 400, 405}, (url, response.status_code)


@pytest.mark.parametrize("role", [f"{ApiKeyRole.RECEPTIONIST}_key", Role.RECEPTIONIST])
@pytest.mark.parametrize("route", API_ROUTES)
def test_receptionists_are_refused_exactly_the_admin_only_writes(route: str, role: str) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        http, headers = _as(role, world)
        url = _url(route, world)
        refused = set()
        for method in WRITES:
            response = getattr(http, method)(url, {}, content_type="application/json", **headers)
            assert response.status_code != 500, (method, url)
            if response.status_code == 403:
                refused.add(method)
        read = http.get(url, **headers).status_code
    expected = ({"post"} if route in ONE_WRITE else set(WRITES)) if route in ADMIN_ONLY else set()
    assert refused == expected
    assert (read == 403) == (route in ADMIN_ONLY_READS), read


@pytest.mark.parametrize("route", API_ROUTES)
def test_providers_make_no_writes_through_the_api(route: str) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        http, headers = _as(Role.PROVIDER, world)
        url = _url(route, world)
        for method in WRITES:
            response = getattr(http, method)(url, {}, content_type="application/json", **headers)
            # 405: the route has no such write for anyone.
            assert response.status_code in {403, 405}, (method, url, response.status_code)


# The first write each admin-only route really has (an admin passes the role check).
ADMIN_WRITE: dict[str, str] = {
    route: "post"
    for route in ADMIN_ONLY
    if not route.endswith("<int:pk>/") or route.endswith(("erase/", "waive-fee/", "keep-credit/"))
}
ADMIN_WRITE.update(
    {
        route: "patch"
        for route in ADMIN_ONLY
        if route.endswith("<int:pk>/") and route not in ADMIN_WRITE
    }
)
ADMIN_WRITE.pop("api/v1/clients/<int:pk>/export/")
ADMIN_WRITE.pop("api/v1/reminder-rules/<int:pk>/preview/")


@pytest.mark.parametrize("route", sorted(ADMIN_WRITE))
def test_admin_keys_and_admins_pass_the_admin_only_writes(route: str) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        for role in (f"{ApiKeyRole.ADMIN}_key", Role.ADMIN, Role.OWNER):
            http, headers = _as(role, world)
            method = ADMIN_WRITE[route]
            response = getattr(http, method)(
                _url(route, world), {}, content_type="application/json", **headers
            )
            if role.endswith("_key") and route in PEOPLE_ONLY_WRITES:
                assert response.status_code == 403, (role, method, response.status_code)
                continue
            assert response.status_code not in {401, 403, 500}, (role, method, response.status_code)


@pytest.mark.parametrize("route", sorted(PEOPLE_ONLY_WRITES))
def test_no_key_gives_access_not_even_an_admin_key(route: str) -> None:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        url = _url(route, world)
        body = {"name": "Successor", "role": "admin", "email": "new@example.com"}
        for role in ApiKeyRole:
            http, headers = _as(f"{role}_key", world)
            response = http.post(url, body, content_type="application/json", **headers)
            assert response.status_code == 403, (role, response.status_code)
            assert response.json()["code"] == "permission_denied"
        http, headers = _as(Role.ADMIN, world)
        response = http.post(url, body, content_type="application/json", **headers)
        assert response.status_code in {200, 201}, response.content[:300]
