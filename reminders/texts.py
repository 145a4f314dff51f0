"""What messages say: Puntual's default texts, and safe rendering of a business's own texts.

A business writes texts with placeholders like `{client_name}`. Only the names in
PLACEHOLDERS are allowed, and only plain `{name}` — no attribute or index access, no format
spec — so a text can never reach into Python objects.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reminders.models import MessageKind, Purpose

PLACEHOLDERS: dict[str, object] = {
    "client_name": gettext_lazy("the client's first name"),
    "business_name": gettext_lazy("the business's name"),
    "business_phone": gettext_lazy("the business's phone"),
    "service": gettext_lazy("the service"),
    "staff": gettext_lazy("the staff member"),
    "date": gettext_lazy("the date, e.g. Tuesday 24 November"),
    "time": gettext_lazy("the time, e.g. 09:30"),
    "timezone": gettext_lazy("the time zone, e.g. Spain Time"),
    "where": gettext_lazy("the address, or the meeting link of an online service"),
    "manage_link": gettext_lazy("link to see, confirm, cancel or change the appointment"),
    "confirm_link": gettext_lazy("link to confirm"),
    "cancel_link": gettext_lazy("link to cancel"),
    "survey_link": gettext_lazy("link to the post-visit survey (survey rules only)"),
}
# A survey is about a visit that is over: it links to the survey, never to the appointment's
# actions; every other message links to the appointment, and has no survey to link to.
APPOINTMENT_LINKS = frozenset({"manage_link", "confirm_link", "cancel_link"})
SURVEY_LINKS = frozenset({"survey_link"})

# Twilio treats these replies as opt-out (and START/UNSTOP as opt-in): an SMS must never
# invite a client to send one of them to say "I can't come".
TWILIO_OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
_WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


@dataclass(frozen=True)
class Text:
    subject: str
    body: str  # email body (plain text; the HTML part is made from it)
    sms: str


def placeholders_for(purpose: str | None) -> frozenset[str]:
    """The placeholders a text of a rule with `purpose` (None: a notice) may use."""
    excluded = APPOINTMENT_LINKS if purpose == Purpose.SURVEY else SURVEY_LINKS
    return frozenset(PLACEHOLDERS) - excluded


def validate_template(template: str, *, allowed: frozenset[str] | None = None) -> None:
    """Raise ValidationError unless `template` uses only known `{placeholders}` (of `allowed`,
    when given)."""
    names = frozenset(PLACEHOLDERS) if allowed is None else allowed
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValidationError(_("Braces must be balanced: {name}.")) from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in names or spec or conversion:
            raise ValidationError(
                _("Unknown placeholder {%(name)s}. Use one of: %(names)s.")
                % {"name": field, "names": ", ".join(sorted(names))}
            )


def validate_sms(text: str) -> None:
    """An SMS may not contain Twilio's opt-out words: clients would reply with them."""
    words = {w.upper() for w in _WORD.findall(text)}
    bad = sorted(words & TWILIO_OPT_OUT_WORDS)
    if bad:
        raise ValidationError(
            _("An SMS may not contain %(words)s: a client replying with it would stop all SMS.")
            % {"words": ", ".join(bad)}
        )


def render(template: str, values: dict[str, str]) -> str:
    validate_template(template)
    return template.format_map({name: values.get(name, "") for name in PLACEHOLDERS})


def default_text(*, kind: str, purpose: str | None, language: str) -> Text:
    """Puntual's text for a kind of message, in `language`."""
    with translation.override(language):
        if kind == MessageKind.BOOKING_CONFIRMATION:
            return Text(
                subject=_("Your appointment at {business_name} is booked"),
                body=_(
                    "Hello {client_name},\n\nYour appointment is booked: {service} with {staff} on "
                    "{date} at {time} ({timezone}).\nWhere: {where}\n\nSee it, add it to your "
                    "calendar, change it or cancel it here: {manage_link}\n\n{business_name} {business_phone}"
                ),
                sms=_(
                    "{business_name}: booked {service} on {date} at {time} ({timezone}). "
                    "Details and changes: {manage_link}"
                ),
            )
        if kind == MessageKind.RESCHEDULE_NOTICE:
            return Text(
                subject=_("Your appointment at {business_name} has a new time"),
                body=_(
                    "Hello {client_name},\n\nYour appointment has moved: {service} with {staff} is now "
                    "on {date} at {time} ({timezone}).\nWhere: {where}\n\nDetails: {manage_link}\n\n"
                    "{business_name} {business_phone}"
                ),
                sms=_(
                    "{business_name}: your appointment is now on {date} at {time} ({timezone}). {manage_link}"
                ),
            )
        if kind == MessageKind.CANCELLATION_NOTICE:
            return Text(
                subject=_("Your appointment at {business_name} is cancelled"),
                body=_(
                    "Hello {client_name},\n\nYour appointment for {service} on {date} at {time} "
                    "({timezone}) is cancelled.\n\nTo book again, call {business_phone} or visit "
                    "{manage_link}\n\n{business_name}"
                ),
                sms=_(
                    "{business_name}: your appointment on {date} at {time} is cancelled. {manage_link}"
                ),
            )
        if kind == MessageKind.REQUEST_RECEIVED:
            return Text(
                subject=_("We received your request at {business_name}"),
                body=_(
                    "Hello {client_name},\n\nYou asked for {service} with {staff} on {date} at "
                    "{time} ({timezone}).\nWhere: {where}\n\n{business_name} will confirm it: "
                    "we'll let you know. The time is kept for you meanwhile.\n\nSee your request "
                    "or withdraw it here: {manage_link}\n\n{business_name} {business_phone}"
                ),
                sms=_(
                    "{business_name}: we received your request for {service} on {date} at {time} "
                    "({timezone}). We'll let you know when it is confirmed. {manage_link}"
                ),
            )
        if kind == MessageKind.REQUEST_DECLINED:
            return Text(
                subject=_("Your request at {business_name} was not accepted"),
                body=_(
                    "Hello {client_name},\n\nSorry: {business_name} could not accept your "
                    "request for {service} on {date} at {time} ({timezone}).\n\nTo find "
                    "another time, call {business_phone} or visit {manage_link}\n\n{business_name}"
                ),
                sms=_(
                    "{business_name}: sorry, your request for {date} at {time} could not be "
                    "accepted. {manage_link}"
                ),
            )
        if purpose == Purpose.SURVEY:
            return Text(
                subject=_("{business_name}: how was your visit?"),
                body=_(
                    "Thank you for visiting {business_name}. How was your {service}?\n\n"
                    "One question, a few seconds: {survey_link}"
                ),
                sms=_(
                    "{business_name}: how was your visit? One question, a few seconds: {survey_link}"
                ),
            )
        if purpose == Purpose.CONFIRMATION_REQUEST:
            return Text(
                subject=_("Please confirm your appointment on {date}"),
                body=_(
                    "Hello {client_name},\n\nYou have an appointment for {service} with {staff} on "
                    "{date} at {time} ({timezone}).\nWhere: {where}\n\nWill you come? Confirm: "
                    "{confirm_link}\nCan't make it? Let us know, so someone else can have the time: "
                    "{cancel_link}\n\n{business_name} {business_phone}"
                ),
                sms=_(
                    "{business_name}: appointment on {date} at {time} ({timezone}). Reply 1 to "
                    "confirm or 2 if you can't come. {manage_link}"
                ),
            )
        return Text(
            subject=_("Reminder: your appointment on {date} at {time}"),
            body=_(
                "Hello {client_name},\n\nA reminder of your appointment for {service} with {staff} "
                "on {date} at {time} ({timezone}).\nWhere: {where}\n\nIf you can't come, tell us in "
                "time: {manage_link}\n\n{business_name} {business_phone}"
            ),
            sms=_(
                "{business_name}: reminder of your appointment on {date} at {time} ({timezone}). "
                "Can't come? {manage_link}"
            ),
        )


def rule_text(
    *, texts: dict[str, dict[str, str]], kind: str, purpose: str | None, language: str
) -> Text:
    """A rule's own text in `language` where it has one, Puntual's default otherwise."""
    default = default_text(kind=kind, purpose=purpose, language=language)
    own = texts.get(language) or {}
    return Text(
        subject=own.get("subject") or default.subject,
        body=own.get("body") or default.body,
        sms=own.get("sms") or default.sms,
    )
