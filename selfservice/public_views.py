"""The client's self-service pages under /<business slug>/: book, join the waitlist, claim
an offered time, answer the survey. No account; phone-first; no script, no inline style.

Booking is a sequence of plain links (location → service → staff → day and time) that
carry the choices in the query string, then one form posted to the booking service. GET
never writes; every POST is CSRF-protected, rate-limited per IP (and per phone once the
phone is known) and refused when the honeypot field is filled in.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _

from appointments.availability import one_per_start
from appointments.errors import SchedulingError, SlotTaken
from appointments.models import Appointment, AppointmentStatus, Service, StaffMember
from appointments.selectors import availability_for
from appointments.views_booking import booking_terms
from reminders.links import link_resolve
from reminders.models import MessageKind
from reminders.public_views import _when, _where
from reminders.services.content import _ics
from selfservice.forms import BookingForm, ContactForm, SurveyForm, WaitlistForm
from selfservice.models import WaitlistSource
from selfservice.ratelimit import client_ip, rate_limited
from selfservice.services.booking import client_for_self_service, self_service_book
from selfservice.services.survey import SurveyClosed, survey_answer, survey_by_token
from selfservice.services.waitlist import (
    AlreadyTaken,
    OfferExpired,
    offer_by_token,
    offer_state,
    waitlist_join,
    waitlist_offer_claim,
)
from tenants.models import Business, Location

BOOK_DAYS = 14
DEFAULT_LIMITS = {"ip": (30, 3600), "phone": (5, 3600)}


# --- What every page shares --------------------------------------------------------------------


def _tenant(request: HttpRequest) -> Business:
    return request.tenant  # type: ignore[attr-defined]


def _language(request: HttpRequest, tenant: Business) -> str:
    """The switcher's choice (the language cookie), else the business's language."""
    supported = {code for code, _name in settings.LANGUAGES}
    for candidate in (request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), tenant.language):
        if candidate in supported:
            return str(candidate)
    return str(settings.LANGUAGE_CODE)


def _secure(response: HttpResponse) -> HttpResponse:
    """Never cached or indexed; tokens in URLs never leave the site (see reminders' page)."""
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    tenant = _tenant(request)
    language = _language(request, tenant)
    with translation.override(language):
        request.LANGUAGE_CODE = language
        response = render(request, template, {"business": tenant, **context}, status=status)
    response["Content-Language"] = language
    return _secure(response)


def _see_other(url: str) -> HttpResponse:
    response = _secure(redirect(url))
    response.status_code = 303
    return response


def _limits() -> dict[str, tuple[int, int]]:
    return {**DEFAULT_LIMITS, **getattr(settings, "SELFSERVICE_RATE_LIMITS", {})}


def _too_many(request: HttpRequest, scope: str, identity: str) -> bool:
    limit, window = _limits()[scope]
    return rate_limited(scope=scope, identity=identity, limit=limit, window_seconds=window)


def _refused(request: HttpRequest, *, status: int, message: str) -> HttpResponse:
    return _render(request, "selfservice/refused.html", {"message": message}, status=status)


def _slow_down(request: HttpRequest) -> HttpResponse:
    return _refused(
        request,
        status=429,
        message=_("Too many attempts in a short time. Please wait a while and try again."),
    )


def _bot(request: HttpRequest) -> HttpResponse:
    return _refused(
        request,
        status=400,
        message=_("Your request could not be completed. Please contact us by phone."),
    )


def _int(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else None


# --- The choices on the booking page -----------------------------------------------------------


@dataclass
class Choices:
    """What the client chose so far, each checked against what the business offers."""

    tenant: Business
    locations: list[Location]
    location: Location | None = None
    services: list[Service] = field(default_factory=list)
    service: Service | None = None
    staff_options: list[StaffMember] = field(default_factory=list)
    staff: StaffMember | None = None
    anyone: bool = False
    start: datetime | None = None

    @property
    def staff_chosen(self) -> bool:
        return self.anyone or self.staff is not None

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "location": self.location.pk if self.location else None,
            "service": self.service.pk if self.service else None,
            "staff": "any" if self.anyone else (self.staff.pk if self.staff else None),
        }
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    def url(self, name: str = "selfservice:book", **changes: Any) -> str:
        base = reverse(name, kwargs={"business_slug": self.tenant.slug})
        query = urlencode(self.params(**changes))
        return f"{base}?{query}" if query else base


def _choices(tenant: Business, source: Any) -> Choices:
    locations = list(Location.objects.filter(tenant=tenant, is_active=True).order_by("name"))
    choices = Choices(tenant=tenant, locations=locations)
    wanted = _int(source.get("location"))
    if len(locations) == 1:
        choices.location = locations[0]
    else:
        choices.location = next((loc for loc in locations if loc.pk == wanted), None)
    if choices.location is None:
        return choices
    choices.services = list(
        Service.objects.filter(
            tenant=tenant,
            is_active=True,
            staff__is_active=True,
            staff__locations=choices.location,
        )
        .distinct()
        .order_by("name")
    )
    wanted = _int(source.get("service"))
    choices.service = next((s for s in choices.services if s.pk == wanted), None)
    if choices.service is None:
        return choices
    choices.staff_options = list(
        StaffMember.objects.filter(
            tenant=tenant,
            is_active=True,
            services=choices.service,
            locations=choices.location,
        )
        .distinct()
        .order_by("display_name")
    )
    raw_staff = str(source.get("staff", ""))
    if raw_staff == "any":
        choices.anyone = True
    else:
        wanted = _int(raw_staff)
        choices.staff = next((s for s in choices.staff_options if s.pk == wanted), None)
    if len(choices.staff_options) == 1 and not choices.staff_chosen:
        choices.staff = choices.staff_options[0]
    try:
        start = datetime.fromisoformat(str(source.get("start", "")))
    except ValueError:
        start = None
    if start is not None and not timezone.is_naive(start):
        choices.start = start
    return choices


@dataclass(frozen=True)
class TimeLink:
    label: str
    url: str


@dataclass(frozen=True)
class DayLink:
    label: str
    url: str
    selected: bool


def _zone(location: Location) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(location.timezone)


def _zone_label(location: Location, moment: datetime) -> str:
    tz = zoneinfo.ZoneInfo(location.timezone)
    return _("%(zone)s time (%(abbreviation)s)") % {
        "zone": location.timezone,
        "abbreviation": moment.astimezone(tz).tzname(),
    }


def _times(
    choices: Choices, location: Location, service: Service, day_param: str, now: datetime
) -> dict[str, Any]:
    """The days with free times, and the times of the chosen (or first) day."""
    tz = _zone(location)
    today = now.astimezone(tz).date()
    slots = availability_for(
        tenant=choices.tenant,
        service=service,
        location=location,
        start_date=today,
        end_date=today + timedelta(days=BOOK_DAYS - 1),
        staff=choices.staff,
        now=now,
    )
    if choices.staff is None:
        slots = one_per_start(slots)
    by_day: dict[date, list[datetime]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(tz).date(), []).append(slot.start)
    try:
        chosen_day = date.fromisoformat(day_param)
    except ValueError:
        chosen_day = None
    if chosen_day not in by_day:
        chosen_day = min(by_day) if by_day else None
    day_format, time_format = _("D j M"), _("g:i A")
    days = [
        DayLink(
            label=dateformat.format(day, day_format),
            url=choices.url(day=day.isoformat()),
            selected=day == chosen_day,
        )
        for day in sorted(by_day)
    ]
    times_of_day = by_day.get(chosen_day, []) if chosen_day else []
    times = [
        TimeLink(
            label=dateformat.format(start.astimezone(tz), time_format),
            url=choices.url(start=start.isoformat()),
        )
        for start in times_of_day
    ]
    return {
        "days": days,
        "times": times,
        "day_label": dateformat.format(chosen_day, _("l j F")) if chosen_day else "",
        # The zone's name on the chosen day (the abbreviation changes with daylight saving).
        "zone_label": _zone_label(location, times_of_day[0] if times_of_day else now),
        "days_ahead": BOOK_DAYS,
    }


# --- The booking page --------------------------------------------------------------------------


def book(request: HttpRequest, business_slug: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return _secure(HttpResponseNotAllowed(["GET", "HEAD", "POST"]))
    tenant = _tenant(request)
    with translation.override(_language(request, tenant)):
        if request.method == "POST":
            return _book_post(request, tenant)
        choices = _choices(tenant, request.GET)
        return _booking_step(request, choices, now=timezone.now())


def _booking_step(
    request: HttpRequest,
    choices: Choices,
    *,
    now: datetime,
    form: BookingForm | None = None,
    error: str = "",
    status: int = 200,
    day: str = "",
) -> HttpResponse:
    context: dict[str, Any] = {"choices": choices, "error": error}
    location, service = choices.location, choices.service
    if location is None:
        step = "location"
        context["options"] = [
            (location, choices.url(location=location.pk)) for location in choices.locations
        ]
    elif service is None:
        step = "service"
        context["options"] = [
            (service, choices.url(service=service.pk)) for service in choices.services
        ]
    elif not choices.staff_chosen:
        step = "staff"
        context["anyone_url"] = choices.url(staff="any")
        context["options"] = [
            (member, choices.url(staff=member.pk)) for member in choices.staff_options
        ]
    elif choices.start is None:
        step = "time"
        context.update(_times(choices, location, service, day or request.GET.get("day", ""), now))
        context["waitlist_url"] = choices.url("selfservice:waitlist_join")
    else:
        step = "details"
        tz = _zone(location)
        local = choices.start.astimezone(tz)
        context.update(
            {
                "when": _when(
                    choices.start,
                    choices.start + service.duration,
                    tz,
                    location.timezone,
                ),
                "change_time_url": choices.url(day=local.date().isoformat()),
                "form": form or BookingForm(country=choices.tenant.country),
                "terms": booking_terms(
                    tenant=choices.tenant, service=service, client=None, now=now
                ),
                "hidden": choices.params(start=choices.start.isoformat()),
            }
        )
    context["step"] = step
    return _render(request, "selfservice/book.html", context, status=status)


def _book_post(request: HttpRequest, tenant: Business) -> HttpResponse:
    if _too_many(request, "ip", client_ip(request)):
        return _slow_down(request)
    now = timezone.now()
    choices = _choices(tenant, request.POST)
    location, service, start = choices.location, choices.service, choices.start
    if location is None or service is None or not choices.staff_chosen or start is None:
        return _booking_step(request, choices, now=now, error=_("Please choose again."), status=400)
    form = BookingForm(request.POST, country=tenant.country)
    if form.is_bot():
        return _bot(request)
    if not form.is_valid():
        return _booking_step(request, choices, now=now, form=form, status=400)
    data = form.cleaned_data
    if _too_many(request, "phone", data["phone"]):
        return _slow_down(request)
    try:
        _appointment, token = self_service_book(
            tenant=tenant,
            location=location,
            service=service,
            staff=choices.staff,
            start=start,
            name=data["name"],
            phone=data["phone"],
            email=data["email"] or "",
            sms_consent=data["sms_consent"],
            email_consent=data["email_consent"],
            language=translation.get_language() or tenant.language,
            now=now,
        )
    except SlotTaken:
        choices.start = None
        return _booking_step(
            request,
            choices,
            now=now,
            error=_("Sorry, someone has just taken that time. Here are the times still free."),
            status=409,
            day=start.astimezone(_zone(location)).date().isoformat(),
        )
    except SchedulingError as exc:
        choices.start = None
        return _booking_step(request, choices, now=now, error=exc.message, status=400)
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _booking_step(request, choices, now=now, form=form, status=400)
    return _see_other(
        reverse("selfservice:booked", kwargs={"business_slug": tenant.slug, "token": token})
    )


def _appointment_by_link(token: str, now: datetime) -> Appointment:
    access = link_resolve(token=token, now=now)
    if access is None:
        raise Http404
    return (
        Appointment.objects.select_related("client", "service", "staff", "location", "tenant")
        .filter(pk=access.appointment_id)
        .get()
    )


def booked(request: HttpRequest, business_slug: str, token: str) -> HttpResponse:
    """The confirmation: what was booked, the status page's link, add to calendar."""
    if request.method not in ("GET", "HEAD"):
        return _secure(HttpResponseNotAllowed(["GET", "HEAD"]))
    tenant = _tenant(request)
    now = timezone.now()
    appointment = _appointment_by_link(token, now)
    with translation.override(_language(request, tenant)):
        tz = zoneinfo.ZoneInfo(appointment.location.timezone)
        context = {
            "appointment": appointment,
            "when": _when(appointment.start, appointment.end, tz, appointment.location.timezone),
            "where": _where(appointment),
            "status_url": reverse(
                "public:appointment", kwargs={"business_slug": tenant.slug, "token": token}
            ),
            "ics_url": reverse(
                "selfservice:ics", kwargs={"business_slug": tenant.slug, "token": token}
            ),
            # A request waiting for the business: said so, and no calendar entry until accepted.
            "is_request": appointment.status == AppointmentStatus.REQUESTED,
        }
        return _render(request, "selfservice/booked.html", context)


def calendar_file(request: HttpRequest, business_slug: str, token: str) -> HttpResponse:
    """The appointment as an .ics file (the same event the booking email attaches)."""
    if request.method not in ("GET", "HEAD"):
        return _secure(HttpResponseNotAllowed(["GET", "HEAD"]))
    tenant = _tenant(request)
    appointment = _appointment_by_link(token, timezone.now())
    if appointment.status == AppointmentStatus.REQUESTED:
        raise Http404  # nothing to put in a calendar until the business accepts it
    status_url = settings.PUNTUAL_BASE_URL.rstrip("/") + reverse(
        "public:appointment", kwargs={"business_slug": tenant.slug, "token": token}
    )
    response = HttpResponse(
        _ics(
            appointment=appointment,
            kind=MessageKind.BOOKING_CONFIRMATION,
            manage_url=status_url,
        ),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return _secure(response)


# --- The waitlist ------------------------------------------------------------------------------


def waitlist_join_view(request: HttpRequest, business_slug: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return _secure(HttpResponseNotAllowed(["GET", "HEAD", "POST"]))
    tenant = _tenant(request)
    with translation.override(_language(request, tenant)):
        source = request.POST if request.method == "POST" else request.GET
        choices = _choices(tenant, source)
        if choices.service is None:
            return _see_other(choices.url())
        if request.method == "GET" or request.method == "HEAD":
            return _waitlist_page(request, choices, WaitlistForm(country=tenant.country))
        if _too_many(request, "ip", client_ip(request)):
            return _slow_down(request)
        form = WaitlistForm(request.POST, country=tenant.country)
        if form.is_bot():
            return _bot(request)
        if not form.is_valid():
            return _waitlist_page(request, choices, form, status=400)
        data = form.cleaned_data
        if _too_many(request, "phone", data["phone"]):
            return _slow_down(request)
        now = timezone.now()
        try:
            client = client_for_self_service(
                tenant=tenant,
                name=data["name"],
                phone=data["phone"],
                email=data["email"] or "",
                sms_consent=data["sms_consent"],
                email_consent=data["email_consent"],
                language=translation.get_language() or tenant.language,
            )
            waitlist_join(
                tenant=tenant,
                client=client,
                service=choices.service,
                staff=choices.staff,
                location=choices.location,
                weekdays=data["weekdays"],
                parts_of_day=data["parts_of_day"],
                source=WaitlistSource.ONLINE,
                now=now,
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
            return _waitlist_page(request, choices, form, status=400)
        return _render(
            request, "selfservice/waitlist_joined.html", {"choices": choices, "client": client}
        )


def _waitlist_page(
    request: HttpRequest, choices: Choices, form: ContactForm, *, status: int = 200
) -> HttpResponse:
    return _render(
        request,
        "selfservice/waitlist_join.html",
        {"choices": choices, "form": form, "hidden": choices.params(), "back_url": choices.url()},
        status=status,
    )


def offer_page(request: HttpRequest, business_slug: str, token: str) -> HttpResponse:
    """An offered time: GET shows it and the claim button; POST claims it (first wins)."""
    if request.method not in ("GET", "HEAD", "POST"):
        return _secure(HttpResponseNotAllowed(["GET", "HEAD", "POST"]))
    tenant = _tenant(request)
    now = timezone.now()
    offer = offer_by_token(token=token)
    if offer is None:
        raise Http404
    with translation.override(_language(request, tenant)):
        error, status = "", 200
        if request.method == "POST":
            if _too_many(request, "ip", client_ip(request)):
                return _slow_down(request)
            try:
                _appointment, link_token = waitlist_offer_claim(offer=offer, now=now)
            except AlreadyTaken as exc:
                error, status = exc.message, 409
            except OfferExpired as exc:
                error, status = exc.message, 410
            except SchedulingError as exc:
                error, status = exc.message, 409
            else:
                return _see_other(
                    reverse(
                        "selfservice:booked",
                        kwargs={"business_slug": tenant.slug, "token": link_token},
                    )
                )
            offer.refresh_from_db()
            offer.slot.refresh_from_db()
            offer.entry.refresh_from_db()
        slot = offer.slot
        tz = zoneinfo.ZoneInfo(slot.location.timezone)
        context = {
            "offer": offer,
            "slot": slot,
            "state": offer_state(offer, now),
            "error": error,
            "when": _when(
                slot.start, slot.start + slot.service.duration, tz, slot.location.timezone
            ),
            "expires": dateformat.format(offer.expires_at.astimezone(tz), _("g:i A")),
        }
        return _render(request, "selfservice/offer.html", context, status=status)


# --- The survey --------------------------------------------------------------------------------


def survey_page(request: HttpRequest, business_slug: str, token: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return _secure(HttpResponseNotAllowed(["GET", "HEAD", "POST"]))
    tenant = _tenant(request)
    invitation = survey_by_token(token=token)
    if invitation is None:
        raise Http404
    with translation.override(_language(request, tenant)):
        form = SurveyForm(request.POST if request.method == "POST" else None)
        status = 200
        if request.method == "POST":
            if _too_many(request, "ip", client_ip(request)):
                return _slow_down(request)
            if form.is_valid():
                try:
                    survey_answer(
                        invitation=invitation,
                        rating=form.cleaned_data["rating"],
                        comment=form.cleaned_data["comment"],
                        now=timezone.now(),
                    )
                except SurveyClosed:
                    status = 409
                return _render(
                    request,
                    "selfservice/survey_thanks.html",
                    {"already": status == 409},
                    status=status,
                )
            status = 400
        if invitation.answered_at is not None:
            return _render(request, "selfservice/survey_thanks.html", {"already": True})
        return _render(
            request,
            "selfservice/survey.html",
            {"invitation": invitation, "appointment": invitation.appointment, "form": form},
            status=status,
        )
