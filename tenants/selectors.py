"""Reads that cross the tenant boundary on purpose (resolving *which* tenant a request is for)."""

from __future__ import annotations

import hmac

from django_scopes import scopes_disabled

from tenants.models import API_KEY_PREFIX, ApiKey, Business, Membership, User


def memberships_for_user(*, user: User) -> list[Membership]:
    """The user's active memberships, across businesses, with the business loaded."""
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user, is_active=True)
            .select_related("tenant")
            .order_by("tenant__name")
        )


def api_key_from_raw(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Constant-time on the secret part."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or len(parts[1]) > 16:
        return None
    expected = ApiKey.hash_key(raw_key)
    with scopes_disabled():
        candidates = list(
            ApiKey.objects.filter(lookup=parts[1], revoked_at__isnull=True).select_related("tenant")
        )
    for candidate in candidates:
        if hmac.compare_digest(candidate.key_hash, expected):
            return candidate
    return None


def business_by_slug(slug: str) -> Business | None:
    return Business.objects.filter(slug=slug).first()
