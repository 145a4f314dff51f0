"""The front desk's changes to an appointment: one-click status actions, cancel (with a
reason and the policy's consequence shown first) and move (to a slot availability offers).

Every change goes through the appointment services, like the API's and the clients' own.
With htmx the result replaces the block, the row or the detail it came from; without
JavaScript the form posts and the page it came from is shown again with a message.
Errors (a slot taken meanwhile, a change the status no longer allows) are messages, never 500s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.availability import one_per_start
from appointments.errors import SchedulingError
from appointments.models import Appointment, AppointmentStatus, CancelledBy, StaffMember
from appointments.selectors import availability_for
from appointments.services import (
    appointment_check_in,
    appointment_confirm,
    appointment_mark_attended,
    appointment_mark_no_show,
    appointment_reschedule,
    appointment_start,
    appointment_transition,
)
from appointments.views_common import (
    actor_of,
    appointment_of,
    business_zone,
    front_desk,
    is_admin,
    is_htmx,
    parse_day,
    parse_id,
    safe_next,
    tenant_of,
)
from appointments.views_reads import (
    STATE_LABELS,
    block_for,
    block_html,
    state_of,
)
from appointments.workflow import RESCHEDULABLE, can_transition
from policies.choices import Action, DepositOutcome
from policies.models import AppointmentTerms
from policies.money import format_money
from policies.selectors import appointment_fee_outstanding
from policies.services import fee_waive, policy_decide
from policies.services.common import agreed_terms
from reminders.models import InboundMessage
from reminders.services.inbound import inbound_mark_handled
from tenants.text import plain_text

ONE_CLICK = {
    "confirm": appointment_confirm,
    "check_in": appointment_check_in,
    "start": appointment_start,
    "attend": appointment_mark_attended,
    "no_show": appointment_mark_no_show,
}

# How many days ahead the move and booking pages look for free times (one availability call).
SLOT_DAYS = 14
REASON_MAX = 1000


def triggers(**events: Any) -> dict[str, str]:
    """An HX-Trigger header: JSON, ASCII-escaped (headers are Latin-1; messages are not)."""
    return {"HX-Trigger": json.dumps(events, ensure_ascii=True)}


def detail_url(appointment: Appointment) -> str:
    return reverse("dashboard:appointment", args=[appointment.pk])


def done_message(action: str, appointment: Appointment) -> str:
    name = appointment.client.name
    return {
        "confirm": _("%(client)s's appointment is confirmed."),
        "check_in": _("%(client)s is checked in."),
        "start": _("%(client)s's appointment has started."),
        "attend": _("%(client)s attended."),
        "no_show": _("%(client)s is marked as a no-show."),
    }[action] % {"client": name}


# --- The policy's consequence, as the front desk reads it ----------------------------------


@dataclass(frozen=True)
class Consequence:
    lines: list[str]  # in the receptionist's language
    client_sentence: str  # what the client is told, in the client's language ("": no terms)
    fee: Decimal
    late: bool
    has_terms: bool


def consequence_of(
    appointment: Appointment, action: str, *, now: datetime, has_terms: bool | None = None
) -> Consequence:
    """What the terms the client booked under say `action` would mean now (nothing written).

    Without stored terms the client agreed to nothing: nothing is charged and "late" means
    nothing either, so it is not said.
    """
    if has_terms is None:
        has_terms = agreed_terms(
            AppointmentTerms.objects.filter(
                tenant_id=appointment.tenant_id, pk=appointment.pk
            ).first()
        )
    decision = policy_decide(appointment=appointment, action=action, now=now)
    currency = appointment.tenant.currency
    language = translation.get_language() or appointment.tenant.language

    def money(amount: Decimal) -> str:
        return format_money(amount, currency, language)

    lines = []
    if decision.late and has_terms:
        lines.append(_("Late: inside the cancellation window."))
    if decision.fee:
        if decision.fee_paid_from_deposit:
            lines.append(
                _("Fee %(fee)s, %(part)s of it taken from the deposit.")
                % {"fee": money(decision.fee), "part": money(decision.fee_paid_from_deposit)}
            )
        else:
            lines.append(_("Fee %(fee)s.") % {"fee": money(decision.fee)})
    if decision.deposit_credited:
        lines.append(
            _("Deposit %(amount)s kept as credit for a new booking.")
            % {"amount": money(decision.deposit_credited)}
        )
    elif decision.deposit == DepositOutcome.KEEP and decision.deposit_kept:
        lines.append(_("Deposit %(amount)s kept.") % {"amount": money(decision.deposit_kept)})
    if decision.deposit_refunded:
        lines.append(
            _("Deposit %(amount)s refunded.") % {"amount": money(decision.deposit_refunded)}
        )
    if not lines:
        lines.append(_("Nothing to pay."))
    return Consequence(
        lines=lines,
        client_sentence=decision.message if has_terms else "",
        fee=decision.fee,
        late=decision.late,
        has_terms=has_terms,
    )


# --- One-click actions ----------------------------------------------------------------------


def _fresh_block(request: HttpRequest, appointment: Appointment) -> str:
    """The appointment's block as it is now, for htmx to swap in place of the old one."""
    zone = business_zone(tenant_of(request))
    now = timezone.now()
    fresh = appointment_of(request, appointment.pk)
    block = block_for(
        fresh,
        zone=zone,
        day=fresh.start.astimezone(zone).date(),
        now=now,
        today=now.astimezone(zone).date(),
    )
    return block_html(block, can_act=True)


def respond(
    request: HttpRequest,
    appointment: Appointment,
    *,
    message: str = "",
    error: str = "",
    extra_events: dict[str, Any] | None = None,
) -> HttpResponse:
    """After a change: with htmx, the part of the page it came from, fresh; without, a redirect
    to that page with the message."""
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        elif message:
            messages.success(request, message)
        return redirect(safe_next(request, detail_url(appointment)))
    view = request.POST.get("view") or request.GET.get("view") or ""
    # A block is swapped in place and only the numbers above the board refresh; the front
    # desk's list and the detail page listen to agendaChanged and refresh themselves.
    events: dict[str, Any] = {
        "numbersChanged" if view == "block" else "agendaChanged": True,
        **(extra_events or {}),
    }
    if error or message:
        events["showMessage"] = {"text": error or message, "level": "error" if error else "ok"}
    if view == "block":
        return HttpResponse(_fresh_block(request, appointment), headers=triggers(**events))
    return HttpResponse(status=204, headers=triggers(**events))


@front_desk
@require_POST
def appointment_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    appointment = appointment_of(request, pk)
    service = ONE_CLICK[action]
    try:
        service(appointment=appointment, actor=actor_of(request))
    except SchedulingError as exc:
        return respond(request, appointment, error=exc.message)
    message = done_message(action, appointment)
    if action == "no_show":
        consequence = consequence_of(appointment, Action.NO_SHOW, now=timezone.now())
        if consequence.has_terms:
            message = " ".join([message, _("Under the client's terms:"), *consequence.lines])
    return respond(request, appointment, message=message)


# --- Cancel ---------------------------------------------------------------------------------


def _cancel_context(
    request: HttpRequest, appointment: Appointment, data: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    now = timezone.now()
    is_open = can_transition(appointment.status, AppointmentStatus.CANCELLED)
    by_client = consequence_of(appointment, Action.CANCEL_BY_CLIENT, now=now) if is_open else None
    by_staff = consequence_of(appointment, Action.CANCEL_BY_STAFF, now=now) if is_open else None
    return {
        "appointment": appointment,
        "state_label": STATE_LABELS[state_of(appointment)],
        "is_open": is_open,
        "by_client": by_client,
        "by_staff": by_staff,
        "can_waive": is_admin(request) and by_client is not None and by_client.fee > 0,
        "data": data,
        "errors": errors,
        "next": safe_next(request, detail_url(appointment)),
        "inbound": data.get("inbound", ""),
    }


def _render_panel(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """A second screen: in the side panel with htmx, a page of its own without."""
    context["as_panel"] = is_htmx(request)
    page = template if not context["as_panel"] else template.replace("dashboard/", "dashboard/_")
    with timezone.override(business_zone(tenant_of(request))):
        return render(request, page, context, status=status)


@front_desk
def appointment_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel with a reason; who asked for it decides the policy's consequence, shown first.
    Admins may waive a fee the cancellation leaves outstanding, with a written reason."""
    appointment = appointment_of(request, pk)
    if request.method != "POST":
        initial = {"by": "client", "inbound": request.GET.get("inbound", "")}
        return _render_panel(
            request, "dashboard/cancel.html", _cancel_context(request, appointment, initial, {})
        )
    data: dict[str, Any] = {
        "by": request.POST.get("by", ""),
        "reason": plain_text(request.POST.get("reason", "")).strip(),
        "waive": request.POST.get("waive") == "on",
        "waive_reason": plain_text(request.POST.get("waive_reason", "")).strip(),
        "inbound": request.POST.get("inbound", ""),
    }
    errors: dict[str, str] = {}
    if data["by"] not in ("client", "business"):
        errors["by"] = _("Say who asked for the cancellation.")
    if not data["reason"]:
        errors["reason"] = _("Write why the appointment is cancelled.")
    elif len(data["reason"]) > REASON_MAX:
        errors["reason"] = _("Keep the reason under %(count)d characters.") % {"count": REASON_MAX}
    if data["waive"] and not is_admin(request):
        errors["waive"] = _("Only owners and admins can waive a fee.")
    elif data["waive"] and not data["waive_reason"]:
        errors["waive_reason"] = _("An exception needs a written reason.")
    if errors:
        context = _cancel_context(request, appointment, data, errors)
        return _render_panel(request, "dashboard/cancel.html", context, status=400)
    actor = actor_of(request)
    try:
        appointment_transition(
            appointment=appointment,
            to_status=AppointmentStatus.CANCELLED,
            actor=actor,
            reason=data["reason"],
            cancelled_by=CancelledBy.CLIENT if data["by"] == "client" else CancelledBy.STAFF,
        )
    except SchedulingError as exc:
        context = _cancel_context(request, appointment, data, {"form": exc.message})
        return _render_panel(request, "dashboard/cancel.html", context, status=409)
    message = _("%(client)s's appointment is cancelled.") % {"client": appointment.client.name}
    if data["waive"] and appointment_fee_outstanding(appointment=appointment) > 0:
        try:
            fee_waive(appointment=appointment, actor=actor, reason=data["waive_reason"])
            message += " " + _("The fee is waived.")
        except (SchedulingError, ValidationError):
            message += " " + _("The fee could not be waived; see the appointment.")
    _mark_inbound_handled(request, appointment, data["inbound"])
    return _after_panel(request, appointment, message)


def _mark_inbound_handled(request: HttpRequest, appointment: Appointment, inbound: str) -> None:
    """The reply in the inbox that led to this change is dealt with (only a reply about it)."""
    inbound_id = parse_id(inbound)
    if inbound_id is None:
        return
    reply = InboundMessage.objects.filter(
        tenant=tenant_of(request), pk=inbound_id, appointment=appointment
    ).first()
    if reply is not None:
        inbound_mark_handled(message=reply)


def _after_panel(request: HttpRequest, appointment: Appointment, message: str) -> HttpResponse:
    if not is_htmx(request):
        messages.success(request, message)
        return redirect(safe_next(request, detail_url(appointment)))
    return HttpResponse(
        status=204,
        headers=triggers(
            closePanel=True,
            agendaChanged=True,
            inboxChanged=True,
            showMessage={"text": message, "level": "ok"},
        ),
    )


# --- Move -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayChoice:
    day: Any
    count: int


def _move_context(
    request: HttpRequest, appointment: Appointment, *, day: Any, staff_choice: str, error: str = ""
) -> dict[str, Any]:
    tenant = tenant_of(request)
    zone = business_zone(tenant)
    now = timezone.now()
    eligible = list(
        StaffMember.objects.filter(
            tenant=tenant,
            is_active=True,
            staffservice__service=appointment.service,
            stafflocation__location=appointment.location,
        )
        .distinct()
        .order_by("display_name")
    )
    names = {member.pk: member.display_name for member in eligible}
    staff = None
    if staff_choice == "any":
        staff = None
    else:
        wanted = parse_id(staff_choice) or appointment.staff_id
        staff = next((m for m in eligible if m.pk == wanted), None)
        staff_choice = str(staff.pk) if staff else "any"
    slots = availability_for(
        tenant=tenant,
        service=appointment.service,
        location=appointment.location,
        start_date=day,
        end_date=day + timedelta(days=SLOT_DAYS - 1),
        staff=staff,
        now=now,
        exclude_appointment_id=appointment.pk,
    )
    if staff is None:
        slots = one_per_start(slots, preference=[appointment.staff_id])
    counts: dict[Any, int] = {}
    for slot in slots:
        local = slot.start.astimezone(zone).date()
        counts[local] = counts.get(local, 0) + 1
    days = [
        DayChoice(day + timedelta(days=i), counts.get(day + timedelta(days=i), 0))
        for i in range(SLOT_DAYS)
    ]
    times = [
        {
            "value": f"{slot.start.isoformat()}|{slot.staff_id}",
            "label": f"{slot.start.astimezone(zone):%H:%M}",
            "staff": names.get(slot.staff_id, ""),
            "is_current": slot.start == appointment.start and slot.staff_id == appointment.staff_id,
        }
        for slot in slots
        if slot.start.astimezone(zone).date() == day
    ]
    return {
        "appointment": appointment,
        "is_open": appointment.status in RESCHEDULABLE,
        "day": day,
        "days": days,
        "times": times,
        "staff_choice": staff_choice,
        "eligible": eligible,
        "error": error,
        "reason": plain_text(request.POST.get("reason", "")).strip()[:REASON_MAX],
        "next": safe_next(request, detail_url(appointment)),
    }


@front_desk
def appointment_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick a new time from what availability offers (the appointment's own time is free to
    it), with its staff member, anyone, or a named one; a slot taken meanwhile shows fresh ones."""
    appointment = appointment_of(request, pk)
    zone = business_zone(tenant_of(request))
    source = request.POST if request.method == "POST" else request.GET
    today = timezone.now().astimezone(zone).date()
    default_day = max(appointment.start.astimezone(zone).date(), today)
    day = parse_day(source.get("date"), default_day)
    staff_choice = source.get("staff", str(appointment.staff_id))
    if request.method != "POST" or "slot" not in request.POST:
        context = _move_context(request, appointment, day=day, staff_choice=staff_choice)
        return _render_panel(request, "dashboard/move.html", context)
    start, staff = _parse_slot(request, request.POST.get("slot", ""))
    if start is None:
        error = _("Choose one of the offered times.")
        context = _move_context(
            request, appointment, day=day, staff_choice=staff_choice, error=error
        )
        return _render_panel(request, "dashboard/move.html", context, status=400)
    try:
        moved = appointment_reschedule(
            appointment=appointment,
            start=start,
            staff=staff,
            actor=actor_of(request),
            reason=plain_text(request.POST.get("reason", "")).strip()[:REASON_MAX],
        )
    except SchedulingError as exc:
        fresh = appointment_of(request, appointment.pk)
        context = _move_context(
            request, fresh, day=day, staff_choice=staff_choice, error=exc.message
        )
        return _render_panel(request, "dashboard/move.html", context, status=409)
    local = moved.start.astimezone(zone)
    message = _("%(client)s's appointment is moved to %(day)s at %(time)s.") % {
        "client": appointment.client.name,
        "day": f"{local:%d/%m}",
        "time": f"{local:%H:%M}",
    }
    return _after_panel(request, moved, message)


def _parse_slot(request: HttpRequest, value: str) -> tuple[datetime | None, StaffMember | None]:
    when, _sep, staff_id = value.partition("|")
    try:
        start = datetime.fromisoformat(when)
    except ValueError:
        return None, None
    if timezone.is_naive(start):
        return None, None
    staff_pk = parse_id(staff_id)
    staff = (
        StaffMember.objects.filter(tenant=tenant_of(request), pk=staff_pk).first()
        if staff_pk is not None
        else None
    )
    if staff is None:
        return None, None
    return start, staff
