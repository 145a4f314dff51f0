"""A new appointment from the front desk: find the client (or add them), the service, a staff
member or anyone, a free time from availability, the deposit and terms the client books
under, then book through the same service every channel uses.

One page that works without JavaScript (its buttons reload it with what was chosen); with
htmx, the client search and the free times refresh as the receptionist types and picks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.availability import one_per_start
from appointments.errors import SchedulingError, SlotTaken
from appointments.models import Service, Source, StaffMember
from appointments.selectors import availability_for
from appointments.services import appointment_book_any
from appointments.views import page_context
from appointments.views_actions import SLOT_DAYS, DayChoice, detail_url
from appointments.views_common import (
    actor_of,
    business_zone,
    front_desk,
    is_htmx,
    parse_day,
    parse_id,
    tenant_of,
)
from clients.models import Client
from clients.services import client_find_or_create
from policies.engine import NO_POLICY, Standing, deposit_requirement, describe_terms
from policies.money import format_money
from policies.selectors import effective_policy, flagged_client_ids, reliability_for
from policies.services import terms_from_policy
from tenants.models import Business, Location
from tenants.text import plain_text

SEARCH_RESULTS = 10
NOTES_MAX = 2000


def client_search(*, tenant: Business, query: str) -> QuerySet[Client]:
    """Clients whose name or email contains `query`, or whose phone contains its digits."""
    query = query.strip()[:100]
    if not query:
        return Client.objects.none()
    condition = Q(name__icontains=query) | Q(email__icontains=query)
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 3:
        condition |= Q(phone__contains=digits.lstrip("0") or digits)
    return Client.objects.filter(condition, tenant=tenant).order_by("name", "pk")[:SEARCH_RESULTS]


@dataclass(frozen=True)
class Terms:
    deposit: str  # formatted; "" when none
    lines: list[str]


def booking_terms(
    *, tenant: Business, service: Service, client: Client | None, now: datetime
) -> Terms:
    """The deposit and terms a booking of `service` by `client` (None: a new client) would
    be made under now, as the client reads them (the receptionist reads them out)."""
    policy = effective_policy(tenant=tenant, service=service)
    terms = terms_from_policy(policy) if policy is not None else NO_POLICY
    standing = Standing()
    if client is not None and terms.deposit_kind != "none":
        reliability = reliability_for(
            tenant=tenant,
            client_ids=[client.pk],
            now=now,
            window_months=terms.reliability_window_months,
            threshold=terms.reliability_threshold,
        )[client.pk]
        standing = Standing(
            is_new=reliability.is_new,
            strikes=reliability.strikes,
            flagged=bool(flagged_client_ids(tenant=tenant, client_ids=[client.pk])),
        )
    requirement = deposit_requirement(
        terms, price=service.price, currency=tenant.currency, standing=standing
    )
    language = translation.get_language() or tenant.language
    return Terms(
        deposit=format_money(requirement.amount, tenant.currency, language)
        if requirement.amount > Decimal(0)
        else "",
        lines=describe_terms(
            terms,
            price=service.price,
            currency=tenant.currency,
            language=language,
            requirement=requirement,
        ),
    )


def _pick(options: list[Any], wanted: int | None) -> Any:
    return next((o for o in options if o.pk == wanted), options[0] if options else None)


def _booking_context(
    request: HttpRequest, source: QueryDict, *, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    tenant = tenant_of(request)
    zone = business_zone(tenant)
    now = timezone.now()
    today = now.astimezone(zone).date()
    services = list(Service.objects.filter(tenant=tenant, is_active=True).order_by("name"))
    locations = list(Location.objects.filter(tenant=tenant, is_active=True).order_by("name"))
    service = _pick(services, parse_id(source.get("service")))
    location = _pick(locations, parse_id(source.get("location")))
    eligible: list[StaffMember] = []
    if service is not None and location is not None:
        eligible = list(
            StaffMember.objects.filter(
                tenant=tenant,
                is_active=True,
                staffservice__service=service,
                stafflocation__location=location,
            )
            .distinct()
            .order_by("display_name")
        )
    wanted_staff = parse_id(source.get("staff"))
    staff = next((m for m in eligible if m.pk == wanted_staff), None)
    day = max(parse_day(source.get("day") or source.get("date"), today), today)
    client = None
    client_id = parse_id(source.get("client"))
    if client_id is not None:
        client = Client.objects.filter(tenant=tenant, pk=client_id).first()
    query = source.get("q", "").strip()
    matches = list(client_search(tenant=tenant, query=query))

    days: list[DayChoice] = []
    times: list[dict[str, Any]] = []
    if service is not None and location is not None:
        slots = availability_for(
            tenant=tenant,
            service=service,
            location=location,
            start_date=day,
            end_date=day + timedelta(days=SLOT_DAYS - 1),
            staff=staff,
            now=now,
            booking_window=False,  # the front desk books walk-ins, as the service lets it
        )
        if staff is None:
            slots = one_per_start(slots)
        counts: dict[date, int] = {}
        for slot in slots:
            local_day = slot.start.astimezone(zone).date()
            counts[local_day] = counts.get(local_day, 0) + 1
        days = [
            DayChoice(day + timedelta(days=i), counts.get(day + timedelta(days=i), 0))
            for i in range(SLOT_DAYS)
        ]
        chosen = source.get("slot", "")
        times = [
            {
                "value": slot.start.isoformat(),
                "label": f"{slot.start.astimezone(zone):%H:%M}",
                "checked": slot.start.isoformat() == chosen,
            }
            for slot in slots
            if slot.start.astimezone(zone).date() == day
        ]
    return page_context(
        request,
        "new",
        services=services,
        locations=locations,
        service=service,
        location=location,
        eligible=eligible,
        staff=staff,
        day=day,
        today=today,
        days=days,
        times=times,
        client=client,
        query=query,
        matches=matches,
        searched=bool(query),
        new_client={
            name: plain_text(source.get(name, ""))
            for name in ("name", "phone", "email", "language", "sms_consent", "email_consent")
        },
        notes=plain_text(source.get("notes", ""))[:NOTES_MAX],
        terms=booking_terms(tenant=tenant, service=service, client=client, now=now)
        if service is not None
        else None,
        errors=errors or {},
        # Not "languages": base.html assigns that name for its language switcher.
        language_options=[("", _("The business's language")), ("es", "Español"), ("en", "English")],
    )


def _render(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    target = request.headers.get("HX-Target") if is_htmx(request) else None
    template = {
        "client-results": "dashboard/_client_results.html",
        "booking-slots": "dashboard/_booking_slots.html",
    }.get(target or "", "dashboard/new.html")
    with timezone.override(business_zone(tenant_of(request))):
        return render(request, template, context, status=status)


@front_desk
def appointment_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" or request.POST.get("do") != "book":
        # Searching, choosing a day or asking for the free times again (without JavaScript
        # the page's buttons post it back): nothing is written.
        source = request.POST if request.method == "POST" else request.GET
        return _render(request, _booking_context(request, source))
    data = request.POST
    context = _booking_context(request, data)
    tenant = tenant_of(request)
    errors: dict[str, str] = {}
    service, location, client = context["service"], context["location"], context["client"]
    if service is None or location is None:
        errors["service"] = _("Choose a service.")
    start = None
    try:
        start = datetime.fromisoformat(data.get("slot", ""))
    except ValueError:
        errors["slot"] = _("Choose a free time.")
    if start is not None and timezone.is_naive(start):
        errors["slot"] = _("Choose a free time.")
    new_client = context["new_client"]
    if client is None and not new_client["name"].strip():
        errors["name"] = _("Choose a client, or give the new client's name.")
    if data.get("staff") not in (None, "", "any") and context["staff"] is None:
        errors["staff"] = _("This staff member does not offer the service here.")
    if errors or start is None:
        context["errors"] = errors
        return _render(request, context, status=400)
    try:
        with transaction.atomic():
            if client is None:
                client = client_find_or_create(
                    tenant=tenant,
                    name=new_client["name"],
                    phone=new_client["phone"],
                    email=new_client["email"],
                    language=new_client["language"]
                    if new_client["language"] in ("es", "en")
                    else "",
                    sms_consent=bool(new_client["sms_consent"]),
                    email_consent=bool(new_client["email_consent"]),
                )
            appointment = appointment_book_any(
                tenant=tenant,
                location=location,
                service=service,
                staff=context["staff"],
                client=client,
                start=start,
                source=Source.DASHBOARD,
                actor=actor_of(request),
                notes=context["notes"],
            )
    except ValidationError as exc:
        context["errors"] = _client_errors(exc)
        return _render(request, context, status=400)
    except SlotTaken:
        # Someone else took it meanwhile: the times shown now are fresh.
        context = _booking_context(request, _without_slot(data, start, business_zone(tenant)))
        context["errors"] = {
            "slot": _("That time was just taken. Here are the free times now; choose another.")
        }
        return _render(request, context, status=409)
    except SchedulingError as exc:
        context = _booking_context(request, _without_slot(data, start, business_zone(tenant)))
        context["errors"] = {"slot": exc.message}
        return _render(request, context, status=409)
    local = appointment.start.astimezone(business_zone(tenant))
    messages.success(
        request,
        _("%(client)s is booked for %(service)s on %(day)s at %(time)s with %(staff)s.")
        % {
            "client": client.name,
            "service": service.name,
            "day": f"{local:%d/%m}",
            "time": f"{local:%H:%M}",
            "staff": appointment.staff.display_name,
        },
    )
    return redirect(detail_url(appointment))


def _client_errors(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {
            field if field in ("name", "phone", "email") else "client": " ".join(messages_)
            for field, messages_ in exc.message_dict.items()
        }
    return {"client": " ".join(exc.messages)}


def _without_slot(data: QueryDict, start: datetime, zone: Any) -> QueryDict:
    """The form as posted, without the time that was taken, on that time's day."""
    fresh = data.copy()
    fresh.pop("slot", None)
    fresh["date"] = start.astimezone(zone).date().isoformat()
    fresh.pop("day", None)
    return fresh
