"""An appointment's page: where it stands, what can be done, its money, and its history of
events, messages (with their delivery status) and replies, merged by time; notes; the
client's link sent again on demand; an admin's waiver of a fee."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.errors import SchedulingError
from appointments.models import EventKind
from appointments.services.common import record_event
from appointments.views import page_context
from appointments.views_actions import consequence_of, detail_url, triggers
from appointments.views_common import (
    actor_of,
    appointment_of,
    business_zone,
    front_desk,
    is_admin,
    is_front_desk,
    is_htmx,
    members_only,
    tenant_of,
)
from appointments.views_reads import (
    STATE_LABELS,
    actions_for,
    appointment_timeline,
    links_for,
    state_of,
)
from appointments.workflow import OPEN_STATUSES
from policies.choices import Action
from policies.models import AppointmentTerms
from policies.money import format_money
from policies.selectors import appointment_fee_outstanding
from policies.services import fee_waive
from reminders.services.resend import message_resend_link

NOTE_MAX = 2000


@members_only
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_of(request, pk)
    tenant = tenant_of(request)
    zone = business_zone(tenant)
    now = timezone.now()
    state = state_of(appointment)
    front = is_front_desk(request)
    terms = AppointmentTerms.objects.filter(tenant=tenant, pk=appointment.pk).first()
    fee_outstanding = appointment_fee_outstanding(appointment=appointment)
    currency = terms.currency if terms else tenant.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, currency, translation.get_language() or tenant.language)

    actions = (
        actions_for(appointment, now=now, today=now.astimezone(zone).date(), zone=zone)
        if front
        else []
    )
    context: dict[str, Any] = page_context(
        request,
        "day",
        appointment=appointment,
        state=state,
        state_label=STATE_LABELS[state],
        links=links_for(appointment, actions)[1],
        local_day=appointment.start.astimezone(zone).date(),
        timeline=appointment_timeline(appointment, zone=zone),
        terms=terms,
        price=money(appointment.price),
        deposit_required=money(terms.deposit_required) if terms else "",
        deposit_paid=money(terms.deposit_paid) if terms else "",
        fee_outstanding=fee_outstanding,
        fee_outstanding_text=money(fee_outstanding),
        if_cancelled=consequence_of(
            appointment, Action.CANCEL_BY_CLIENT, now=now, has_terms=terms is not None
        )
        if appointment.status in OPEN_STATUSES
        else None,
        can_waive=front and is_admin(request) and fee_outstanding > 0,
        can_resend=front and appointment.status in OPEN_STATUSES,
        resend_key=secrets.token_urlsafe(16),
    )
    with timezone.override(zone):
        if is_htmx(request) and request.headers.get("HX-Target") == "detail":
            return render(request, "dashboard/_detail.html", context)
        return render(request, "dashboard/detail.html", context)


def _back(request: HttpRequest, pk: int, *, message: str = "", error: str = "") -> HttpResponse:
    """A form on the detail page is done: htmx refreshes the page's detail, or a redirect."""
    if is_htmx(request):
        event = {"text": error or message, "level": "error" if error else "ok"}
        return HttpResponse(status=204, headers=triggers(agendaChanged=True, showMessage=event))
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    return redirect(detail_url(appointment_of(request, pk)))


@front_desk
@require_POST
def appointment_add_note(request: HttpRequest, pk: int) -> HttpResponse:
    """A note in the appointment's history: who wrote it and when (notes are never edited)."""
    appointment = appointment_of(request, pk)
    text = request.POST.get("note", "").strip()
    if not text:
        return _back(request, pk, error=_("Write the note first."))
    if len(text) > NOTE_MAX:
        return _back(
            request, pk, error=_("Keep the note under %(count)d characters.") % {"count": NOTE_MAX}
        )
    now = timezone.now()
    with transaction.atomic():
        record_event(
            appointment=appointment,
            kind=EventKind.NOTE,
            actor=actor_of(request),
            at=now,
            from_status=appointment.status,
            to_status=appointment.status,
            reason=text,
        )
    return _back(request, pk, message=_("The note is saved."))


@front_desk
@require_POST
def appointment_resend_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Plan the client's link again (one new message, whatever the number of clicks)."""
    appointment = appointment_of(request, pk)
    try:
        _row, created = message_resend_link(
            appointment=appointment,
            request_key=request.POST.get("key", ""),
            actor=actor_of(request),
        )
    except SchedulingError as exc:
        return _back(request, pk, error=exc.message)
    except ValueError:
        return _back(request, pk, error=_("The page was out of date; try again."))
    if not created:
        return _back(request, pk, message=_("The link was already sent again."))
    return _back(request, pk, message=_("The link goes out to the client within a minute."))


@front_desk
@require_POST
def appointment_waive_fee(request: HttpRequest, pk: int) -> HttpResponse:
    """An owner's or admin's exception: the appointment's outstanding fee is waived, with a
    written reason kept in the history."""
    if not is_admin(request):  # refused by role before any lookup
        return render(request, "dashboard/forbidden.html", status=403)
    appointment = appointment_of(request, pk)
    try:
        fee_waive(
            appointment=appointment,
            actor=actor_of(request),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError:
        return _back(request, pk, error=_("An exception needs a written reason."))
    except SchedulingError as exc:
        return _back(request, pk, error=exc.message)
    return _back(request, pk, message=_("The fee is waived."))
