"""The client's appointment page, reached from a link in an SMS or an email. No account needed.

GET and HEAD only read: mail scanners open links, so nothing is written on them — not even
"opened at". Every change is a POST with a CSRF token, performed by the appointment services
with the client as actor, then answered with a 303 back to the page. A replayed POST finds
the action no longer available and changes nothing.

The token is the only credential: it is resolved inside the business's scope (set by
TenantMiddleware from the URL's slug), so another business's token is simply unknown here.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _

from appointments.errors import InvalidTransition, SchedulingError
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    EventKind,
    ServiceMode,
)
from appointments.selectors import availability_for
from appointments.services import (
    Actor,
    appointment_cancel,
    appointment_confirm,
    appointment_reschedule,
)
from appointments.workflow import RESCHEDULABLE
from policies.choices import Action
from policies.services import policy_client_view, policy_decide, policy_decision_message
from reminders.links import link_allows, link_issue, link_resolve
from reminders.models import AccessAction, AppointmentAccess
from tenants.models import Business
from tenants.text import plain_text

ALLOWED_METHODS = ["GET", "HEAD", "POST"]
RESCHEDULE_DAYS = 14
CANCEL_REASON_MAX = 1000

# What a client may do, and what the page offers: (POST action, the link action it needs).
CONFIRM, CANCEL, RESCHEDULE, RESCHEDULE_TO = "confirm", "cancel", "reschedule", "reschedule_to"
CANCEL_DECISIONS = frozenset({Action.CANCEL_BY_CLIENT})


def _secure(response: HttpResponse) -> HttpResponse:
    """Never cached, never indexed, and the token in the URL never sent to another site.

    `same-origin` rather than `no-referrer`: under `no-referrer` browsers send `Origin: null`
    on the page's own form posts, which Django's CSRF check rightly refuses. `same-origin`
    still gives other sites (the map, the meeting link) no Referer at all.
    """
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


def _language(request: HttpRequest, tenant: Business, appointment: Appointment | None) -> str:
    """The switcher's choice (the language cookie), else the client's, else the business's."""
    supported = {code for code, _name in settings.LANGUAGES}
    for candidate in (
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
        appointment.client.language if appointment is not None else None,
        tenant.language,
    ):
        if candidate in supported:
            return str(candidate)
    return str(settings.LANGUAGE_CODE)


def _render(
    request: HttpRequest,
    template: str,
    context: dict[str, object],
    *,
    language: str,
    status: int = 200,
) -> HttpResponse:
    request.LANGUAGE_CODE = language
    response = render(request, template, context, status=status)
    response["Content-Language"] = language
    return _secure(response)


# --- What the page says ------------------------------------------------------------------------


@dataclass(frozen=True)
class When:
    day: str  # "Tuesday 2 June 2026"
    time: str  # "10:00 AM"
    end_time: str
    zone: str  # "Europe/Madrid time (CEST)"
    iso: str


def _when(moment: datetime, end: datetime, tz: zoneinfo.ZoneInfo, zone_name: str) -> When:
    local, local_end = moment.astimezone(tz), end.astimezone(tz)
    # Translators: a date format (Django's `date` filter letters), e.g. "Tuesday 2 June 2026".
    day_format = _("l j F Y")
    # Translators: a time format (Django's `date` filter letters), e.g. "10:30 AM".
    time_format = _("g:i A")
    return When(
        day=dateformat.format(local, day_format),
        time=dateformat.format(local, time_format),
        end_time=dateformat.format(local_end, time_format),
        zone=_("%(zone)s time (%(abbreviation)s)")
        % {"zone": zone_name, "abbreviation": local.tzname()},
        iso=local.isoformat(),
    )


def _was_declined(appointment: Appointment) -> bool:
    return AppointmentEvent.objects.filter(
        tenant_id=appointment.tenant_id, appointment=appointment, kind=EventKind.DECLINED
    ).exists()


def _status_words(appointment: Appointment, now: datetime, tz: zoneinfo.ZoneInfo) -> str:
    status = appointment.status
    if status == AppointmentStatus.CANCELLED:
        if _was_declined(appointment):
            return _("Not accepted — sorry, the business could not take this request.")
        return _("Cancelled — this appointment will not take place.")
    if status == AppointmentStatus.REQUESTED:
        if now >= appointment.start:
            return _("This request's time has passed.")
        return _("Requested — the business will confirm it; we'll let you know.")
    if status == AppointmentStatus.ATTENDED:
        return _("Done — thank you for coming.")
    if status == AppointmentStatus.NO_SHOW:
        return _("Missed — we did not see you at this appointment.")
    if now >= appointment.end:
        return _("This appointment's time has passed.")
    if now >= appointment.start:
        return _("Happening now.")
    if status == AppointmentStatus.CONFIRMED:
        days = (appointment.start.astimezone(tz).date() - now.astimezone(tz).date()).days
        if days == 0:
            return _("Confirmed — see you today.")
        if days == 1:
            return _("Confirmed — see you tomorrow.")
        # Within a week the weekday says it ("Tuesday"); further ahead, with the date.
        day_format = "l" if days < 7 else _("l j F")
        return _("Confirmed — see you on %(day)s.") % {
            "day": dateformat.format(appointment.start.astimezone(tz), day_format)
        }
    return _("Not confirmed yet — please let us know if you are coming.")


def _available_actions(
    access: AppointmentAccess, appointment: Appointment, now: datetime
) -> set[str]:
    """The actions the client may take now with this link (none once the appointment began)."""
    if now >= appointment.start:
        return set()
    possible: set[str] = set()
    if appointment.status == AppointmentStatus.REQUESTED:
        possible.add(CANCEL)  # the client withdraws their request
    if appointment.status == AppointmentStatus.SCHEDULED:
        possible.add(CONFIRM)
    if appointment.status in (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED):
        possible.add(CANCEL)
    if appointment.status in RESCHEDULABLE:
        possible.add(RESCHEDULE)
    return {action for action in possible if link_allows(access, action)}


def _unavailable_message(appointment: Appointment, action: str) -> str:
    """Why an action the client asked for is not possible now (a replay, or too late)."""
    if appointment.status == AppointmentStatus.CONFIRMED and action == CONFIRM:
        return _("Your appointment is already confirmed.")
    if appointment.status == AppointmentStatus.CANCELLED:
        return _("This appointment is already cancelled.")
    return _("This is no longer possible for this appointment. Please contact us.")


def _where(appointment: Appointment) -> dict[str, str]:
    service, location = appointment.service, appointment.location
    if service.mode == ServiceMode.ONLINE:
        link = service.meeting_link_template.replace("{appointment_id}", str(appointment.pk))
        if link.startswith(("https://", "http://")):
            return {"meeting_link": link}
        return {}
    address = " ".join(location.address.split())
    where = {"location_name": location.name, "address": location.address}
    if address:
        where["map_link"] = "https://www.openstreetmap.org/search?query=" + quote(address)
    return where


def _page_context(
    access: AppointmentAccess, appointment: Appointment, token: str, now: datetime
) -> dict[str, object]:
    location = appointment.location
    tz = zoneinfo.ZoneInfo(location.timezone)
    actions = _available_actions(access, appointment, now)
    # The terms the client booked under, and what each action would mean now, said before
    # they act (one query). A move the terms no longer allow is not offered; why is said.
    policy = policy_client_view(
        appointment=appointment, now=now, language=translation.get_language() or "en"
    )
    move_refused = ""
    if RESCHEDULE in actions and not policy.move.allowed:
        actions.discard(RESCHEDULE)
        move_refused = policy.move.message
    return {
        "appointment": appointment,
        "token": token,
        "when": _when(appointment.start, appointment.end, tz, location.timezone),
        "where": _where(appointment),
        "status_words": _status_words(appointment, now, tz),
        "actions": actions,
        "page_url": request_path(appointment, token),
        "terms_lines": policy.terms if appointment.status in RESCHEDULABLE else [],
        "cancel_sentence": policy.cancel,
        "move_sentence": policy.move.message if policy.move.allowed and policy.terms else "",
        "move_refused": move_refused,
        "is_request": appointment.status == AppointmentStatus.REQUESTED,
        "book_url": (
            reverse("selfservice:book", kwargs={"business_slug": appointment.tenant.slug})
            if appointment.status == AppointmentStatus.CANCELLED
            else ""
        ),
    }


def request_path(appointment: Appointment, token: str) -> str:
    return reverse(
        "public:appointment", kwargs={"business_slug": appointment.tenant.slug, "token": token}
    )


# --- Slots for a reschedule ----------------------------------------------------------------


@dataclass(frozen=True)
class SlotChoice:
    value: str  # ISO start, UTC
    label: str  # "10:30 AM"


@dataclass(frozen=True)
class SlotDay:
    label: str
    day: date
    slots: list[SlotChoice]


def _slot_days(appointment: Appointment, now: datetime) -> list[SlotDay]:
    location = appointment.location
    tz = zoneinfo.ZoneInfo(location.timezone)
    today = now.astimezone(tz).date()
    slots = availability_for(
        tenant=appointment.tenant,
        service=appointment.service,
        location=location,
        start_date=today,
        end_date=today + timedelta(days=RESCHEDULE_DAYS - 1),
        staff=appointment.staff,
        now=now,
        # The appointment's own time is the time it leaves: a move that overlaps it is free.
        exclude_appointment_id=appointment.pk,
    )
    day_format, time_format = _("l j F"), _("g:i A")
    days: dict[date, list[SlotChoice]] = {}
    for slot in slots:
        if slot.start == appointment.start:
            continue
        local = slot.start.astimezone(tz)
        days.setdefault(local.date(), []).append(
            SlotChoice(value=slot.start.isoformat(), label=dateformat.format(local, time_format))
        )
    return [
        SlotDay(
            label=dateformat.format(datetime.combine(day, datetime.min.time()), day_format),
            day=day,
            slots=choices,
        )
        for day, choices in sorted(days.items())
    ]


def _render_slots(
    request: HttpRequest,
    *,
    access: AppointmentAccess,
    appointment: Appointment,
    token: str,
    now: datetime,
    language: str,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = _page_context(access, appointment, token, now)
    context.update(
        {"days": _slot_days(appointment, now), "error": error, "days_ahead": RESCHEDULE_DAYS}
    )
    return _render(request, "public/reschedule.html", context, language=language, status=status)


# --- The view ------------------------------------------------------------------------------


def _link_not_working(
    request: HttpRequest, tenant: Business, token: str, now: datetime
) -> HttpResponse:
    """The friendly page for a link that does not (or no longer) work: 410 once expired, else 404.

    Says nothing about the appointment; only how to reach the business.
    """
    stale = (
        AppointmentAccess.objects.filter(token_hash=AppointmentAccess.hash_token(token))
        .select_related("appointment__client")
        .first()
        if token and len(token) <= 64
        else None
    )
    expired = stale is not None and stale.expires_at <= now
    language = _language(request, tenant, stale.appointment if stale is not None else None)
    with translation.override(language):
        return _render(
            request,
            "public/link_not_working.html",
            {"expired": expired},
            language=language,
            status=410 if expired else 404,
        )


def appointment_page(request: HttpRequest, business_slug: str, token: str) -> HttpResponse:
    if request.method not in ALLOWED_METHODS:
        return _secure(HttpResponseNotAllowed(ALLOWED_METHODS))
    tenant: Business = request.tenant  # type: ignore[attr-defined]
    now = timezone.now()
    access = link_resolve(token=token, now=now)
    if access is None:
        return _link_not_working(request, tenant, token, now)
    appointment = (
        Appointment.objects.select_related("client", "service", "staff", "location", "tenant")
        .filter(pk=access.appointment_id)
        .get()
    )
    language = _language(request, tenant, appointment)
    with translation.override(language):
        if request.method == "POST":
            return _post(
                request, access=access, appointment=appointment, token=token, now=now, lang=language
            )
        return _render(
            request,
            "public/appointment.html",
            _page_context(access, appointment, token, now),
            language=language,
        )


def _post(
    request: HttpRequest,
    *,
    access: AppointmentAccess,
    appointment: Appointment,
    token: str,
    now: datetime,
    lang: str,
) -> HttpResponse:
    action = request.POST.get("action", "")
    back = _secure(redirect(request_path(appointment, token), permanent=False))
    back.status_code = 303
    needed = RESCHEDULE if action == RESCHEDULE_TO else action
    if needed not in (CONFIRM, CANCEL, RESCHEDULE):
        messages.error(request, _("Please choose one of the buttons on the page."))
        return back
    if not link_allows(access, needed):
        return _render(
            request,
            "public/not_allowed.html",
            {"page_url": request_path(appointment, token)},
            language=lang,
            status=403,
        )
    if needed not in _available_actions(access, appointment, now):
        messages.info(request, _unavailable_message(appointment, needed))
        return back
    actor = Actor.client("online")
    try:
        if action == CONFIRM:
            appointment_confirm(appointment=appointment, actor=actor, now=now)
            messages.success(request, _("Thank you — your appointment is confirmed."))
        elif action == CANCEL:
            reason = plain_text(request.POST.get("reason", "")).strip()[:CANCEL_REASON_MAX]
            was_request = appointment.status == AppointmentStatus.REQUESTED
            appointment_cancel(appointment=appointment, actor=actor, reason=reason, now=now)
            if was_request:
                messages.success(request, _("Your request is withdrawn."))
                return back
            # What the terms decided, as recorded, in the client's words.
            outcome = policy_decision_message(appointment=appointment, actions=CANCEL_DECISIONS)
            messages.success(
                request, " ".join(filter(None, [_("Your appointment is cancelled."), outcome]))
            )
        elif action == RESCHEDULE:
            move = policy_decide(
                appointment=appointment,
                action=Action.RESCHEDULE_BY_CLIENT,
                now=now,
                language=lang,
            )
            if not move.allowed:
                messages.info(request, move.message)
                return back
            return _render_slots(
                request,
                access=access,
                appointment=appointment,
                token=token,
                now=now,
                language=lang,
            )
        else:
            return _reschedule_to(
                request, access=access, appointment=appointment, token=token, now=now, lang=lang
            )
    except InvalidTransition:
        appointment.refresh_from_db()
        messages.info(request, _unavailable_message(appointment, needed))
    except SchedulingError as exc:
        messages.error(request, exc.message)
    return back


def _reschedule_to(
    request: HttpRequest,
    *,
    access: AppointmentAccess,
    appointment: Appointment,
    token: str,
    now: datetime,
    lang: str,
) -> HttpResponse:
    try:
        start = datetime.fromisoformat(request.POST.get("start", ""))
    except ValueError:
        start = None
    if start is None or timezone.is_naive(start):
        return _render_slots(
            request,
            access=access,
            appointment=appointment,
            token=token,
            now=now,
            language=lang,
            error=_("Please choose one of the offered times."),
            status=400,
        )
    try:
        with transaction.atomic():
            moved = appointment_reschedule(
                appointment=appointment, start=start, actor=Actor.client("online"), now=now
            )
            # The reschedule retired every link to the old time: here is one for the new time.
            new_token = link_issue(appointment=moved, action=AccessAction.MANAGE, now=now)
    except InvalidTransition as exc:
        appointment.refresh_from_db()
        # Still open: the terms refused the move (moved too often, too late), and say why.
        still_open = appointment.status in RESCHEDULABLE and now < appointment.start
        messages.info(
            request, exc.message if still_open else _unavailable_message(appointment, RESCHEDULE)
        )
        response = _secure(redirect(request_path(appointment, token)))
        response.status_code = 303
        return response
    except SchedulingError as exc:
        return _render_slots(
            request,
            access=access,
            appointment=appointment,
            token=token,
            now=now,
            language=lang,
            error=exc.message,
            status=exc.http_status,
        )
    messages.success(
        request,
        _("Your appointment is moved. Please use this page's new address from now on."),
    )
    response = _secure(redirect(request_path(moved, new_token)))
    response.status_code = 303
    return response
