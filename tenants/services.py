"""Writes on businesses, locations, memberships (the team) and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
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


# --- Business profile and locations ------------------------------------------------------

BUSINESS_FIELDS = (
    "name",
    "timezone",
    "language",
    "currency",
    "country",
    "email",
    "phone",
    "website",
    "sms_quiet_start",
    "sms_quiet_end",
    "sms_sender",
    "approve_new_clients",
)
LOCATION_FIELDS = ("name", "timezone", "address", "phone", "is_active")


@transaction.atomic
def business_update(*, business: Business, now: datetime | None = None, **fields: Any) -> Business:
    """Change the business's profile. ValidationError (field errors) on bad input; nothing is
    written then. New quiet hours re-plan the reminders not sent yet, so that what is planned
    is what will happen."""
    unknown = set(fields) - set(BUSINESS_FIELDS)
    if unknown:
        raise TypeError(f"Not a business field: {', '.join(sorted(unknown))}")
    locked = Business.objects.select_for_update().get(pk=business.pk)
    quiet_changed = any(
        name in fields and fields[name] != getattr(locked, name)
        for name in ("sms_quiet_start", "sms_quiet_end")
    )
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    if quiet_changed:
        from reminders.models import ReminderRule  # reminders builds on tenants
        from reminders.services.planning import reminder_rule_replan

        with scope(tenant=locked):
            for rule in ReminderRule.objects.filter(tenant=locked, is_active=True):
                rule.tenant = locked
                reminder_rule_replan(rule=rule, now=now or timezone.now())
    for name in BUSINESS_FIELDS:
        setattr(business, name, getattr(locked, name))
    return locked


def _check_location_name(location: Location) -> None:
    clash = Location.objects.filter(tenant_id=location.tenant_id, name=location.name)
    if location.pk is not None:
        clash = clash.exclude(pk=location.pk)
    if clash.exists():
        raise ValidationError({"name": [_("This name is already used in this business.")]})


def location_create(*, tenant: Business, **fields: Any) -> Location:
    """A new location of the business. ValidationError (field errors) on bad input."""
    unknown = set(fields) - set(LOCATION_FIELDS)
    if unknown:
        raise TypeError(f"Not a location field: {', '.join(sorted(unknown))}")
    location = Location(tenant=tenant, **fields)
    location.full_clean(exclude=["tenant"], validate_constraints=False)
    _check_location_name(location)
    with transaction.atomic():
        location.save()
    return location


def location_update(*, location: Location, **fields: Any) -> Location:
    unknown = set(fields) - set(LOCATION_FIELDS)
    if unknown:
        raise TypeError(f"Not a location field: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(location, name, value)
    location.full_clean(exclude=["tenant"], validate_constraints=False)
    _check_location_name(location)
    with transaction.atomic():
        location.save()
    return location


# --- Team: invitations and roles ---------------------------------------------------------


def membership_can_manage(*, actor: Membership, target: Membership | None, role: str) -> bool:
    """Whether `actor` may give `role` to `target` (None: someone new), or change `target` at all.

    Admins and owners manage the team; only an owner may make an owner or touch one.
    """
    if not actor.has_role_at_least(Role.ADMIN):
        return False
    if actor.role == Role.OWNER:
        return True
    return role != Role.OWNER and (target is None or target.role != Role.OWNER)


def _send_invitation(*, user_id: int, business_id: int, invited_by_id: int | None) -> None:
    """The invitation email, in the person's language (else the business's), with a link to
    choose a password (Django's password reset token) when they have none yet."""
    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils import translation
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = User.objects.get(pk=user_id)
    business = Business.objects.get(pk=business_id)
    inviter = User.objects.filter(pk=invited_by_id).first() if invited_by_id else None
    base = settings.PUNTUAL_BASE_URL.rstrip("/")
    context: dict[str, Any] = {
        "user": user,
        "business": business,
        "inviter": inviter,
        "login_url": base + reverse("login"),
        "set_password_url": "",
    }
    if not user.has_usable_password():
        context["set_password_url"] = base + reverse(
            "password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    with translation.override(user.language or business.language):
        subject = render_to_string("settings/emails/invitation_subject.txt", context)
        body = render_to_string("settings/emails/invitation.txt", context)
    send_mail(" ".join(subject.split()), body, None, [user.email])


@transaction.atomic
def member_invite(
    *, tenant: Business, email: str, role: str, invited_by: User | None = None
) -> tuple[Membership, bool]:
    """Add a person to the business by email, with `role`. Returns (membership, user_created).

    Someone new gets an account with no usable password; the invitation email carries a link
    to choose one (Django's password reset machinery). The email goes after the commit.
    A member already active is refused (ValidationError on `email`).
    """
    if role not in Role.values:
        raise ValidationError({"role": [_("Choose a role.")]})
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        EmailValidator()(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from exc
    user, created = User.objects.get_or_create(email=email, defaults={"language": ""})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership = Membership.objects.select_for_update().filter(tenant=tenant, user=user).first()
    if membership is not None and membership.is_active:
        raise ValidationError({"email": [_("This person is already a member of the team.")]})
    if membership is None:
        membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    else:
        membership.role, membership.is_active = role, True
        membership.save(update_fields=["role", "is_active"])
    invited_by_id = invited_by.pk if invited_by is not None else None
    transaction.on_commit(
        lambda: _send_invitation(
            user_id=user.pk, business_id=tenant.pk, invited_by_id=invited_by_id
        )
    )
    return membership, created


def _lock_active_owners(tenant_id: int) -> list[int]:
    """Lock the business's active owners' rows: two owners demoting each other at once are
    serialised, so one of them stays."""
    return list(
        Membership.objects.select_for_update()
        .filter(tenant_id=tenant_id, role=Role.OWNER, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Membership) -> Membership:
    """Give a member another role. The last active owner stays an owner."""
    if role not in Role.values:
        raise ValidationError({"role": [_("Choose a role.")]})
    if not membership_can_manage(actor=actor, target=membership, role=role):
        raise ValidationError({"role": [_("Only an owner can make or change an owner.")]})
    owners = _lock_active_owners(membership.tenant_id)
    locked = Membership.objects.select_for_update().get(
        pk=membership.pk, tenant_id=membership.tenant_id
    )
    if locked.role == Role.OWNER and role != Role.OWNER and owners == [locked.pk]:
        raise ValidationError(
            {"role": [_("The business needs an owner: make someone else owner first.")]}
        )
    locked.role = role
    locked.save(update_fields=["role"])
    membership.role = role
    return locked


@transaction.atomic
def membership_deactivate(*, membership: Membership, actor: Membership) -> Membership:
    """Take a member's access to the business away (their account stays, for other businesses)."""
    if membership.pk == actor.pk:
        raise ValidationError(_("You can't deactivate yourself."))
    if not membership_can_manage(actor=actor, target=membership, role=membership.role):
        raise ValidationError(_("Only an owner can deactivate an owner."))
    owners = _lock_active_owners(membership.tenant_id)
    locked = Membership.objects.select_for_update().get(
        pk=membership.pk, tenant_id=membership.tenant_id
    )
    if locked.role == Role.OWNER and owners == [locked.pk]:
        raise ValidationError(_("The business needs an owner: make someone else owner first."))
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    membership.is_active = False
    return locked


def membership_reactivate(*, membership: Membership, actor: Membership) -> Membership:
    if not membership_can_manage(actor=actor, target=membership, role=membership.role):
        raise ValidationError(_("Only an owner can reactivate an owner."))
    Membership.objects.filter(pk=membership.pk, tenant_id=membership.tenant_id).update(
        is_active=True
    )
    membership.is_active = True
    return membership
