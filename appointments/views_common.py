"""What every dashboard page shares: who may open it, the business's clock, htmx or not.

The tenant scope (TenantMiddleware) already limits every query to the active business; views
still filter by it explicitly, so that a missing scope could never widen a query.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from appointments.models import Appointment, Channel, StaffMember
from appointments.services import Actor
from tenants.models import Business, Membership, Role, User

View = Callable[..., HttpResponse]


def tenant_of(request: HttpRequest) -> Business:
    return cast(Business, request.tenant)  # type: ignore[attr-defined]


def membership_of(request: HttpRequest) -> Membership:
    return cast(Membership, request.membership)  # type: ignore[attr-defined]


def actor_of(request: HttpRequest) -> Actor:
    return Actor.staff(cast(User, request.user), channel=Channel.DASHBOARD)


def is_htmx(request: HttpRequest) -> bool:
    """A request htmx made for part of a page (a history restore wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _member_guard(view: View, *, least: str | None) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        membership: Membership | None = getattr(request, "membership", None)
        if tenant is None or membership is None:
            return render(request, "dashboard/no_business.html", status=403)
        if least is not None and not membership.has_role_at_least(least):
            # Refused by role before any object is looked up: the answer says nothing about ids.
            return render(request, "dashboard/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def members_only(view: View) -> View:
    """Any member of the active business, providers included (who see their own schedule)."""
    return _member_guard(view, least=None)


def front_desk(view: View) -> View:
    """Receptionists and above: the front desk's pages and every change they make."""
    return _member_guard(view, least=Role.RECEPTIONIST)


def is_front_desk(request: HttpRequest) -> bool:
    return membership_of(request).has_role_at_least(Role.RECEPTIONIST)


def is_admin(request: HttpRequest) -> bool:
    return membership_of(request).has_role_at_least(Role.ADMIN)


def own_staff(request: HttpRequest) -> StaffMember | None:
    """A provider's own staff profile in the business; None for everyone else (who see all).

    A provider whose account is linked to no staff member gets an empty placeholder (pk None),
    so that they see nothing rather than everything.
    """
    if is_front_desk(request):
        return None
    tenant = tenant_of(request)
    user = cast(User, request.user)
    staff = StaffMember.objects.filter(tenant=tenant, user=user).order_by("pk").first()
    return staff or StaffMember(tenant=tenant, display_name="")


def appointment_of(request: HttpRequest, pk: int, *, for_update: bool = False) -> Appointment:
    """The active business's appointment `pk` (404 otherwise); a provider's own ones only."""
    queryset = Appointment.objects.filter(tenant=tenant_of(request)).select_related(
        "client", "service", "staff", "location", "tenant"
    )
    mine = own_staff(request)
    if mine is not None:
        queryset = queryset.filter(staff_id=mine.pk)
    return get_object_or_404(queryset, pk=pk)


def business_zone(tenant: Business) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(tenant.timezone)


def business_today(tenant: Business, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(business_zone(tenant)).date()


def parse_day(value: str | None, default: date) -> date:
    """A YYYY-MM-DD from a query string; anything else (or a year no one books) is `default`."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return default
    return day if 2000 <= day.year <= 2100 else default


def parse_id(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Where to go after a form without JavaScript: the page it came from, if it is ours."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback
