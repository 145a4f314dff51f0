"""Security headers on every response; templates that the Content-Security-Policy lets run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client as DjangoClient
from django.urls import reverse
from django_scopes import scope

from reminders.links import link_issue
from reminders.models import AccessAction
from tenants.models import Business
from tests.factories import ClientFactory, LocationFactory, ServiceFactory, staff_offering

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _policy(response: object) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/dashboard/", "/api/v1/business/", "/api/v1/docs/", "/healthz"]
)
def test_every_response_carries_a_strict_content_security_policy(
    owner_client: DjangoClient, path: str
) -> None:
    response = owner_client.get(path)
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_no_template_has_inline_script_event_handlers_or_htmx_eval() -> None:
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    style_element = re.compile(r"<style\b", re.IGNORECASE)
    # htmx evaluates trigger filters (`every 60s [...]`), `js:` values and hx-on with eval,
    # which the policy refuses (dashboard.js offers data-poll-pause and data-trigger-only).
    htmx_eval = re.compile(r"hx-trigger=\"[^\"]*\[|hx-on|hx-vals='js:|hx-vals=\"js:")
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (inline_script, handler, style_element, htmx_eval):
            if pattern.search(text) or "javascript:" in text:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {pattern.pattern}")
    assert offenders == []


def test_the_client_link_page_never_sends_its_token_as_a_referrer(
    client: DjangoClient, business: Business
) -> None:
    from appointments.models import Source
    from appointments.services import Actor, appointment_book

    with scope(tenant=business):
        location = LocationFactory(tenant=business)
        service = ServiceFactory(tenant=business)
        staff = staff_offering(tenant=business, location=location, services=[service])
        from datetime import UTC, datetime

        appointment = appointment_book(
            tenant=business,
            location=location,
            staff=staff,
            service=service,
            client=ClientFactory(tenant=business),
            start=datetime(2031, 6, 2, 8, 0, tzinfo=UTC),
            source=Source.DASHBOARD,
            actor=Actor.system(),
            now=datetime(2031, 6, 1, tzinfo=UTC),
        )
        token = link_issue(appointment=appointment, action=AccessAction.MANAGE)
    response = client.get(f"/{business.slug}/a/{token}/")
    assert response.status_code == 200
    # Never the path to another site, and the page's own POST keeps its Origin header.
    assert response["Referrer-Policy"] in {"same-origin", "strict-origin"}
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_password_reset_link_page_never_sends_its_token_as_a_referrer(
    client: DjangoClient,
) -> None:
    response = client.get(reverse("password_reset_confirm", args=["MQ", "set-password"]))
    assert response["Referrer-Policy"] == "strict-origin"
