"""The tenant (Business) and what belongs to it at the top level.

Every tenant-owned model in Puntual derives from `TenantOwnedModel`: a required `tenant`
foreign key and a default manager that refuses to query unless a tenant scope is active
(django-scopes). `tenants.checks` verifies this for every installed model.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import time
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from tenants.fields import (
    validate_business_slug,
    validate_country,
    validate_currency,
    validate_sms_sender,
    validate_timezone,
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Global: one person may work for several businesses."""

    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: use the business's language."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("platform staff"), default=False, help_text=_("Can log into the operator admin site.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=dj_timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.email])[0]


class Business(models.Model):
    """The tenant. Everything a business owns points here through a `tenant` foreign key."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(
        _("slug"), max_length=60, unique=True, validators=[validate_business_slug]
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Madrid", validators=[validate_timezone]
    )
    language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="es"
    )
    currency = models.CharField(
        _("currency"), max_length=3, default="EUR", validators=[validate_currency]
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        default="ES",
        validators=[validate_country],
        help_text=_("Used to read phone numbers written without an international prefix."),
    )
    email = models.EmailField(_("contact email"), blank=True)
    phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    website = models.URLField(_("website"), blank=True)
    # No SMS between these local times (in the client's location zone); spans midnight.
    sms_quiet_start = models.TimeField(_("SMS quiet hours from"), default=time(21, 0))
    sms_quiet_end = models.TimeField(_("SMS quiet hours until"), default=time(8, 0))
    # Who the business's SMS come from; blank: the platform's default sender (settings).
    sms_sender = models.CharField(
        _("SMS sender"),
        max_length=40,
        blank=True,
        validators=[validate_sms_sender],
        help_text=_(
            "A Twilio messaging service SID or a phone number in international format. Blank:"
            " the platform's default sender."
        ),
    )
    # Online bookings of clients the business does not know yet wait as "requested" until a
    # member accepts or declines them (appointments.services.approval).
    approve_new_clients = models.BooleanField(
        _("require staff approval for new clients' online bookings"),
        default=False,
        help_text=_(
            "A new client's online booking waits as a request, holding the time, until you"
            " accept or decline it. Returning clients book straight away."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("business")
        verbose_name_plural = _("businesses")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class TenantOwnedModel(models.Model):
    """Base for every model that belongs to one business."""

    tenant = models.ForeignKey(
        Business, on_delete=models.CASCADE, related_name="+", verbose_name=_("business")
    )

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True


class Location(TenantOwnedModel):
    name = models.CharField(_("name"), max_length=200)
    timezone = models.CharField(_("time zone"), max_length=64, validators=[validate_timezone])
    address = models.TextField(_("address"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="location_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    RECEPTIONIST = "receptionist", _("Receptionist")
    PROVIDER = "provider", _("Provider")


# Higher number, more rights. A provider sees their own schedule only.
ROLE_RANK: dict[str, int] = {
    Role.PROVIDER: 10,
    Role.RECEPTIONIST: 20,
    Role.ADMIN: 30,
    Role.OWNER: 40,
}


class Membership(TenantOwnedModel):
    """A user's role in one business."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"

    def has_role_at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class ApiKeyRole(models.TextChoices):
    ADMIN = "admin", _("Admin")
    RECEPTIONIST = "receptionist", _("Receptionist")
    READ_ONLY = "read_only", _("Read-only")


API_KEY_PREFIX = "pnt"


class ApiKey(TenantOwnedModel):
    """A business's key for the REST API. Only a SHA-256 of the key is stored.

    The key is `pnt_<lookup>_<secret>`: `lookup` finds the row, the hash proves the secret.
    The secret has 256 bits of entropy, so a fast hash is enough (no password stretching).
    """

    name = models.CharField(_("name"), max_length=100)
    role = models.CharField(_("role"), max_length=16, choices=ApiKeyRole.choices)
    lookup = models.CharField(max_length=16, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), default=dj_timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "lookup"], name="apikey_unique_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({API_KEY_PREFIX}_{self.lookup}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_key(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @staticmethod
    def generate() -> tuple[str, str]:
        """Return (lookup, raw_key) for a new key."""
        lookup = secrets.token_hex(6)
        return lookup, f"{API_KEY_PREFIX}_{lookup}_{secrets.token_urlsafe(32)}"


class IdempotencyRecord(TenantOwnedModel):
    """The first response to an API request sent with an `Idempotency-Key` header.

    A retry with the same key and the same request gets this response again instead of
    acting twice; the same key with another request is refused.
    """

    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return self.key
