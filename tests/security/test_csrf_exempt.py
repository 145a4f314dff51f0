"""Only providers' webhooks skip CSRF; the API checks it itself for session logins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as DjangoClient
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from tenants.models import ApiKeyRole, Business, Role
from tenants.services import api_key_create
from tests.conftest import login_member

pytestmark = pytest.mark.django_db

# Providers call these with a signature or a shared secret; they cannot send a CSRF token.
CSRF_EXEMPT_ALLOWED = {
    "webhooks/<slug:business_slug>/twilio/inbound/",
    "webhooks/<slug:business_slug>/twilio/status/<int:message_id>/",
    "webhooks/twilio/inbound/",
    "webhooks/anymail/postmark/tracking/",
}


def _patterns(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _is_drf(callback: Any) -> bool:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def test_every_csrf_exempt_view_is_a_webhook_on_the_allow_list() -> None:
    exempt = {
        route
        for route, callback in _patterns(get_resolver().url_patterns)
        if getattr(callback, "csrf_exempt", False)
        and not route.startswith("admin/")
        # DRF marks its views exempt and enforces CSRF itself for session logins (below).
        and not _is_drf(callback)
    }
    assert exempt == CSRF_EXEMPT_ALLOWED


def test_every_api_view_authenticates_sessions_with_drfs_csrf_check() -> None:
    from rest_framework.authentication import SessionAuthentication

    for route, callback in _patterns(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        assert _is_drf(callback), route
        view_class = callback.cls
        for auth in view_class.authentication_classes:
            # Any session-based authenticator must be DRF's, which enforces CSRF.
            if "session" in auth.__name__.lower():
                assert issubclass(auth, SessionAuthentication), route


def test_a_session_write_to_the_api_without_a_csrf_token_is_refused(
    business: Business,
) -> None:
    browser = DjangoClient(enforce_csrf_checks=True)
    login_member(browser, business, Role.OWNER)
    response = browser.post(
        "/api/v1/clients/", {"name": "X", "phone": "+34611000999"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_key_needs_no_csrf_token(business: Business) -> None:
    _key, raw = api_key_create(tenant=business, name="k", role=ApiKeyRole.ADMIN)
    response = DjangoClient(enforce_csrf_checks=True).post(
        "/api/v1/clients/",
        {"name": "X", "phone": "+34611000999"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201


def test_a_dashboard_post_without_a_csrf_token_is_refused(business: Business) -> None:
    browser = DjangoClient(enforce_csrf_checks=True)
    login_member(browser, business, Role.OWNER)
    response = browser.post("/settings/api-keys/new/", {"name": "X", "role": "admin"})
    assert response.status_code == 403
