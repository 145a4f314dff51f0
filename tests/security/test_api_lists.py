"""Every list endpoint of the router pages the same way: cursor pagination with
`{"next", "previous", "results"}`, `page_size`, stable order, and a clear 400 for a bad cursor."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django_scopes import scope

from appointments.models import Source, TimeOff
from appointments.services import Actor, appointment_book
from config.api_urls import router
from policies.models import Policy
from reminders.models import InboundMessage, Purpose, ReminderRule, RuleChannel
from tests.factories import ClientFactory, LocationFactory, PolicyFactory, ServiceFactory
from tests.test_tenant_isolation import NOW, World

pytestmark = pytest.mark.django_db

# Lists outside the router, paginated the same way (the route, and what names its object).
NESTED_LISTS = {
    "api/v1/clients/<int:pk>/ledger/": "client",
    "api/v1/clients/<int:pk>/messages/": "client",
    "api/v1/clients/<int:pk>/replies/": "client",
}


def _list_routes() -> list[str]:
    routes = []
    for prefix, viewset, _basename in router.registry:
        if hasattr(viewset, "list"):
            routes.append(f"api/v1/{prefix}/")
    return sorted(routes)


def _twice(world: World) -> None:
    """A second row of everything the lists show (World made one), so pages can split."""
    from datetime import timedelta

    from hooks.models import WebhookEndpoint
    from policies.models import LedgerEntry
    from reminders.models import MessageKind, OutboundMessage
    from selfservice.models import SurveyInvitation, WaitlistOffer, WaitlistSource, hash_token
    from selfservice.services.waitlist import waitlist_join
    from tenants.models import ApiKeyRole, Role
    from tenants.services import api_key_create
    from tests.factories import MembershipFactory

    business = world.business
    with scope(tenant=business):
        location = LocationFactory(tenant=business, name="Second location")
        service = ServiceFactory(tenant=business, name="Second service")
        from tests.factories import staff_offering

        staff = staff_offering(
            tenant=business, location=location, services=[service], display_name="Second staff"
        )
        TimeOff.objects.create(
            tenant=business,
            staff=staff,
            start=NOW + timedelta(days=30),
            end=NOW + timedelta(days=31),
        )
        client = ClientFactory(tenant=business, name="Second client")
        appointment = appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=client,
            start=world.appointment.start + timedelta(days=1),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=NOW,
        )
        InboundMessage.objects.create(
            tenant=business,
            provider_id="SM-second",
            from_number=client.phone,
            body="?",
            client=client,
            appointment=appointment,
            outcome=InboundMessage.Outcome.NEEDS_HUMAN,
        )
        ReminderRule.objects.create(
            tenant=business,
            name="Second rule",
            purpose=Purpose.REMINDER,
            channel=RuleChannel.SMS,
            offset_minutes=120,
        )
        if Policy.objects.count() < 2:
            PolicyFactory(tenant=business, service=service)
        entry = waitlist_join(
            tenant=business,
            client=client,
            service=service,
            source=WaitlistSource.STAFF,
            now=NOW,
        )
        WaitlistOffer.objects.create(
            tenant=business,
            slot=world.freed_slot,
            entry=entry,
            token_hash=hash_token("second-offer"),
            send_at=NOW,
            expires_at=NOW + timedelta(days=30),
        )
        SurveyInvitation.objects.create(
            tenant=business,
            appointment=appointment,
            token_hash=hash_token("second-survey"),
            send_at=NOW,
            rating=4,
            answered_at=NOW,
        )
        MembershipFactory(tenant=business, role=Role.ADMIN)
        api_key_create(tenant=business, name="Second key", role=ApiKeyRole.READ_ONLY)
        # The first client's second message and second reply.
        OutboundMessage.objects.create(
            tenant=business,
            appointment=world.appointment,
            kind=MessageKind.RULE,
            dedupe_key="second",
            channel="sms",
            to=world.client.phone,
            send_at=NOW + timedelta(hours=1),
        )
        InboundMessage.objects.create(
            tenant=business,
            provider_id="SM-second-of-first",
            from_number=world.client.phone,
            body="?",
            client=world.client,
            outcome=InboundMessage.Outcome.NEEDS_HUMAN,
        )
        WebhookEndpoint.objects.create(
            tenant=business,
            url="https://hooks.example/second",
            description="Second hook",
            events=["appointment.created"],
            secret="whsec_second",
        )
        for _ in range(2):
            LedgerEntry.objects.create(
                tenant=business,
                client=world.client,
                kind="deposit_paid",
                amount=1,
                currency="EUR",
                actor_type="system",
                channel="system",
            )


@pytest.fixture
def world() -> World:
    with time_machine.travel(NOW, tick=False):
        world = World("OURS")
        _twice(world)
        return world


def _walk(http: DjangoClient, url: str, headers: dict[str, Any]) -> list[Any]:
    """Every row, one per page, by following `next`; checks each page's shape."""
    rows: list[Any] = []
    next_url: str | None = f"{url}?page_size=1"
    pages = 0
    while next_url:
        response = http.get(next_url, **headers)
        assert response.status_code == 200, (next_url, response.content[:200])
        body = response.json()
        assert {"next", "previous", "results"} <= set(body), body.keys()
        assert len(body["results"]) <= 1
        if pages:
            assert body["previous"] is not None
        rows.extend(body["results"])
        next_url = body["next"]
        pages += 1
        assert pages < 100
    return rows


def _key(row: Any) -> Any:
    return row.get("id", row.get("client")) if isinstance(row, dict) else row


def test_the_router_lists_are_the_ones_this_test_knows() -> None:
    # A new list is walked automatically; this only keeps the count honest.
    assert len(_list_routes()) >= 11


@pytest.mark.parametrize("route", [*_list_routes(), *sorted(NESTED_LISTS)])
def test_every_list_pages_the_same_way(client: DjangoClient, world: World, route: str) -> None:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {world.raw_key}"}
    url = "/" + route
    if route in NESTED_LISTS:
        url = url.replace("<int:pk>", str(world.id_of(NESTED_LISTS[route])))
    with time_machine.travel(NOW, tick=False):
        everything = client.get(url, {"page_size": 200}, **headers).json()
        walked = _walk(client, url, headers)
        default = client.get(url, {"page_size": "lots"}, **headers)
        bad_cursor = client.get(url, {"cursor": "not-a-cursor"}, **headers)
    assert everything["next"] is None and everything["previous"] is None
    assert len(everything["results"]) >= 2, "give this list two rows in _twice()"
    # One row a page, in the same order as one big page: no row lost, none twice.
    assert [_key(r) for r in walked] == [_key(r) for r in everything["results"]]
    assert default.status_code == 200  # an unusable page_size falls back to the default
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["code"] == "invalid_cursor"


def test_page_size_is_capped(client: DjangoClient, world: World) -> None:
    from tenants.api.pagination import Pagination

    with scope(tenant=world.business):
        for n in range(Pagination.max_page_size + 1):
            ClientFactory(tenant=world.business, name=f"Many {n:03d}")
    response = client.get(
        "/api/v1/clients/", {"page_size": 10_000}, HTTP_AUTHORIZATION=f"Bearer {world.raw_key}"
    )
    assert len(response.json()["results"]) == Pagination.max_page_size
    assert response.json()["next"] is not None


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/working-hours/?staff=abc", "staff"),
        ("/api/v1/working-hours/?staff=%C2%B2", "staff"),  # "²": a digit to str.isdigit()
        ("/api/v1/working-hours/?staff=99999999999999999999", "staff"),
        ("/api/v1/appointments/?status=bogus", "status"),
        ("/api/v1/appointments/?from=yesterday", "from"),
        ("/api/v1/appointments/?staff=x", "staff"),
        ("/api/v1/reliability/?client=x", "client"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(
    client: DjangoClient, world: World, url: str, field: str
) -> None:
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {world.raw_key}")
    assert response.status_code == 400, response.content[:200]
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]


def test_a_good_filter_filters(client: DjangoClient, world: World) -> None:
    response = client.get(
        "/api/v1/working-hours/",
        {"staff": world.staff.pk},
        HTTP_AUTHORIZATION=f"Bearer {world.raw_key}",
    )
    rows = response.json()["results"]
    assert rows and {row["staff"] for row in rows} == {world.staff.pk}
