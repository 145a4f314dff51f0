"""API key authentication. The key was resolved by TenantMiddleware; this only answers for it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants.models import ApiKey

# Writing last_used_at on every request would make every API call a write; once a minute is
# plenty for "when was this key last used".
LAST_USED_RESOLUTION_SECONDS = 60


class ApiKeyUser(AnonymousUser):
    """The principal of a request authenticated by an API key (not a person)."""

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"API key {self.api_key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith(f"{self.keyword} "):
            return None
        api_key: ApiKey | None = getattr(request._request, "api_key", None)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        now = timezone.now()
        if (
            api_key.last_used_at is None
            or (now - api_key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
        ):
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


def request_role(request: Any) -> str | None:
    """The role acting in this request: the API key's or the member's, None for strangers."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        return str(auth.role)
    membership = (
        getattr(request._request, "membership", None) if hasattr(request, "_request") else None
    )
    return str(membership.role) if membership is not None else None
