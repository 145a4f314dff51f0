"""Writes on clients. Phones are stored in E.164, emails lower-cased; both unique per business."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clients.models import Client
from clients.phones import normalize_phone
from tenants.models import Business

CLIENT_FIELDS = ("name", "phone", "email", "language", "notes", "sms_consent", "email_consent")


def _clean(*, tenant: Business, data: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(data)
    if "phone" in cleaned:
        try:
            cleaned["phone"] = normalize_phone(
                cleaned["phone"] or "", default_region=tenant.country
            )
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
    if "email" in cleaned:
        cleaned["email"] = (cleaned["email"] or "").strip().lower()
    if "name" in cleaned:
        cleaned["name"] = (cleaned["name"] or "").strip()
    return cleaned


def _check_unique(*, tenant: Business, client: Client) -> None:
    others = Client.objects.filter(tenant=tenant).exclude(pk=client.pk)
    errors: dict[str, list[str]] = {}
    if client.phone and others.filter(phone=client.phone).exists():
        errors["phone"] = [_("Another client already has this phone number.")]
    if client.email and others.filter(email=client.email).exists():
        errors["email"] = [_("Another client already has this email address.")]
    if errors:
        raise ValidationError(errors)


def _save(client: Client) -> Client:
    client.full_clean(exclude=["tenant"])
    _check_unique(tenant=client.tenant, client=client)
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError as exc:  # a concurrent request took the phone or email meanwhile
        raise ValidationError(_("Another client already has this phone number or email.")) from exc
    return client


def client_create(
    *, tenant: Business, name: str, phone: str = "", email: str = "", **extra: Any
) -> Client:
    """Create a client. Raises ValidationError (field errors) on bad or duplicate contact data."""
    data = _clean(tenant=tenant, data={"name": name, "phone": phone, "email": email, **extra})
    if not data["phone"] and not data["email"]:
        raise ValidationError(_("Give a phone number or an email address."))
    return _save(Client(tenant=tenant, **data))


def client_update(*, client: Client, **changes: Any) -> Client:
    data = _clean(
        tenant=client.tenant, data={k: v for k, v in changes.items() if k in CLIENT_FIELDS}
    )
    for name, value in data.items():
        setattr(client, name, value)
    if not client.phone and not client.email:
        raise ValidationError(_("Give a phone number or an email address."))
    return _save(client)


def client_find_or_create(
    *, tenant: Business, name: str, phone: str = "", email: str = "", **extra: Any
) -> Client:
    """The business's client with this phone or email, else a new one: returning clients are
    recognised instead of duplicated. Phone wins when phone and email point to two clients."""
    data = _clean(tenant=tenant, data={"phone": phone, "email": email})
    existing = None
    if data["phone"]:
        existing = Client.objects.filter(tenant=tenant, phone=data["phone"]).first()
    if existing is None and data["email"]:
        existing = Client.objects.filter(tenant=tenant, email=data["email"]).first()
    if existing is not None:
        return existing
    return client_create(tenant=tenant, name=name, phone=phone, email=email, **extra)
