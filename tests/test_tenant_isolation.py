"""No cross-tenant access: every route is in this matrix, and another business's ids are 404.

Adding a URL without adding it here fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client as DjangoClient
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scope

from appointments.models import (
    Appointment,
    Service,
    Source,
    StaffMember,
    TimeOff,
    WorkingHours,
)
from appointments.services import Actor, appointment_book
from clients.models import Client as ClientModel
from hooks.models import WebhookDelivery, WebhookEndpoint
from policies.models import Policy
from policies.services import client_flag, policy_terms_snapshot
from reminders.links import link_issue
from reminders.models import (
    AccessAction,
    InboundMessage,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Purpose,
    ReminderRule,
    RuleChannel,
)
from reminders.models import Channel as MessageChannel
from selfservice.models import (
    FreedSlot,
    SurveyInvitation,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSource,
    hash_token,
)
from selfservice.services.waitlist import waitlist_join
from tenants.models import ApiKey, ApiKeyRole, Business, Location, Membership, Role
from tenants.services import api_key_create
from tests.conftest import login_member
from tests.factories import (
    BusinessFactory,
    ClientFactory,
    LocationFactory,
    MembershipFactory,
    PolicyFactory,
    ServiceFactory,
    UserFactory,
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
    "api/v1/inbox/": None,
    "api/v1/reminder-rules/": None,
    "api/v1/policies/": None,
    "api/v1/reliability/": None,
    "api/v1/reports/": None,
    "api/v1/waitlist/": None,
    "api/v1/webhook-endpoints/": None,
    "api/v1/waitlist-offers/": None,
    "api/v1/survey-results/": None,
    "api/v1/survey-results/summary/": None,
    "api/v1/team/": None,
    "api/v1/api-keys/": None,
    "api/v1/booking-rules/": None,
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
    "api/v1/inbox/",
    "api/v1/reminder-rules/",
    "api/v1/waitlist/",
    "api/v1/webhook-endpoints/",
    "api/v1/waitlist-offers/",
    "api/v1/survey-results/",
    "api/v1/team/",
    "api/v1/api-keys/",
}
# API routes for owners, admins and admin keys only, reads included: lower roles get 403
# before any lookup.
API_ADMIN_ONLY = {
    "api/v1/webhook-endpoints/",
    "api/v1/webhook-endpoints/<int:pk>/",
    "api/v1/webhook-endpoints/<int:pk>/rotate-secret/",
    "api/v1/webhook-endpoints/<int:pk>/test/",
    "api/v1/webhook-endpoints/<int:pk>/deliveries/",
    # The team and the API keys: who gets in.
    "api/v1/team/",
    "api/v1/team/<int:pk>/",
    "api/v1/team/<int:pk>/role/",
    "api/v1/team/<int:pk>/deactivate/",
    "api/v1/team/<int:pk>/reactivate/",
    "api/v1/api-keys/",
    "api/v1/api-keys/<int:pk>/",
    "api/v1/api-keys/<int:pk>/revoke/",
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
    "api/v1/appointments/<int:pk>/messages/": ("appointment", ("get",)),
    "api/v1/inbox/<int:pk>/handled/": ("inbound", ("post",)),
    "api/v1/reminder-rules/<int:pk>/": ("rule", ("get", "patch", "delete")),
    "api/v1/reminder-rules/<int:pk>/preview/": ("rule", ("get",)),
    "api/v1/policies/<int:pk>/": ("policy", ("get", "patch", "delete")),
    "api/v1/appointments/<int:pk>/policy/": ("appointment", ("get",)),
    "api/v1/appointments/<int:pk>/policy/payments/": ("appointment", ("post",)),
    "api/v1/appointments/<int:pk>/policy/waive-fee/": ("appointment", ("post",)),
    "api/v1/appointments/<int:pk>/policy/keep-credit/": ("appointment", ("post",)),
    "api/v1/clients/<int:pk>/ledger/": ("client", ("get",)),
    "api/v1/clients/<int:pk>/deposit-flag/": ("client", ("get", "put", "delete")),
    "api/v1/waitlist/<int:pk>/": ("waitlist_entry", ("get", "delete")),
    "api/v1/webhook-endpoints/<int:pk>/": ("webhook", ("get", "patch", "delete")),
    "api/v1/webhook-endpoints/<int:pk>/rotate-secret/": ("webhook", ("post",)),
    "api/v1/webhook-endpoints/<int:pk>/test/": ("webhook", ("post",)),
    "api/v1/webhook-endpoints/<int:pk>/deliveries/": ("webhook", ("get",)),
    "api/v1/clients/<int:pk>/export/": ("client", ("get",)),
    "api/v1/clients/<int:pk>/messages/": ("client", ("get",)),
    "api/v1/clients/<int:pk>/replies/": ("client", ("get",)),
    "api/v1/appointments/<int:pk>/notes/": ("appointment", ("post",)),
    "api/v1/appointments/<int:pk>/resend-link/": ("appointment", ("post",)),
    "api/v1/appointments/<int:pk>/replies/": ("appointment", ("get",)),
    "api/v1/waitlist-offers/<int:pk>/": ("offer", ("get",)),
    "api/v1/survey-results/<int:pk>/": ("survey", ("get",)),
    "api/v1/team/<int:pk>/": ("membership", ("get",)),
    "api/v1/team/<int:pk>/role/": ("membership", ("post",)),
    "api/v1/team/<int:pk>/deactivate/": ("membership", ("post",)),
    "api/v1/team/<int:pk>/reactivate/": ("membership", ("post",)),
    "api/v1/api-keys/<int:pk>/": ("api_key", ("get",)),
    "api/v1/api-keys/<int:pk>/revoke/": ("api_key", ("post",)),
    "api/v1/clients/<int:pk>/erase/": ("client", ("post",)),
    **{
        f"api/v1/appointments/<int:pk>/{action}/": ("appointment", ("post",))
        for action in (
            "accept",
            "attend",
            "cancel",
            "check-in",
            "confirm",
            "decline",
            "finish",
            "no-show",
            "reschedule",
            "start",
        )
    },
}

# Refused to every role below admin, even to read, before any lookup (403): a client's
# personal data, and (above) the webhook endpoints.
API_ADMIN_ONLY |= {"api/v1/clients/<int:pk>/export/", "api/v1/clients/<int:pk>/erase/"}
# Refused to providers, who see their own schedule only (403): the business's figures, and
# what clients said of their colleagues.
API_REFUSED_TO_PROVIDERS = {
    "api/v1/reports/",
    "api/v1/survey-results/",
    "api/v1/survey-results/summary/",
    "api/v1/survey-results/<int:pk>/",
}


# Writes that give access, refused to every key before any lookup: a person makes them.
API_REFUSED_TO_KEYS = {"api/v1/team/<int:pk>/reactivate/"}


# Actions of the active business that name other objects only in their body: another
# business's ids there are unknown (400), and nothing of theirs is shown.
BODY_ROUTES: dict[str, Any] = {
    "api/v1/reminder-rules/preview/": lambda world: {
        "purpose": "reminder",
        "channel": "sms_then_email",
        "appointment": world.appointment.pk,
    },
}


# Clients' pages: the business is in the URL, the credential is a link token. Another
# business's token under a business's slug is unknown there.
CLIENT_LINKS = {"<slug:business_slug>/a/<str:token>/": ("get", "head", "post")}
# Self-service pages reached by a link: the token kind (a World attribute) and the methods.
SELF_SERVICE_LINKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "<slug:business_slug>/book/done/<str:token>/": ("link_token", ("get", "head")),
    "<slug:business_slug>/book/calendar/<str:token>/": ("link_token", ("get", "head")),
    "<slug:business_slug>/waitlist/offer/<str:token>/": ("offer_token", ("get", "post")),
    "<slug:business_slug>/survey/<str:token>/": ("survey_token", ("get", "post")),
}
# Self-service pages open to anyone under a business's slug: another business's ids in the
# query or the form are unknown there (nothing of theirs shown, nothing booked or added).
SELF_SERVICE_PAGES = {"<slug:business_slug>/book/", "<slug:business_slug>/waitlist/join/"}


# The admin's settings pages (browser, owners and admins only). Pages of the active business,
# and whether their rows carry the world's marker:
SETTINGS_PAGES: dict[str, bool] = {
    "settings/": True,
    "settings/locations/": True,
    "settings/locations/new/": False,
    "settings/staff/": True,
    "settings/staff/new/": False,
    "settings/services/": True,
    "settings/services/new/": False,
    "settings/booking-rules/": False,
    "settings/reminders/": True,
    "settings/reminders/new/": False,
    "settings/policies/": False,
    "settings/policies/new/": False,
    "settings/team/": True,
    "settings/api-keys/": True,
    "settings/webhooks/": True,
    "settings/webhooks/new/": False,
}
# Writes of the active business that take no id in the URL.
SETTINGS_POSTS = {
    "settings/team/invite/",
    "settings/api-keys/new/",
    # The scheduled report's settings, on the reports page: owners and admins only.
    "reports/subscriptions/",
}
# One object each, with the methods to try and a body that would change it if it were ours.
SETTINGS_OBJECTS: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    "settings/locations/<int:pk>/": (
        "location",
        ("get", "post"),
        {"name": "Taken", "timezone": "UTC", "is_active": "on"},
    ),
    "settings/staff/<int:pk>/": ("staff", ("get", "post"), {"display_name": "Taken"}),
    "settings/staff/<int:pk>/hours/": (
        "staff",
        ("post",),
        {"hours-TOTAL_FORMS": "0", "hours-INITIAL_FORMS": "0"},
    ),
    "settings/staff/<int:pk>/time-off/": (
        "staff",
        ("post",),
        {"off-start": "2026-07-01T10:00", "off-end": "2026-07-01T12:00"},
    ),
    "settings/time-off/<int:pk>/delete/": ("time_off", ("post",), {}),
    "settings/services/<int:pk>/": (
        "service",
        ("get", "post"),
        {"name": "Taken", "duration_minutes": "30", "price": "1", "mode": "in_person"},
    ),
    "settings/reminders/<int:pk>/": (
        "rule",
        ("get", "post"),
        {
            "name": "Taken",
            "purpose": "reminder",
            "channel": "sms",
            "offset": "1",
            "offset_unit": "hours",
            "action": "save",
        },
    ),
    "settings/reminders/<int:pk>/delete/": ("rule", ("post",), {}),
    "settings/policies/<int:pk>/": (
        "policy",
        ("get", "post"),
        {"deposit_kind": "none", "cancellation_window_hours": "1"},
    ),
    "settings/team/<int:pk>/role/": ("membership", ("post",), {"role": "owner"}),
    "settings/team/<int:pk>/deactivate/": ("membership", ("post",), {}),
    "settings/team/<int:pk>/reactivate/": ("membership", ("post",), {}),
    "settings/api-keys/<int:pk>/revoke/": ("api_key", ("post",), {}),
    "settings/webhooks/<int:pk>/": (
        "webhook",
        ("get", "post"),
        {"url": "https://hooks.example/taken", "events": ["appointment.created"]},
    ),
    "settings/webhooks/<int:pk>/rotate-secret/": ("webhook", ("post",), {}),
    "settings/webhooks/<int:pk>/delete/": ("webhook", ("post",), {}),
    "settings/webhooks/<int:pk>/test/": ("webhook", ("post",), {}),
    "settings/webhooks/<int:pk>/deliveries/": ("webhook", ("get",), {}),
}


# The front desk's dashboard (browser, receptionists and above; providers see their own
# schedule). Pages of the active business, and whether their rows carry the world's marker:
DASHBOARD_PAGES: dict[str, bool] = {
    "dashboard/week/": True,
    "dashboard/front-desk/": False,
    "dashboard/appointments/new/": True,
    "dashboard/clients/": True,
    "dashboard/inbox/": True,
    "dashboard/inbox/count/": False,
    # New clients' requests waiting for an answer (the world's appointment is no request).
    "dashboard/requests/": False,
    "dashboard/requests/count/": False,
    # The reports page (its filters name the business's locations) and its CSV export.
    "reports/": True,
    "reports/export.csv": False,
    "dashboard/waitlist/": True,
    "dashboard/surveys/": False,
}
# Pages and writes a provider may open (their own schedule): the rest is refused by role.
DASHBOARD_FOR_PROVIDERS = {"dashboard/", "dashboard/week/", "dashboard/appointments/<int:pk>/"}
# One object each, the methods to try, and a body that would change it if it were ours.
DASHBOARD_OBJECTS: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    "dashboard/appointments/<int:pk>/": ("appointment", ("get",), {}),
    **{
        f"dashboard/appointments/<int:pk>/{action}/": ("appointment", ("post",), {})
        for action in ("confirm", "check-in", "start", "attend", "no-show", "accept")
    },
    "dashboard/appointments/<int:pk>/decline/": (
        "appointment",
        ("get", "post"),
        {"reason": "Taken"},
    ),
    "dashboard/appointments/<int:pk>/cancel/": (
        "appointment",
        ("get", "post"),
        {"by": "client", "reason": "Taken"},
    ),
    "dashboard/appointments/<int:pk>/move/": (
        "appointment",
        ("get", "post"),
        {"slot": "2026-06-02T08:00:00+00:00|1"},
    ),
    "dashboard/appointments/<int:pk>/notes/": ("appointment", ("post",), {"note": "Taken"}),
    "dashboard/appointments/<int:pk>/resend-link/": (
        "appointment",
        ("post",),
        {"key": "isolation-key"},
    ),
    "dashboard/appointments/<int:pk>/waive-fee/": ("appointment", ("post",), {"reason": "Taken"}),
    "dashboard/appointments/<int:pk>/payments/": (
        "appointment",
        ("post",),
        {"payment_for": "deposit", "method": "cash", "reference": "Taken"},
    ),
    "dashboard/appointments/<int:pk>/keep-credit/": (
        "appointment",
        ("post",),
        {"reason": "Taken"},
    ),
    "dashboard/clients/<int:pk>/": ("client", ("get",), {}),
    "dashboard/clients/<int:pk>/notes/": ("client", ("post",), {"notes": "Taken"}),
    "dashboard/inbox/<int:pk>/handled/": ("inbound", ("post",), {}),
    "dashboard/inbox/<int:pk>/confirm/": ("inbound", ("post",), {}),
    "dashboard/waitlist/<int:pk>/remove/": ("waitlist_entry", ("post",), {}),
    "dashboard/clients/<int:pk>/export/": ("client", ("post",), {}),
    "dashboard/clients/<int:pk>/erase/": ("client", ("get", "post"), {"confirm": "yes"}),
}
# Refused to receptionists too, by role, before any lookup.
DASHBOARD_ADMIN_ONLY = {
    "dashboard/appointments/<int:pk>/waive-fee/",
    "dashboard/appointments/<int:pk>/keep-credit/",
    "dashboard/clients/<int:pk>/export/",
    "dashboard/clients/<int:pk>/erase/",
}


# Providers' webhooks: no user, no key; a signature (Twilio) or a shared secret (email).
WEBHOOKS = {
    "webhooks/<slug:business_slug>/twilio/inbound/",
    "webhooks/<slug:business_slug>/twilio/status/<int:message_id>/",
    "webhooks/twilio/inbound/",
    "webhooks/anymail/postmark/tracking/",
}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_route_is_in_the_matrix() -> None:
    routes = {r for r in _routes(get_resolver().url_patterns) if not r.startswith("admin/")}
    assert routes == (
        NOT_TENANT_DATA
        | set(COLLECTIONS)
        | set(OBJECTS)
        | set(BODY_ROUTES)
        | set(CLIENT_LINKS)
        | set(SELF_SERVICE_LINKS)
        | SELF_SERVICE_PAGES
        | WEBHOOKS
        | set(SETTINGS_PAGES)
        | SETTINGS_POSTS
        | set(SETTINGS_OBJECTS)
        | set(DASHBOARD_PAGES)
        | set(DASHBOARD_OBJECTS)
    )


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
            self.api_key, self.raw_key = api_key_create(
                tenant=self.business, name=f"{marker} key", role=ApiKeyRole.ADMIN
            )
            self.membership = MembershipFactory(
                tenant=self.business,
                user=UserFactory(full_name=f"{marker} member"),
                role=Role.RECEPTIONIST,
            )
            self.link_token = link_issue(appointment=self.appointment, action=AccessAction.MANAGE)
            self.inbound = InboundMessage.objects.create(
                tenant=self.business,
                provider_id=f"SM{marker.lower():0>32}",
                from_number=self.client.phone,
                body=f"{marker} reply",
                client=self.client,
                appointment=self.appointment,
                outcome=InboundMessage.Outcome.NEEDS_HUMAN,
            )
            self.rule = ReminderRule.objects.create(
                tenant=self.business,
                name=f"{marker} rule",
                purpose=Purpose.REMINDER,
                channel=RuleChannel.SMS,
                offset_minutes=60,
                texts={"en": {"sms": f"{marker} {{client_name}}"}},
            )
            self.outbound = OutboundMessage.objects.create(
                tenant=self.business,
                appointment=self.appointment,
                kind=MessageKind.RULE,
                dedupe_key="isolation",
                channel=MessageChannel.SMS,
                to=self.client.phone,
                send_at=NOW,
                status=MessageStatus.SENT,
                provider_id=f"SM{marker.lower():1>32}",
            )
            self.policy = PolicyFactory(
                tenant=self.business, deposit_kind="fixed", deposit_amount=Decimal("10.00")
            )
            policy_terms_snapshot(self.appointment, now=NOW)
            client_flag(client=self.client, actor=Actor.system(), reason=f"{marker} flag")
            self.waitlist_entry = waitlist_join(
                tenant=self.business,
                client=self.client,
                service=self.service,
                source=WaitlistSource.STAFF,
                now=NOW,
            )
            self.freed_slot = slot = FreedSlot.objects.create(
                tenant=self.business,
                cancelled_appointment=self.appointment,
                location=self.location,
                staff=self.staff,
                service=self.service,
                start=self.appointment.start,
                freed_at=NOW,
            )
            self.offer_token, self.survey_token = f"{marker}-offer", f"{marker}-survey"
            self.offer = WaitlistOffer.objects.create(
                tenant=self.business,
                slot=slot,
                entry=self.waitlist_entry,
                token_hash=hash_token(self.offer_token),
                send_at=NOW,
                expires_at=NOW + timedelta(days=30),
            )
            self.survey = SurveyInvitation.objects.create(
                tenant=self.business,
                appointment=self.appointment,
                token_hash=hash_token(self.survey_token),
                send_at=NOW,
            )
            self.webhook = WebhookEndpoint.objects.create(
                tenant=self.business,
                url=f"https://hooks.example/{marker.lower()}",
                description=f"{marker} hook",
                events=["appointment.created"],
                secret=f"whsec_{marker}",
            )

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
            and (method != "get" or route in API_ADMIN_ONLY)
            and actor in {"receptionist", "provider"}
        ) or (
            response.status_code == 403
            and (
                (route in API_REFUSED_TO_PROVIDERS and actor == "provider")
                or (route in API_REFUSED_TO_KEYS and actor == "api_key")
            )
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


@pytest.mark.parametrize("actor", ACTORS)
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
    if (route in API_ADMIN_ONLY and actor in {"receptionist", "provider"}) or (
        route in API_REFUSED_TO_PROVIDERS and actor == "provider"
    ):
        assert response.status_code == 403  # refused by role, before any lookup
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


@pytest.mark.parametrize("actor", ["owner", "api_key", "other_admin"])
@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
def test_another_business_ids_in_a_body_are_unknown(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http, headers, foreign = _as(actor, client, ours, theirs)
    response = http.post(
        "/" + route, BODY_ROUTES[route](foreign), content_type="application/json", **headers
    )
    assert response.status_code == 400, response.content[:300]
    assert foreign.marker.encode() not in response.content
    assert "appointment" in response.json()["errors"]


@pytest.mark.parametrize("route", sorted(BODY_ROUTES))
def test_body_routes_refuse_anonymous_visitors(
    client: DjangoClient, worlds: tuple[World, World], route: str
) -> None:
    ours, _ = worlds
    response = client.post("/" + route, BODY_ROUTES[route](ours), content_type="application/json")
    assert response.status_code in {401, 403}
    assert ours.marker.encode() not in response.content


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


@pytest.mark.parametrize("actor", [*ACTORS, "anonymous"])
@pytest.mark.parametrize("route", sorted(CLIENT_LINKS))
def test_another_business_link_under_our_slug_is_404(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http: DjangoClient
    headers: dict[str, Any]
    if actor == "anonymous":
        http, headers, foreign = client, {}, theirs
    else:
        http, headers, foreign = _as(actor, client, ours, theirs)
    own = theirs if foreign is ours else ours
    url = "/" + route.replace("<slug:business_slug>", own.business.slug).replace(
        "<str:token>", foreign.link_token
    )
    for method in CLIENT_LINKS[route]:
        for action in ("confirm", "cancel", "reschedule"):
            data = {"action": action} if method == "post" else {}
            response = getattr(http, method)(url, data, **headers)
            assert response.status_code == 404, (method, url, response.status_code)
            assert foreign.marker.encode() not in response.content
    with scope(tenant=foreign.business):
        appointment = Appointment.objects.get(pk=foreign.appointment.pk)
    assert appointment.status == "scheduled" and appointment.version == 1
    # The same token under its own business's slug works: the 404 above was the tenant check.
    own_url = url.replace(f"/{own.business.slug}/", f"/{foreign.business.slug}/")
    response = client.get(own_url)
    assert response.status_code == 200
    assert foreign.marker.encode() in response.content


@pytest.mark.parametrize("actor", [*ACTORS, "anonymous"])
@pytest.mark.parametrize("route", sorted(WEBHOOKS))
def test_webhooks_take_no_user_or_key_as_authentication(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str, settings: Any
) -> None:
    settings.TWILIO_AUTH_TOKEN = "isolation-token"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:isolation-secret"}
    ours, theirs = worlds
    headers: dict[str, Any] = {}
    http = client
    if actor != "anonymous":
        http, headers, _foreign = _as(actor, client, ours, theirs)
    url = "/" + route.replace("<slug:business_slug>", ours.business.slug).replace(
        "<int:message_id>", str(ours.outbound.pk)
    )
    params = {
        "MessageSid": ours.outbound.provider_id,
        "MessageStatus": "failed",
        "From": ours.client.phone,
        "Body": "2",
        "RecordType": "Bounce",
    }
    response = http.post(url, params, **headers)
    assert response.status_code in {400, 403}, response.status_code
    with scope(tenant=ours.business):
        assert InboundMessage.objects.count() == 1
        assert OutboundMessage.objects.get(pk=ours.outbound.pk).status == "sent"
        assert Appointment.objects.get(pk=ours.appointment.pk).status == "scheduled"


def test_a_signed_status_callback_cannot_reach_another_business_message(
    client: DjangoClient, worlds: tuple[World, World], settings: Any
) -> None:
    from twilio.request_validator import RequestValidator

    settings.TWILIO_AUTH_TOKEN = "isolation-token"
    settings.PUNTUAL_BASE_URL = "https://puntual.example.com"
    ours, theirs = worlds
    path = f"/webhooks/{ours.business.slug}/twilio/status/{theirs.outbound.pk}/"
    params = {"MessageSid": theirs.outbound.provider_id, "MessageStatus": "failed"}
    signature = RequestValidator("isolation-token").compute_signature(
        "https://puntual.example.com" + path, params
    )
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    assert theirs.marker.encode() not in response.content
    with scope(tenant=theirs.business):
        assert OutboundMessage.objects.get(pk=theirs.outbound.pk).status == "sent"


def _settings_snapshot(world: World) -> tuple[Any, ...]:
    """What a settings write could change in a world."""
    with scope(tenant=world.business):
        return (
            Location.objects.get(pk=world.location.pk).name,
            StaffMember.objects.get(pk=world.staff.pk).display_name,
            WorkingHours.objects.filter(staff=world.staff).count(),
            TimeOff.objects.filter(staff=world.staff).count(),
            Service.objects.get(pk=world.service.pk).name,
            ReminderRule.objects.filter(pk=world.rule.pk).values_list("name", flat=True).first(),
            Policy.objects.get(pk=world.policy.pk).cancellation_window_hours,
            Membership.objects.filter(pk=world.membership.pk)
            .values_list("role", "is_active")
            .first(),
            ApiKey.objects.get(pk=world.api_key.pk).revoked_at,
            WebhookEndpoint.objects.filter(pk=world.webhook.pk)
            .values_list("url", "secret", "events")
            .first(),
            WebhookDelivery.objects.filter(endpoint_id=world.webhook.pk).count(),
        )


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", sorted(SETTINGS_OBJECTS))
def test_settings_of_another_business_are_404_and_change_nothing(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http, headers, foreign = _as(actor, client, ours, theirs)
    before = _settings_snapshot(foreign)
    kind, methods, body = SETTINGS_OBJECTS[route]
    url = "/" + route.replace("<int:pk>", str(foreign.id_of(kind)))
    for method in methods:
        response = getattr(http, method)(url, body if method == "post" else {}, **headers)
        expected = {
            "owner": 404,
            "other_admin": 404,
            # Refused by role before any lookup: the answer says nothing about the id.
            "receptionist": 403,
            "provider": 403,
            # A key is no browser login.
            "api_key": 302,
        }[actor]
        assert response.status_code == expected, (method, url, response.status_code)
        assert foreign.marker.encode() not in response.content
    assert _settings_snapshot(foreign) == before


@pytest.mark.parametrize("actor", ["owner", "other_admin"])
@pytest.mark.parametrize("route", sorted(SETTINGS_PAGES))
def test_settings_pages_show_only_the_actors_own_business(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http, headers, foreign = _as(actor, client, ours, theirs)
    own = theirs if foreign is ours else ours
    response = http.get("/" + route, **headers)
    assert response.status_code == 200
    assert foreign.marker.encode() not in response.content
    if SETTINGS_PAGES[route]:
        assert own.marker.encode() in response.content


@pytest.mark.parametrize("actor", ["receptionist", "provider", "api_key", "anonymous"])
@pytest.mark.parametrize("route", sorted({*SETTINGS_PAGES, *SETTINGS_POSTS, *SETTINGS_OBJECTS}))
def test_settings_refuse_everyone_but_owners_and_admins(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http: DjangoClient = client
    headers: dict[str, Any] = {}
    if actor != "anonymous":
        http, headers, _foreign = _as(actor, client, ours, theirs)
    before = _settings_snapshot(ours)
    url = "/" + route.replace("<int:pk>", "0")
    if route in SETTINGS_OBJECTS:
        kind, _methods, _body = SETTINGS_OBJECTS[route]
        url = "/" + route.replace("<int:pk>", str(ours.id_of(kind)))
    for method in ("get", "post"):
        response = getattr(http, method)(url, {"role": "owner", "name": "X"}, **headers)
        if actor in {"api_key", "anonymous"}:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 403, (method, url)
        # A member sees the business's name in the page's header; nothing of its settings.
        for thing in ("location", "staff", "service", "rule", "key", "member"):
            assert f"{ours.marker} {thing}".encode() not in response.content
    assert _settings_snapshot(ours) == before


def _dashboard_snapshot(world: World) -> tuple[Any, ...]:
    """What a dashboard write could change in a world."""
    with scope(tenant=world.business):
        appointment = Appointment.objects.get(pk=world.appointment.pk)
        return (
            appointment.status,
            appointment.version,
            appointment.arrived_at,
            appointment.started_at,
            appointment.events.count(),
            OutboundMessage.objects.filter(appointment=appointment).count(),
            ClientModel.objects.get(pk=world.client.pk).notes,
            InboundMessage.objects.get(pk=world.inbound.pk).handled_at,
            WaitlistEntry.objects.get(pk=world.waitlist_entry.pk).status,
        )


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", sorted(DASHBOARD_OBJECTS))
def test_the_dashboard_answers_another_business_ids_with_404_and_changes_nothing(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http, headers, foreign = _as(actor, client, ours, theirs)
    before = _dashboard_snapshot(foreign)
    kind, methods, body = DASHBOARD_OBJECTS[route]
    url = "/" + route.replace("<int:pk>", str(foreign.id_of(kind)))
    for method in methods:
        response = getattr(http, method)(url, body if method == "post" else {}, **headers)
        if actor == "api_key":
            expected = 302  # a key is no browser login
        elif actor == "provider" and route not in DASHBOARD_FOR_PROVIDERS:
            expected = 403  # refused by role before any lookup: says nothing about the id
        elif actor == "receptionist" and route in DASHBOARD_ADMIN_ONLY:
            expected = 403
        else:
            expected = 404
        assert response.status_code == expected, (method, url, response.status_code)
        assert foreign.marker.encode() not in response.content
    assert _dashboard_snapshot(foreign) == before


@pytest.mark.parametrize("actor", ["owner", "receptionist", "other_admin"])
@pytest.mark.parametrize("route", sorted(DASHBOARD_PAGES))
def test_dashboard_pages_show_only_the_actors_own_business(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http, headers, foreign = _as(actor, client, ours, theirs)
    own = theirs if foreign is ours else ours
    with time_machine.travel(NOW, tick=False):
        response = http.get("/" + route, **headers)
    assert response.status_code == 200
    assert foreign.marker.encode() not in response.content
    if DASHBOARD_PAGES[route]:
        assert own.marker.encode() in response.content


@pytest.mark.parametrize("actor", ["provider", "api_key", "anonymous"])
@pytest.mark.parametrize("route", sorted({*DASHBOARD_PAGES, *DASHBOARD_OBJECTS}))
def test_the_front_desk_pages_refuse_providers_keys_and_visitors(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http: DjangoClient = client
    headers: dict[str, Any] = {}
    if actor != "anonymous":
        http, headers, _foreign = _as(actor, client, ours, theirs)
    before = _dashboard_snapshot(ours)
    url = "/" + route
    if route in DASHBOARD_OBJECTS:
        kind, _methods, _body = DASHBOARD_OBJECTS[route]
        url = "/" + route.replace("<int:pk>", str(ours.id_of(kind)))
    for method in ("get", "post"):
        response = getattr(http, method)(url, {"reason": "X", "note": "X"}, **headers)
        if actor in {"api_key", "anonymous"}:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        elif route in DASHBOARD_FOR_PROVIDERS:
            # A provider's own schedule: another staff member's appointment is not theirs.
            assert response.status_code in {200, 404, 405}, (method, url)
        else:
            assert response.status_code == 403, (method, url)
        assert f"{ours.marker} client".encode() not in response.content
    assert _dashboard_snapshot(ours) == before


def _self_service_snapshot(world: World) -> tuple[Any, ...]:
    with scope(tenant=world.business):
        return (
            Appointment.objects.count(),
            ClientModel.objects.count(),
            list(WaitlistEntry.objects.values_list("status", flat=True)),
            SurveyInvitation.objects.get().answered_at,
            FreedSlot.objects.get().refilled_by_id,
        )


@pytest.mark.parametrize("actor", [*ACTORS, "anonymous"])
@pytest.mark.parametrize("route", sorted(SELF_SERVICE_LINKS))
def test_another_business_self_service_link_under_our_slug_is_404(
    client: DjangoClient, worlds: tuple[World, World], route: str, actor: str
) -> None:
    ours, theirs = worlds
    http: DjangoClient
    headers: dict[str, Any]
    if actor == "anonymous":
        http, headers, foreign = client, {}, theirs
    else:
        http, headers, foreign = _as(actor, client, ours, theirs)
    own = theirs if foreign is ours else ours
    kind, methods = SELF_SERVICE_LINKS[route]
    url = "/" + route.replace("<slug:business_slug>", own.business.slug).replace(
        "<str:token>", getattr(foreign, kind)
    )
    before = _self_service_snapshot(foreign)
    with time_machine.travel(NOW, tick=False):
        for method in methods:
            data = {"rating": "5"} if method == "post" else {}
            response = getattr(http, method)(url, data, **headers)
            assert response.status_code == 404, (method, url, response.status_code)
            assert foreign.marker.encode() not in response.content
        assert _self_service_snapshot(foreign) == before
        # The same token under its own business's slug works: the 404 was the tenant check.
        own_url = url.replace(f"/{own.business.slug}/", f"/{foreign.business.slug}/")
        assert client.get(own_url).status_code == 200


@pytest.mark.parametrize("route", sorted(SELF_SERVICE_PAGES))
def test_self_service_pages_ignore_another_business_ids(
    client: DjangoClient, worlds: tuple[World, World], route: str
) -> None:
    ours, theirs = worlds
    url = "/" + route.replace("<slug:business_slug>", ours.business.slug)
    foreign_ids = {
        "location": theirs.location.pk,
        "service": theirs.service.pk,
        "staff": theirs.staff.pk,
        "start": "2026-06-01T08:00:00+00:00",
    }
    before = _self_service_snapshot(theirs), _self_service_snapshot(ours)
    with time_machine.travel(NOW, tick=False):
        page = client.get(url, foreign_ids)
        assert page.status_code in {200, 303}
        assert theirs.marker.encode() not in page.content
        form = {
            **foreign_ids,
            "name": "Intruder",
            "phone": "+34600999888",
            "sms_consent": "on",
            "accept_terms": "on",
        }
        response = client.post(url, form)
        assert 300 <= response.status_code < 500 and response.status_code != 302
        assert response.status_code != 201
        assert theirs.marker.encode() not in response.content
    assert (_self_service_snapshot(theirs), _self_service_snapshot(ours)) == before
