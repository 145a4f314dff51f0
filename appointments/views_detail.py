"""An appointment's page: where it stands, what can be done, its money, and its history of
events, messages (with their delivery status) and replies, merged by time; notes; the
client's link sent again on demand; an admin's waiver of a fee."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.errors import SchedulingError
from appointments.models import AppointmentStatus
from appointments.services import notes as note_services
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
    ended_requests,
    links_for,
    state_of,
)
from appointments.workflow import OPEN_STATUSES
from policies.choices import Action, DepositStatus, PaymentMethod
from policies.models import AppointmentTerms, PolicyDecision
from policies.money import format_money, parse_money
from policies.payments import STAFF_METHODS
from policies.selectors import appointment_fee_outstanding, appointment_kept_not_credited
from policies.services import credit_keep, deposit_mark_paid, fee_mark_paid, fee_waive
from policies.services.common import agreed_terms
from policies.services.decisions import terms_sentences_of
from reminders.services.resend import message_resend_link
from tenants.text import plain_text

REFERENCE_MAX = 200


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
    deposit_outstanding = (
        terms.deposit_required - terms.deposit_paid
        if terms is not None and terms.deposit_status == DepositStatus.PENDING
        else Decimal("0")
    )
    decisions = (
        list(
            PolicyDecision.objects.filter(tenant=tenant, appointment=appointment).order_by(
                "at", "id"
            )
        )
        if terms is not None
        else []
    )
    # Something of the deposit kept and not yet credit: an admin may turn it into credit.
    kept = (
        appointment_kept_not_credited(appointment=appointment)
        if terms is not None and terms.deposit_status == DepositStatus.KEPT
        else Decimal("0")
    )

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
        state_label=(
            ended_requests(tenant_id=tenant.pk, appointment_ids=[appointment.pk]).get(
                appointment.pk
            )
            if appointment.status == AppointmentStatus.CANCELLED
            else None
        )
        or STATE_LABELS[state],
        links=links_for(appointment, actions)[1],
        local_day=appointment.start.astimezone(zone).date(),
        timeline=appointment_timeline(appointment, zone=zone),
        terms=terms,
        price=money(appointment.price),
        deposit_required=money(terms.deposit_required) if terms else "",
        deposit_paid=money(terms.deposit_paid) if terms else "",
        fee_outstanding=fee_outstanding,
        fee_outstanding_text=money(fee_outstanding),
        deposit_outstanding=deposit_outstanding,
        deposit_outstanding_text=money(deposit_outstanding),
        decisions=[
            {
                "record": record,
                "fee": money(record.fee) if record.fee else "",
                "amount": money(record.amount) if record.amount else "",
            }
            for record in decisions
        ],
        kept_text=money(kept),
        terms_lines=terms_sentences_of(
            appointment, terms, language=translation.get_language() or tenant.language
        ),
        can_pay_deposit=front and deposit_outstanding > 0,
        can_pay_fee=front and fee_outstanding > 0,
        can_keep_credit=front and is_admin(request) and kept > 0,
        methods=[(m.value, m.label) for m in PaymentMethod if m in STAFF_METHODS],
        if_cancelled=consequence_of(
            appointment, Action.CANCEL_BY_CLIENT, now=now, has_terms=agreed_terms(terms)
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
    try:
        note_services.appointment_add_note(
            appointment=appointment,
            actor=actor_of(request),
            text=plain_text(request.POST.get("note", "")),
        )
    except ValidationError as exc:
        return _back(request, pk, error=_first_error(exc))
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
            reason=plain_text(request.POST.get("reason", "")),
        )
    except ValidationError:
        return _back(request, pk, error=_("An exception needs a written reason."))
    except SchedulingError as exc:
        return _back(request, pk, error=exc.message)
    return _back(request, pk, message=_("The fee is waived."))


def _first_error(exc: ValidationError) -> str:
    return str(exc.messages[0]) if exc.messages else _("Check the form.")


@front_desk
@require_POST
def appointment_record_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """The front desk took the deposit or the fee (cash, card, transfer...): recorded in the
    client's ledger with how and a reference, through the "recorded by staff" provider."""
    appointment = appointment_of(request, pk)
    what = request.POST.get("payment_for", "")
    method = request.POST.get("method", "")
    reference = plain_text(request.POST.get("reference", "")).strip()[:REFERENCE_MAX]
    actor = actor_of(request)
    try:
        if what == "deposit":
            entry = deposit_mark_paid(
                appointment=appointment, actor=actor, method=method, reference=reference
            )
            message = _("Deposit of %(amount)s recorded as paid.")
        elif what == "fee":
            raw = request.POST.get("amount", "").strip()
            amount = parse_money(raw) if raw else None
            if raw and amount is None:
                return _back(request, pk, error=_("Give the amount as a number, e.g. 12.50."))
            entry = fee_mark_paid(
                appointment=appointment,
                actor=actor,
                method=method,
                reference=reference,
                amount=amount,
            )
            message = _("Fee payment of %(amount)s recorded.")
        else:
            return _back(request, pk, error=_("Say what the client paid: the deposit or the fee."))
    except ValidationError as exc:
        return _back(request, pk, error=_first_error(exc))
    except SchedulingError as exc:
        return _back(request, pk, error=exc.message)
    language = translation.get_language() or appointment.tenant.language
    return _back(
        request,
        pk,
        message=message % {"amount": format_money(entry.amount, entry.currency, language)},
    )


@front_desk
@require_POST
def appointment_keep_credit(request: HttpRequest, pk: int) -> HttpResponse:
    """An owner's or admin's exception: the deposit kept for this appointment becomes credit
    for the client's next booking, with a written reason kept in the history."""
    if not is_admin(request):  # refused by role before any lookup
        return render(request, "dashboard/forbidden.html", status=403)
    appointment = appointment_of(request, pk)
    try:
        credit_keep(
            appointment=appointment,
            actor=actor_of(request),
            reason=plain_text(request.POST.get("reason", "")),
        )
    except ValidationError as exc:
        return _back(request, pk, error=_first_error(exc))
    except SchedulingError as exc:
        return _back(request, pk, error=exc.message)
    return _back(request, pk, message=_("The kept deposit is now credit for a new booking."))
