"""No cross-tenant access: every route is in this matrix, and another business's ids are 404.

Adding a URL without adding it here fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scope

from appointments.models import Appointment, Source, TimeOff, WorkingHours
from appointments.services import Actor, appointment_book
from tenants.models import ApiKeyRole, Business, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    ServiceFactory,
    staff_offering,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 28, 8, 0, tzinfo=UTC)

# Routes that belong to no business (or to whoever is logged in, resolved by the middleware).
NOT_TENANT_DATA = {
    "",
    "healthz",
    "accounts/login/",
    "accounts/logout/",
    "accounts/password_change/",
    "accounts/password_change/done/",
    "accounts/password_reset/",
    "accounts/password_reset/done/",
    "accounts/reset/<uidb64>/<token>/",
    "accounts/reset/done/",
    "i18n/setlang/",
    "switch-business/",
    "api/v1/schema/",
    "api/v1/docs/",
}
# Pages and collections of the active business: they must never show another business's data.
COLLECTIONS = {
    "dashboard/": None,
    "api/v1/business/": None,
    "api/v1/availability/": "availability",
    "api/v1/locations/": None,
    "api/v1/services/": None,
    "api/v1/staff/": None,
    "api/v1/working-hours/": None,
    "api/v1/time-off/": None,
    "api/v1/clients/": None,
    "api/v1/appointments/": None,
}
# Collections whose rows carry the world's marker in a name (proves the list is not just empty).
NAMED_COLLECTIONS = {
    "api/v1/business/",
    "api/v1/locations/",
    "api/v1/services/",
    "api/v1/staff/",
    "api/v1/time-off/",
    "api/v1/clients/",
    "api/v1/appointments/",
}
# One object each: the route, the kind of object its <pk> names, and the methods to try.
OBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "api/v1/locations/<int:pk>/": ("location", ("get", "patch", "delete")),
    "api/v1/services/<int:pk>/": ("service", ("get", "patch", "delete")),
    "api/v1/staff/<int:pk>/": ("staff", ("get", "patch", "delete")),
    "api/v1/working-hours/<int:pk>/": ("hours", ("get", "patch", "delete")),
    "api/v1/time-off/<int:pk>/": ("time_off", ("get", "patch", "delete")),
    "api/v1/clients/<int:pk>/": ("client", ("get", "patch", "delete")),
    "api/v1/appointments/<int:pk>/": ("appointment", ("get",)),
    **{
        f"api/v1/appointments/<int:pk>/{action}/": ("appointment", ("post",))
        for action in (
            "attend",
            "cancel",
            "check-in",
            "confirm",
            "finish",
            "no-show",
            "reschedule",
            "start",
        )
    },
}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_route_is_in_the_matrix() -> None:
    routes = {r for r in _routes(get_resolver().url_patterns) if not r.startswith("admin/")}
    assert routes == NOT_TENANT_DATA | set(COLLECTIONS) | set(OBJECTS)


class World:
    """A business with one of everything, named so its data is recognisable in any response."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.business = BusinessFactory(name=f"{marker} business")
        with scope(tenant=self.business):
            self.location = LocationFactory(tenant=self.business, name=f"{marker} location")
            self.service = ServiceFactory(tenant=self.business, name=f"{marker} service")
            self.staff = staff_offering(
                tenant=self.business,
                location=self.location,
                services=[self.service],
                display_name=f"{marker} staff",
            )
            self.hours = WorkingHours.objects.filter(staff=self.staff).first()
            self.time_off = TimeOff.objects.create(
                tenant=self.business,
                staff=self.staff,
                start=NOW + timedelta(days=20),
                end=NOW + timedelta(days=21),
                reason=f"{marker} holiday",
            )
            self.client = ClientFactory(tenant=self.business, name=f"{marker} client")
            monday = datetime.combine(date(2026, 6, 1), time(8), tzinfo=UTC)
            self.appointment: Appointment = appointment_book(
                tenant=self.business,
                location=self.location,
                staff=self.staff,
                service=self.service,
                client=self.client,
                start=monday,
                source=Source.DASHBOARD,
                actor=Actor.system(),
                now=NOW,
                notes=f"{marker} notes",
            )
            _, self.raw_key = api_key_create(tenant=self.business, name="k", role=ApiKeyRole.ADMIN)

    def id_of(self, kind: str) -> int:
        return int(getattr(self, kind).pk)


@pytest.fixture
def worlds() -> Iterator[tuple[World, World]]:
    with time_machine.travel(NOW, tick=False):
        yield World("OURS"), World("THEIRS")


ACTORS = ["owner", "receptionist", "provider", "api_key", "other_admin"]


def _as(
    actor: str, client: DjangoClient, ours: World, theirs: World
) -> tuple[DjangoClient, dict[str, Any], World]:
    """A client acting as `actor`, and the world whose ids it must NOT reach."""
    if actor == "api_key":
        return client, {"HTTP_AUTHORIZATION": f"Bearer {ours.raw_key}"}, theirs
    if actor == "other_admin":
        login_member(client, theirs.business, Role.ADMIN)
        return client, {}, ours
    login_member(
        client,
        ours.business,
        {"owner": Role.OWNER, "receptionist": Role.RECEPTIONIST, "provider": Role.PROVIDER}[actor],
    )
    return client, {}, theirs


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", sorted(OBJECTS))
def test_another_business_objects_are_404_for_every_actor(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http, headers, foreign = _as(actor, client, ours, theirs)
    kind, methods = OBJECTS[route]
    url = "/" + route.replace("<int:pk>", str(foreign.id_of(kind)))
    for method in methods:
        response = getattr(http, method)(url, {}, content_type="application/json", **headers)
        # A write the actor's role may never make is refused before any lookup (403 says
        # nothing about the id); everything else about a foreign id is "not found".
        refused_by_role = (
            response.status_code == 403
            and method != "get"
            and actor in {"receptionist", "provider"}
        )
        assert response.status_code == 404 or refused_by_role, (method, url, response.status_code)
        assert foreign.marker.encode() not in response.content
    with scope(tenant=foreign.business):
        appointment = Appointment.objects.get(pk=foreign.appointment.pk)
    assert appointment.status == "scheduled" and appointment.version == 1


@pytest.mark.parametrize("route", sorted(OBJECTS))
def test_anonymous_visitors_get_nothing(
    client: DjangoClient, worlds: tuple[World, World], route: str
) -> None:
    ours, _ = worlds
    kind, methods = OBJECTS[route]
    url = "/" + route.replace("<int:pk>", str(ours.id_of(kind)))
    for method in methods:
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code in {401, 403}, (method, url)
        assert ours.marker.encode() not in response.content


@pytest.mark.parametrize("actor", ["owner", "receptionist", "api_key", "other_admin"])
@pytest.mark.parametrize("route", sorted(COLLECTIONS))
def test_collections_show_only_the_actors_own_business(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http, headers, foreign = _as(actor, client, ours, theirs)
    own = theirs if foreign is ours else ours
    params: dict[str, Any] = {}
    if COLLECTIONS[route] == "availability":
        params = {
            "service": own.service.pk,
            "location": own.location.pk,
            "start": "2026-06-01",
            "end": "2026-06-02",
        }
    response = http.get("/" + route, params, **headers)
    if route == "dashboard/" and actor == "api_key":
        assert response.status_code == 302  # an API key is no browser login
        return
    assert response.status_code == 200, response.content[:300]
    assert foreign.marker.encode() not in response.content
    if route in NAMED_COLLECTIONS:
        assert own.marker.encode() in response.content


def test_availability_refuses_another_business_service_and_location(
    client: DjangoClient, worlds: tuple[World, World]
) -> None:
    ours, theirs = worlds
    params = {
        "service": theirs.service.pk,
        "location": theirs.location.pk,
        "start": "2026-06-01",
        "end": "2026-06-02",
    }
    response = client.get(
        "/api/v1/availability/", params, HTTP_AUTHORIZATION=f"Bearer {ours.raw_key}"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"service", "location"}


@pytest.mark.parametrize("route", sorted(COLLECTIONS))
def test_collections_refuse_anonymous_visitors(
    client: DjangoClient, worlds: tuple[World, World], route: str
) -> None:
    response = client.get("/" + route)
    assert response.status_code in {302, 401, 403}
    if response.status_code == 302:
        assert response["Location"].startswith("/accounts/login/")
    assert b"OURS" not in response.content and b"THEIRS" not in response.content


def test_other_business_ids_cannot_be_smuggled_into_our_writes(
    client: DjangoClient, worlds: tuple[World, World]
) -> None:
    ours, theirs = worlds
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {ours.raw_key}"}
    attempts = [
        (
            "/api/v1/staff/",
            {
                "display_name": "X",
                "services": [theirs.service.pk],
                "locations": [theirs.location.pk],
            },
        ),
        (
            "/api/v1/working-hours/",
            {
                "staff": theirs.staff.pk,
                "location": ours.location.pk,
                "weekday": 0,
                "start_time": "08:00",
                "end_time": "09:00",
            },
        ),
        (
            "/api/v1/time-off/",
            {
                "staff": theirs.staff.pk,
                "start": "2026-07-01T10:00:00Z",
                "end": "2026-07-01T12:00:00Z",
            },
        ),
        (
            "/api/v1/appointments/",
            {
                "service": ours.service.pk,
                "location": ours.location.pk,
                "staff": ours.staff.pk,
                "start": "2026-06-02T08:00:00Z",
                "client": theirs.client.pk,
            },
        ),
    ]
    for url, body in attempts:
        response = client.post(url, body, content_type="application/json", **auth)
        assert response.status_code == 400, (url, response.content)
    business: Business = theirs.business
    with scope(tenant=business):
        assert Appointment.objects.count() == 1
