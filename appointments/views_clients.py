"""Clients for the front desk: finding one, and a client's page (contact, consent, language,
reliability and money, upcoming appointments, history with outcomes, notes)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from appointments.models import Appointment, AppointmentStatus
from appointments.views import page_context
from appointments.views_actions import triggers
from appointments.views_booking import client_search
from appointments.views_common import business_zone, front_desk, is_htmx, tenant_of
from appointments.views_reads import STATE_LABELS, ended_requests, state_of
from appointments.workflow import UPCOMING_STATUSES
from clients.models import Client
from clients.services import client_update
from policies.choices import Outcome, Tier
from policies.models import ClientFlag
from policies.money import format_money
from policies.selectors import available_credits, client_balance, reliability_for
from tenants.text import plain_text

NOTES_MAX = 5000
HISTORY_LIMIT = 100


@front_desk
def client_list(request: HttpRequest) -> HttpResponse:
    """Find a client by name, phone or email (the newest first when nothing is asked)."""
    tenant = tenant_of(request)
    query = request.GET.get("q", "").strip()
    clients = (
        list(client_search(tenant=tenant, query=query))
        if query
        else list(Client.objects.filter(tenant=tenant).order_by("-created_at", "-pk")[:20])
    )
    context = page_context(request, "clients", clients=clients, query=query)
    if is_htmx(request) and request.headers.get("HX-Target") == "client-list":
        return render(request, "dashboard/_client_list.html", context)
    return render(request, "dashboard/clients.html", context)


def _outcome_label(appointment: Appointment, ended_requests: dict[int, str]) -> str:
    """How the appointment ended, as the policies recorded it when they did (a late
    cancellation is not an on-time one), else as a request (declined, withdrawn), else its
    status."""
    terms = getattr(appointment, "policy_terms", None)
    if terms is not None and terms.outcome:
        return str(Outcome(terms.outcome).label)
    if appointment.pk in ended_requests:
        return ended_requests[appointment.pk]
    return str(STATE_LABELS[state_of(appointment)])


@front_desk
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = tenant_of(request)
    client: Client = get_object_or_404(Client.objects.filter(tenant=tenant), pk=pk)
    now = timezone.now()
    zone = business_zone(tenant)
    appointments = list(
        Appointment.objects.filter(tenant=tenant, client=client)
        .select_related("service", "staff", "policy_terms")
        .order_by("-start", "-pk")[:HISTORY_LIMIT]
    )
    upcoming = sorted(
        (a for a in appointments if a.status in UPCOMING_STATUSES and a.end >= now),
        key=lambda a: a.start,
    )
    history = [a for a in appointments if a not in upcoming]
    requests = ended_requests(
        tenant_id=tenant.pk,
        appointment_ids=[a.pk for a in history if a.status == AppointmentStatus.CANCELLED],
    )
    for appointment in appointments:
        appointment.outcome_label = _outcome_label(appointment, requests)  # type: ignore[attr-defined]
        appointment.state = state_of(appointment)  # type: ignore[attr-defined]
    reliability = reliability_for(tenant=tenant, client_ids=[client.pk], now=now)[client.pk]
    balance = client_balance(tenant=tenant, client_id=client.pk, now=now)
    flag = ClientFlag.objects.filter(tenant=tenant, client=client).first()

    def money(amount: Decimal) -> str:
        return format_money(amount, tenant.currency, translation.get_language() or "en")

    context = page_context(
        request,
        "clients",
        client=client,
        upcoming=upcoming,
        history=history,
        reliability=reliability,
        tier_label=Tier(reliability.tier).label,
        balance=balance,
        deposits_held=money(balance.deposits_held),
        fees_owed=money(balance.fees_owed),
        credit=money(balance.credit),
        # Each credit with the last day a booking may use it (it lapses at that day's end).
        credits=[
            {"amount": money(c.amount), "until": (c.expires_at - timedelta(microseconds=1))}
            for c in (
                available_credits(tenant=tenant, client_id=client.pk, now=now)
                if balance.credit > 0
                else []
            )
        ],
        flag=flag,
        language_label=dict(settings.LANGUAGES).get(client.language, _("The business's language")),
        attended=sum(1 for a in appointments if a.status == AppointmentStatus.ATTENDED),
        now=now,
    )
    with timezone.override(zone):
        return render(request, "dashboard/client.html", context)


@front_desk
@require_POST
def client_notes(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = tenant_of(request)
    client: Client = get_object_or_404(Client.objects.filter(tenant=tenant), pk=pk)
    notes = plain_text(request.POST.get("notes", "")).strip()
    error = ""
    if len(notes) > NOTES_MAX:
        error = _("Keep the notes under %(count)d characters.") % {"count": NOTES_MAX}
    else:
        try:
            client_update(client=client, notes=notes)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    message = _("The client's notes are saved.")
    if is_htmx(request):
        event = {"text": error or message, "level": "error" if error else "ok"}
        return HttpResponse(status=204, headers=triggers(showMessage=event))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    return redirect(reverse("dashboard:client", args=[client.pk]))
