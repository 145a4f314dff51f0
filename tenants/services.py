"""Writes on businesses, memberships and API keys."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from tenants.models import ApiKey, ApiKeyRole, Business, Location, Membership, Role, User


@transaction.atomic
def business_create(
    *,
    name: str,
    slug: str,
    timezone_name: str,
    owner_email: str,
    language: str = "es",
    currency: str = "EUR",
    country: str = "ES",
) -> tuple[Business, User, bool]:
    """Create a business with one location and its owner. Returns (business, owner, owner_created).

    Raises ValidationError on any invalid value; nothing is written then.
    """
    business = Business(
        name=name,
        slug=slug,
        timezone=timezone_name,
        language=language,
        currency=currency,
        country=country,
    )
    business.full_clean()
    business.save()
    email = User.objects.normalize_email(owner_email).lower()
    owner, created = User.objects.get_or_create(email=email, defaults={"language": ""})
    if created:
        owner.set_unusable_password()
        owner.full_clean()
        owner.save()
    with scope(tenant=business):
        location = Location(tenant=business, name=name, timezone=timezone_name)
        location.full_clean()
        location.save()
        Membership.objects.create(tenant=business, user=owner, role=Role.OWNER)
        from reminders.services.planning import reminder_rules_create_defaults  # builds on tenants

        reminder_rules_create_defaults(tenant=business)
    return business, owner, created


def api_key_create(
    *, tenant: Business, name: str, role: str = ApiKeyRole.ADMIN, created_by: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is never stored and never shown again."""
    if role not in ApiKeyRole.values:
        raise ValueError(f"Unknown API key role {role!r}.")
    lookup, raw_key = ApiKey.generate()
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        role=role,
        lookup=lookup,
        key_hash=ApiKey.hash_key(raw_key),
        created_by=created_by,
    )
    return key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke at once: the next request with this key fails."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
