"""What one message says, rendered for its client: text, HTML and, where it belongs, an .ics."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from babel.dates import format_date, format_time, get_timezone_location
from django.utils.html import urlize
from icalendar import Calendar, Event

from appointments.models import Appointment, ServiceMode
from clients.phones import display_phone
from policies.choices import Action
from policies.services import policy_decision_message, policy_terms_sentences
from reminders.links import link_issue, link_url
from reminders.models import AccessAction, Channel, MessageKind, OutboundMessage, Purpose
from reminders.texts import render, rule_text

# The decisions a cancellation notice reports (a release says why the booking was released).
CANCEL_DECISIONS = frozenset(
    {Action.CANCEL_BY_CLIENT, Action.CANCEL_BY_STAFF, Action.RELEASE_UNPAID}
)
ICS_KINDS = (
    MessageKind.BOOKING_CONFIRMATION,
    MessageKind.RESCHEDULE_NOTICE,
    MessageKind.CANCELLATION_NOTICE,
)


@dataclass
class Content:
    subject: str
    text: str
    html: str
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


def _where(appointment: Appointment) -> str:
    service = appointment.service
    if service.mode == ServiceMode.ONLINE and service.meeting_link_template:
        return service.meeting_link_template.replace("{appointment_id}", str(appointment.pk))
    location = appointment.location
    return ", ".join(part for part in (location.name, location.address.replace("\n", ", ")) if part)


def local_when(*, appointment: Appointment, language: str) -> dict[str, str]:
    """The appointment's date, time and zone as clients read them, in the location's zone."""
    tz = zoneinfo.ZoneInfo(appointment.location.timezone)
    local = appointment.start.astimezone(tz)
    return {
        "date": format_date(local.date(), format="full", locale=language),
        "time": format_time(local.time(), format="HH:mm", locale=language),
        "timezone": get_timezone_location(tz, locale=language),
    }


def _values(*, appointment: Appointment, language: str, links: dict[str, str]) -> dict[str, str]:
    business = appointment.tenant
    return {
        "client_name": (appointment.client.name.split() or [""])[0],
        "business_name": business.name,
        "business_phone": display_phone(appointment.location.phone or business.phone),
        "service": appointment.service.name,
        "staff": appointment.staff.display_name,
        **local_when(appointment=appointment, language=language),
        "where": _where(appointment),
        **links,
    }


def _ics(*, appointment: Appointment, kind: str, manage_url: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Puntual//Appointments//EN")
    calendar.add("version", "2.0")
    cancelled = kind == MessageKind.CANCELLATION_NOTICE
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@{appointment.tenant.slug}.puntual")
    event.add("sequence", appointment.version)
    event.add("dtstamp", appointment.updated_at)
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add("summary", f"{appointment.service.name} · {appointment.tenant.name}")
    event.add("location", _where(appointment))
    event.add("description", manage_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def _policy_words(
    *, message: OutboundMessage, appointment: Appointment, channel: str, language: str
) -> str:
    """What the client's terms add to a notice: a booking states them (an SMS only the deposit
    to pay), a cancellation says what they decided. Read when the message is written, after
    the change that planned it committed; "" when the client booked under no terms."""
    if appointment.pk is None:
        return ""
    if message.kind == MessageKind.BOOKING_CONFIRMATION:
        return " ".join(
            policy_terms_sentences(
                appointment=appointment, language=language, short=channel == Channel.SMS
            )
        )
    if message.kind == MessageKind.CANCELLATION_NOTICE:
        return policy_decision_message(appointment=appointment, actions=CANCEL_DECISIONS)
    return ""


def message_content(
    *,
    message: OutboundMessage,
    appointment: Appointment,
    channel: str,
    language: str,
    now: datetime,
    links: dict[str, str] | None = None,
) -> Content:
    """Render `message` for `channel` in `language`, issuing the client links it carries.

    `links` given (a preview, or a survey with its `survey_link`): those URLs are used and no
    link is issued, so nothing is written. A survey rule's message needs them: its link is
    self-service's, issued by the survey sender.
    """
    rule = message.rule
    purpose = rule.purpose if rule is not None else None
    text = rule_text(
        texts=rule.texts if rule else {}, kind=message.kind, purpose=purpose, language=language
    )
    if links is None and purpose == Purpose.SURVEY:
        raise ValueError("A survey's message is rendered with its survey_link.")
    if links is None:
        manage_url = link_url(
            appointment=appointment,
            token=link_issue(appointment=appointment, action=AccessAction.MANAGE, now=now),
        )
        links = {"manage_link": manage_url, "confirm_link": manage_url, "cancel_link": manage_url}
        if channel == Channel.EMAIL and purpose == Purpose.CONFIRMATION_REQUEST:
            # One click each from the email (the page still asks for a POST before acting).
            for action, key in (
                (AccessAction.CONFIRM, "confirm_link"),
                (AccessAction.CANCEL, "cancel_link"),
            ):
                links[key] = link_url(
                    appointment=appointment,
                    token=link_issue(appointment=appointment, action=action, now=now),
                )
    manage_url = links.get("manage_link", "")
    values = _values(appointment=appointment, language=language, links=links)
    policy = _policy_words(
        message=message, appointment=appointment, channel=channel, language=language
    )
    if channel == Channel.SMS:
        return Content(
            subject="", text=" ".join(filter(None, [render(text.sms, values), policy])), html=""
        )
    body = render(text.body, values)
    if policy:
        body = f"{body}\n\n{policy}"
    html = "<br>\n".join(urlize(line, autoescape=True) for line in body.splitlines())
    attachments = []
    if message.kind in ICS_KINDS:
        attachments.append(
            (
                "appointment.ics",
                _ics(appointment=appointment, kind=message.kind, manage_url=manage_url),
                "text/calendar",
            )
        )
    return Content(
        subject=render(text.subject, values),
        text=body,
        html=f"<html><body><p>{html}</p></body></html>",
        attachments=attachments,
    )
