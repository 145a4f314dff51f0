"""Requests: new clients' online bookings waiting for the business (when it asks to approve
them). The front desk sees them in a queue, oldest first, and on the boards; it accepts one
with a click or declines it with an optional reason. The navigation shows how many wait.

Accepting and declining go through appointments.services.approval, like the API's actions.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.errors import SchedulingError
from appointments.models import Appointment, AppointmentStatus
from appointments.services import appointment_accept, appointment_decline
from appointments.services.approval import DECLINE_REASON_MAX
from appointments.views import page_context
from appointments.views_actions import _after_panel, _render_panel, detail_url, respond
from appointments.views_common import (
    actor_of,
    appointment_of,
    business_zone,
    front_desk,
    is_front_desk,
    is_htmx,
    safe_next,
    tenant_of,
)
from appointments.views_reads import STATE_LABELS, state_of
from tenants.text import plain_text

REQUESTS_LIMIT = 200


def requests_waiting(request: HttpRequest) -> int | None:
    """Requests still to answer, their time ahead (None for providers, who answer none)."""
    if not is_front_desk(request):
        return None
    return Appointment.objects.filter(
        tenant=tenant_of(request), status=AppointmentStatus.REQUESTED, start__gt=timezone.now()
    ).count()


@front_desk
def requests_page(request: HttpRequest) -> HttpResponse:
    """The queue: every request waiting for an answer, the soonest first (its time is nearest)."""
    tenant = tenant_of(request)
    now = timezone.now()
    pending = list(
        Appointment.objects.filter(tenant=tenant, status=AppointmentStatus.REQUESTED)
        .select_related("client", "service", "staff", "location")
        .order_by("start", "pk")[:REQUESTS_LIMIT]
    )
    for appointment in pending:
        appointment.is_past = appointment.start <= now  # type: ignore[attr-defined]
    context = page_context(request, "requests", requests=pending, decline_max=DECLINE_REASON_MAX)
    with timezone.override(business_zone(tenant)):
        if is_htmx(request) and request.headers.get("HX-Target") == "requests":
            return render(request, "dashboard/_requests.html", context)
        return render(request, "dashboard/requests.html", context)


@front_desk
def requests_count(request: HttpRequest) -> HttpResponse:
    """The navigation's count of requests waiting (htmx refreshes it)."""
    return render(
        request, "dashboard/_requests_count.html", {"requests_waiting": requests_waiting(request)}
    )


@front_desk
@require_POST
def appointment_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_of(request, pk)
    try:
        appointment_accept(appointment=appointment, actor=actor_of(request))
    except SchedulingError as exc:
        return respond(request, appointment, error=exc.message, extra_events={"requestsChanged": 1})
    message = _("%(client)s's request is accepted: the client is told.") % {
        "client": appointment.client.name
    }
    return respond(request, appointment, message=message, extra_events={"requestsChanged": 1})


def _decline_context(
    request: HttpRequest, appointment: Appointment, *, reason: str = "", error: str = ""
) -> dict[str, Any]:
    state = state_of(appointment)
    return {
        "appointment": appointment,
        "is_request": appointment.status == AppointmentStatus.REQUESTED,
        "state_label": STATE_LABELS[state],
        "reason": reason,
        "error": error,
        "decline_max": DECLINE_REASON_MAX,
        "next": safe_next(request, detail_url(appointment)),
    }


@front_desk
def appointment_decline_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the decline form (an optional reason, kept in the history; the client is told the
    request was not accepted). POST: decline it."""
    appointment = appointment_of(request, pk)
    if request.method != "POST":
        return _render_panel(
            request, "dashboard/decline.html", _decline_context(request, appointment)
        )
    reason = plain_text(request.POST.get("reason", "")).strip()
    if len(reason) > DECLINE_REASON_MAX:
        context = _decline_context(
            request,
            appointment,
            reason=reason,
            error=_("Keep the reason under %(count)d characters.") % {"count": DECLINE_REASON_MAX},
        )
        return _render_panel(request, "dashboard/decline.html", context, status=400)
    try:
        appointment_decline(appointment=appointment, actor=actor_of(request), reason=reason)
    except SchedulingError as exc:
        fresh = appointment_of(request, appointment.pk)
        context = _decline_context(request, fresh, reason=reason, error=exc.message)
        return _render_panel(request, "dashboard/decline.html", context, status=409)
    message = _("%(client)s's request is declined: the client is told.") % {
        "client": appointment.client.name
    }
    return _after_panel(request, appointment, message)
