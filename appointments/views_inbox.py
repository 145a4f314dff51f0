"""The inbox: clients' SMS replies Puntual could not act on, for a person. Each shows the
appointment it is about, with one click to confirm it (and mark the reply handled), to
cancel or move it, or to mark the reply handled; the navigation shows how many wait."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.errors import SchedulingError
from appointments.services import appointment_confirm
from appointments.views import inbox_unread, page_context
from appointments.views_actions import triggers
from appointments.views_common import actor_of, business_zone, front_desk, is_htmx, tenant_of
from appointments.views_reads import STATE_LABELS, state_of
from appointments.workflow import can_transition
from reminders.models import InboundMessage
from reminders.services.inbound import inbound_mark_handled

INBOX_LIMIT = 200


@front_desk
def inbox(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    show_all = request.GET.get("all") == "1"
    replies = InboundMessage.objects.filter(
        tenant=tenant, outcome=InboundMessage.Outcome.NEEDS_HUMAN
    ).select_related("client", "appointment__service", "appointment__staff")
    if not show_all:
        replies = replies.filter(handled_at__isnull=True)
    items = list(replies.order_by("-received_at", "-pk")[:INBOX_LIMIT])
    for reply in items:
        appointment = reply.appointment
        if appointment is not None:
            appointment.state = state_of(appointment)  # type: ignore[attr-defined]
            appointment.state_label = STATE_LABELS[appointment.state]  # type: ignore[attr-defined]
            reply.can_confirm = can_transition(appointment.status, "confirmed")  # type: ignore[attr-defined]
            reply.can_change = appointment.status in ("scheduled", "confirmed")  # type: ignore[attr-defined]
    context = page_context(request, "inbox", replies=items, show_all=show_all)
    with timezone.override(business_zone(tenant)):
        if is_htmx(request) and request.headers.get("HX-Target") == "inbox":
            return render(request, "dashboard/_inbox.html", context)
        return render(request, "dashboard/inbox.html", context)


@front_desk
def inbox_count(request: HttpRequest) -> HttpResponse:
    """The navigation's count of replies waiting (htmx refreshes it on every page)."""
    return render(request, "dashboard/_inbox_count.html", {"inbox_unread": inbox_unread(request)})


def _done(request: HttpRequest, *, message: str = "", error: str = "") -> HttpResponse:
    if is_htmx(request):
        event = {"text": error or message, "level": "error" if error else "ok"}
        return HttpResponse(
            status=204,
            headers=triggers(inboxChanged=True, agendaChanged=True, showMessage=event),
        )
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    return redirect(reverse("dashboard:inbox"))


@front_desk
@require_POST
def inbox_handled(request: HttpRequest, pk: int) -> HttpResponse:
    reply: InboundMessage = get_object_or_404(
        InboundMessage.objects.filter(tenant=tenant_of(request)), pk=pk
    )
    inbound_mark_handled(message=reply)
    return _done(request, message=_("The reply is marked as handled."))


@front_desk
@require_POST
def inbox_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm the appointment the reply is about, and mark the reply handled."""
    reply: InboundMessage = get_object_or_404(
        InboundMessage.objects.filter(tenant=tenant_of(request)).select_related("appointment"),
        pk=pk,
    )
    if reply.appointment is None:
        return _done(request, error=_("This reply is about no appointment."))
    try:
        appointment_confirm(appointment=reply.appointment, actor=actor_of(request))
    except SchedulingError as exc:
        return _done(request, error=exc.message)
    inbound_mark_handled(message=reply)
    return _done(request, message=_("The appointment is confirmed and the reply handled."))
