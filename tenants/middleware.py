"""Request scoping, in one place.

Every request gets `request.tenant` (a Business or None) and, when there is one, runs inside
`django_scopes.scope(tenant=...)`, so tenant-owned queries are filtered to that business
without any view doing it by hand. Without a business no scope is active, and a query on a
tenant-owned model raises instead of returning another business's rows.

How the business is found:
- public URLs carry it: any URL with a `business_slug` argument;
- the API (`/api/`) with `Authorization: Bearer <key>`: the key's business;
- otherwise, a logged-in user's active business (kept in the session; switchable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django_scopes import scope, scopes_disabled

from tenants.models import Business, Membership
from tenants.selectors import api_key_from_raw, business_by_slug, memberships_for_user

ACTIVE_BUSINESS_SESSION_KEY = "puntual_active_business"


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        request.api_key = None  # type: ignore[attr-defined]

        if request.path_info.startswith("/admin/"):
            # The operator admin site spans businesses; only platform staff get in.
            user = request.user
            if user.is_authenticated and user.is_staff:
                with scopes_disabled():
                    return self.get_response(request)
            return self.get_response(request)

        tenant = self._resolve_tenant(request)
        if tenant is None:
            return self.get_response(request)
        request.tenant = tenant  # type: ignore[attr-defined]
        with scope(tenant=tenant):
            return self.get_response(request)

    def _resolve_tenant(self, request: HttpRequest) -> Business | None:
        auth = request.headers.get("Authorization", "")
        is_api = request.path_info.startswith("/api/")
        # An /api/ path never names a business ("api" is a reserved slug, so no client page
        # lives under it): an API request skips resolving its URL here (Django resolves it
        # again for the view; twice was 5% of a booking's CPU).
        match = None
        if not is_api:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
        if match is not None and "business_slug" in match.kwargs:
            business = business_by_slug(match.kwargs["business_slug"])
            if business is None:
                raise Http404
            return business

        if is_api and auth.startswith("Bearer "):
            api_key = api_key_from_raw(auth.removeprefix("Bearer ").strip())
            request.api_key = api_key  # type: ignore[attr-defined]
            # A bad key never falls back to the session: the API authenticator answers 401.
            return api_key.tenant if api_key is not None else None

        user = request.user
        if not user.is_authenticated:
            return None
        memberships = memberships_for_user(user=user)
        request.memberships = memberships  # type: ignore[attr-defined]
        if not memberships:
            return None
        wanted = request.session.get(ACTIVE_BUSINESS_SESSION_KEY)
        active: Membership = next((m for m in memberships if m.tenant_id == wanted), memberships[0])
        request.membership = active  # type: ignore[attr-defined]
        return active.tenant


class BusinessLocaleMiddleware:
    """Pick the language: the person's explicit choice, else the business's, else the browser's.

    Order: the language cookie (set by the switcher), the user's preference, the business's
    default language, the Accept-Language header, settings.LANGUAGE_CODE. On the API an
    Accept-Language header comes first: integrators choose the language of the errors.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def _choose(self, request: HttpRequest) -> str:
        # An API client's Accept-Language is a deliberate choice (a browser's is a default).
        if request.path_info.startswith("/api/") and request.headers.get("Accept-Language"):
            return translation.get_language_from_request(request)
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if cookie in self.supported:
            return cookie
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language in self.supported:
            return str(user.language)
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.language in self.supported:
            return str(tenant.language)
        return translation.get_language_from_request(request)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._choose(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response


def tenant_of(request: Any) -> Business:
    """The business of a request (Django's or DRF's) already resolved by TenantMiddleware.

    Only for code behind a permission that guarantees one; a missing business is a bug.
    """
    django_request = getattr(request, "_request", request)
    tenant = getattr(django_request, "tenant", None)
    if tenant is None:
        raise RuntimeError(
            "This request has no business; the view's permission should have refused it."
        )
    return cast(Business, tenant)
