"""Reads that cross the tenant boundary on purpose (resolving *which* tenant a request is for)."""

from __future__ import annotations

import hmac

from django.db import connection
from django_scopes import scopes_disabled

from tenants import rows
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
    # Written out (tenants.rows): every API request runs it, and the ORM took longer to build
    # this join than PostgreSQL took to run it. As select_related("tenant") would load it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rows.select_list(ApiKey, 'k')}, {rows.select_list(Business, 'b')}"  # noqa: S608 - _meta names only
            f" FROM {ApiKey._meta.db_table} k JOIN {Business._meta.db_table} b ON b.id = k.tenant_id"
            " WHERE k.lookup = %s AND k.revoked_at IS NULL",
            [parts[1]],
        )
        found = cursor.fetchall()
    for row in found:
        candidate, tenant = rows.instances(row, [ApiKey, Business])
        assert isinstance(candidate, ApiKey) and isinstance(tenant, Business)  # noqa: S101
        if hmac.compare_digest(candidate.key_hash, expected):
            candidate.tenant = tenant
            return candidate
    return None


def business_by_slug(slug: str) -> Business | None:
    return Business.objects.filter(slug=slug).first()
