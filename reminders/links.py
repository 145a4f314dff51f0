"""Clients' links to their appointment: issued for one action and one version, expiring.

`link_issue` returns the raw token (only its hash is stored); `link_resolve` answers with the
access row only while the link is valid for that action and the appointment's current version.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from reminders.models import AccessAction, AppointmentAccess

# A link lives until a week after the appointment: long enough to see what happened.
LINK_LIFETIME_AFTER_START = timedelta(days=7)


def link_issue(*, appointment: Appointment, action: str, now: datetime | None = None) -> str:
    """A new raw token for `action` on the appointment's current version."""
    now = now or timezone.now()
    token = AppointmentAccess.new_token()
    AppointmentAccess.objects.create(
        tenant_id=appointment.tenant_id,
        appointment=appointment,
        action=action,
        appointment_version=appointment.version,
        token_hash=AppointmentAccess.hash_token(token),
        expires_at=max(appointment.start, now) + LINK_LIFETIME_AFTER_START,
        created_at=now,
    )
    return token


def link_url(*, appointment: Appointment, token: str) -> str:
    """The absolute URL of a client link (PUNTUAL_BASE_URL + the business's public path)."""
    path = reverse(
        "public:appointment", kwargs={"business_slug": appointment.tenant.slug, "token": token}
    )
    return settings.PUNTUAL_BASE_URL.rstrip("/") + path


def link_resolve(*, token: str, now: datetime | None = None) -> AppointmentAccess | None:
    """The access row for `token` in the active business, if the link is still valid.

    Valid: known, not expired, and issued for the appointment's current version (a
    reschedule retires older links). Must run inside the business's scope.
    """
    now = now or timezone.now()
    if not token or len(token) > 64:
        return None
    access = (
        AppointmentAccess.objects.filter(token_hash=AppointmentAccess.hash_token(token))
        .select_related("appointment")
        .first()
    )
    if access is None or access.expires_at <= now:
        return None
    if access.appointment_version != access.appointment.version:
        return None
    return access


def link_allows(access: AppointmentAccess, action: str) -> bool:
    """A manage link allows every client action; the others only their own."""
    return access.action in (AccessAction.MANAGE, action)
