"""The receptionist's dashboard: the day view (home), a staff member's week, the front desk's
list of today. Other pages live in views_*.py: actions, booking, detail, clients, inbox.

Pages are plain server-rendered HTML that work without JavaScript; with htmx, the same views
answer a fragment (the board, the list) so that filters, moves and refreshes swap in place.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from appointments.models import Service, StaffMember
from appointments.views_common import (
    business_zone,
    front_desk,
    is_front_desk,
    is_htmx,
    members_only,
    own_staff,
    parse_day,
    parse_id,
    tenant_of,
)
from appointments.views_reads import ACTIONS, day_board, front_desk_day, paint, week_board
from reminders.models import InboundMessage
from tenants.models import Location


def inbox_unread(request: HttpRequest) -> int | None:
    """SMS replies waiting for a person (None for providers, who have no inbox)."""
    if not is_front_desk(request):
        return None
    return InboundMessage.objects.filter(
        tenant=tenant_of(request),
        outcome=InboundMessage.Outcome.NEEDS_HUMAN,
        handled_at__isnull=True,
    ).count()


def _requests_waiting(request: HttpRequest) -> int | None:
    """Requests to answer, for the navigation's badge (only where the business approves)."""
    if not tenant_of(request).approve_new_clients:
        return None
    from appointments.views_requests import requests_waiting  # it builds on this module

    return requests_waiting(request)


def page_context(request: HttpRequest, nav: str, **extra: Any) -> dict[str, Any]:
    """What every dashboard page's frame needs: the active section, the inbox's count, rights."""
    return {
        "nav": nav,
        "inbox_unread": inbox_unread(request),
        "requests_waiting": _requests_waiting(request),
        "can_act": is_front_desk(request),
        "action_labels": {name: label for name, (_suffix, label) in ACTIONS.items()},
        "tz_name": tenant_of(request).timezone,
        **extra,
    }


@members_only
def dashboard_home(request: HttpRequest) -> HttpResponse:
    """The day view: a column per staff member, time down the side, blocks by status."""
    tenant = tenant_of(request)
    zone = business_zone(tenant)
    now = timezone.now()
    today = now.astimezone(zone).date()
    day = parse_day(request.GET.get("date"), today)
    mine = own_staff(request)
    filters = {
        "location_id": parse_id(request.GET.get("location")),
        "staff_id": parse_id(request.GET.get("staff")),
        "service_id": parse_id(request.GET.get("service")),
    }
    board = paint(
        day_board(tenant=tenant, day=day, now=now, only_staff=mine, **filters),
        can_act=is_front_desk(request),
    )
    context = page_context(
        request,
        "day",
        board=board,
        day=day,
        today=today,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        filters=filters,
        provider=mine,
    )
    with timezone.override(zone):
        target = request.headers.get("HX-Target") if is_htmx(request) else None
        if target in ("board", "numbers"):  # a refresh of the board, or of its numbers only
            return render(request, f"dashboard/_day_{target}.html", context)
        if mine is None:
            context["locations"] = list(
                Location.objects.filter(tenant=tenant, is_active=True).order_by("name")
            )
            context["services"] = list(
                Service.objects.filter(tenant=tenant, is_active=True).order_by("name")
            )
            context["staff_options"] = list(
                StaffMember.objects.filter(tenant=tenant, is_active=True).order_by("display_name")
            )
        return render(request, "dashboard/day.html", context)


@members_only
def week_view(request: HttpRequest) -> HttpResponse:
    """One staff member's week, a column per day (a provider's own week)."""
    tenant = tenant_of(request)
    zone = business_zone(tenant)
    now = timezone.now()
    today = now.astimezone(zone).date()
    day = parse_day(request.GET.get("date"), today)
    mine = own_staff(request)
    if mine is not None:  # a provider: their own week (none when not linked to a staff member)
        staff_options = [mine] if mine.pk is not None else []
    else:
        staff_options = list(
            StaffMember.objects.filter(tenant=tenant, is_active=True).order_by("display_name")
        )
    wanted = parse_id(request.GET.get("staff"))
    staff = next((s for s in staff_options if s.pk == wanted), None) or (
        staff_options[0] if staff_options else None
    )
    board = (
        paint(week_board(tenant=tenant, staff=staff, day=day, now=now), can_act=mine is None)
        if staff
        else None
    )
    monday = day - timedelta(days=day.weekday())
    context = page_context(
        request,
        "week",
        board=board,
        staff=staff,
        staff_options=staff_options if mine is None else [],
        day=day,
        today=today,
        monday=monday,
        sunday=monday + timedelta(days=6),
        previous_week=day - timedelta(days=7),
        next_week=day + timedelta(days=7),
    )
    with timezone.override(zone):
        if is_htmx(request) and request.headers.get("HX-Target") == "board":
            return render(request, "dashboard/_week_board.html", context)
        return render(request, "dashboard/week.html", context)


@front_desk
def front_desk_view(request: HttpRequest) -> HttpResponse:
    """Today at the front desk: who is waiting (in arrival order, for how long), who is with
    staff, who is expected, who is done."""
    tenant = tenant_of(request)
    zone = business_zone(tenant)
    now = timezone.now()
    desk = front_desk_day(tenant=tenant, now=now)
    context = page_context(request, "desk", desk=desk, today=now.astimezone(zone).date())
    with timezone.override(zone):
        if is_htmx(request) and request.headers.get("HX-Target") == "desk":
            return render(request, "dashboard/_desk.html", context)
        return render(request, "dashboard/desk.html", context)
