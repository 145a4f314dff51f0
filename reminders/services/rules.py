"""Reminder rules a business configures: checked, saved, re-planned, and previewed.

Every write re-plans the rule's messages that were not sent yet in the same transaction
(`planning.reminder_rule_replan`), so what the messages API shows is what will happen. Texts
are checked before anything is written: only known placeholders, no Twilio opt-out word in
an SMS, and an SMS short enough to arrive in a few parts.

A preview renders a rule exactly as the dispatcher would (`content.message_content`), for one
of the business's appointments or for a sample one, without issuing any client link.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, Service, StaffMember
from clients.models import Client
from reminders.models import (
    SENDABLE_STATUSES,
    Channel,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    Purpose,
    ReminderRule,
    RuleChannel,
)
from reminders.services.content import message_content
from reminders.services.planning import reminder_rule_replan, rule_planned_send
from reminders.texts import placeholders_for, validate_sms, validate_template
from tenants.models import Business, Location

TEXT_KEYS = ("subject", "body", "sms")
# Longest text a business may write for each part. Twilio refuses bodies over 1,600
# characters; the SMS limit that matters is MAX_SMS_SEGMENTS, on the rendered text.
TEXT_MAX_LENGTH = {"subject": 200, "body": 5000, "sms": 1600}
# An SMS arrives in parts, each billed. A business's SMS may take this many parts, or as many
# as Puntual's own text for the rule takes for that business (a long accented name alone can
# push it to four or five UCS-2 parts): never less than the default it replaces.
MAX_SMS_SEGMENTS = 4
# A rule fires at most this long before the start (a confirmation request a month ahead
# is plausible; further ahead, the client has forgotten the message by the day).
MAX_OFFSET_MINUTES = 60 * 24 * 60
# A survey asked more than a week after the visit is about a visit the client barely recalls
# (and the survey planner looks back only a couple of days past the due time).
MAX_SURVEY_OFFSET_MINUTES = 7 * 24 * 60
# The fields that decide when, and whether, a planned message goes: changing one re-plans.
SCHEDULE_FIELDS = ("offset_minutes", "channel", "only_if_unconfirmed", "is_active")
RULE_FIELDS = ("name", "purpose", "offset_minutes", "texts", *SCHEDULE_FIELDS[1:])

# A token's length (22 characters, as issued), so the preview's SMS is as long as the real one.
PREVIEW_TOKEN = "preview-" + "0" * 14

# --- SMS parts -------------------------------------------------------------------------

# GSM 03.38: the characters one 7-bit unit holds, and those (the extension table) that take two.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsSize:
    characters: int
    segments: int
    encoding: str  # "GSM-7", or "UCS-2" as soon as one character is outside GSM's alphabet


def sms_size(text: str) -> SmsSize:
    """How many parts `text` takes: 160 GSM characters in one, 153 per part when split; with
    any other character (á, í, ó, ú, emoji) the whole SMS is UCS-2: 70 in one, 67 per part."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    segments = 0 if units == 0 else 1 if units <= single else math.ceil(units / part)
    return SmsSize(characters=len(text), segments=segments, encoding=encoding)


# --- Previews --------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailPreview:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class SmsPreview:
    text: str
    size: SmsSize


@dataclass(frozen=True)
class RulePreview:
    language: str
    sample: bool  # rendered for a made-up appointment
    send_at: datetime | None  # for a real appointment: when the rule would send for it
    not_sent_reason: str  # ... and why it would not ("" when it would)
    sms: SmsPreview | None
    email: EmailPreview | None


def _preview_links(appointment: Appointment) -> dict[str, str]:
    base = settings.PUNTUAL_BASE_URL.rstrip("/")
    kwargs = {"business_slug": appointment.tenant.slug, "token": PREVIEW_TOKEN}
    url = base + reverse("public:appointment", kwargs=kwargs)
    # The survey's page is self-service's; its link is as long as the real one.
    survey = base + reverse("selfservice:survey", kwargs=kwargs)
    return {"manage_link": url, "confirm_link": url, "cancel_link": url, "survey_link": survey}


def sample_appointment(*, tenant: Business, now: datetime) -> Appointment:
    """An appointment that is never saved: the business's own location, service and staff
    where it has them, a made-up client, on 30 September (the longest month name in both
    languages) at 10:30, so a preview's SMS is as long as a real one gets."""
    location = Location.objects.filter(tenant=tenant, is_active=True).order_by("id").first()
    if location is None:
        location = Location(tenant=tenant, name=tenant.name, timezone=tenant.timezone)
    service = Service.objects.filter(tenant=tenant, is_active=True).order_by("id").first()
    if service is None:
        service = Service(tenant=tenant, name=_("Appointment"), duration_minutes=30)
    staff = StaffMember.objects.filter(tenant=tenant, is_active=True).order_by("id").first()
    if staff is None:
        staff = StaffMember(tenant=tenant, display_name=_("Alex"))
    tz = zoneinfo.ZoneInfo(location.timezone)
    year = now.astimezone(tz).year
    start = datetime(year, 9, 30, 10, 30, tzinfo=tz)
    if start <= now:
        start = start.replace(year=year + 1)
    return Appointment(
        tenant=tenant,
        location=location,
        service=service,
        staff=staff,
        client=Client(tenant=tenant, name=_("María García")),
        start=start,
        end=start + timedelta(minutes=service.duration_minutes),
        version=1,
    )


def _language(*, tenant: Business, appointment: Appointment | None, language: str) -> str:
    supported = [code for code, _name in settings.LANGUAGES]
    for candidate in (
        language,
        appointment.client.language if appointment is not None else "",
        tenant.language,
    ):
        if candidate in supported:
            return candidate
    return str(settings.LANGUAGE_CODE)


def reminder_rule_preview(
    *,
    tenant: Business,
    rule: ReminderRule,
    appointment: Appointment | None = None,
    language: str = "",
    now: datetime | None = None,
) -> RulePreview:
    """What `rule` (saved or a draft) sends, rendered as the dispatcher renders it. Writes nothing.

    `language`: empty for the one the client would get. Without an appointment, a sample one.
    Each channel the rule may use is rendered: SMS, email, or both for "SMS, else email".
    """
    now = now or timezone.now()
    sample = appointment is None
    target = appointment or sample_appointment(tenant=tenant, now=now)
    language = _language(tenant=tenant, appointment=appointment, language=language)
    message = OutboundMessage(tenant=tenant, kind=MessageKind.RULE, rule=rule)
    links = _preview_links(target)

    def render(channel: str) -> Any:
        return message_content(
            message=message,
            appointment=target,
            channel=channel,
            language=language,
            now=now,
            links=links,
        )

    sms = email = None
    if rule.channel in (RuleChannel.SMS, RuleChannel.SMS_THEN_EMAIL):
        text = render(Channel.SMS).text
        sms = SmsPreview(text=text, size=sms_size(text))
    if rule.channel in (RuleChannel.EMAIL, RuleChannel.SMS_THEN_EMAIL):
        content = render(Channel.EMAIL)
        email = EmailPreview(subject=content.subject, text=content.text, html=content.html)
    send_at, reason = None, ""
    if appointment is not None:
        send_at, reason = rule_planned_send(appointment=appointment, rule=rule, now=now)
    return RulePreview(
        language=language,
        sample=sample,
        send_at=send_at,
        not_sent_reason=reason,
        sms=sms,
        email=email,
    )


# --- Checks ----------------------------------------------------------------------------


def reminder_rule_texts_errors(
    *, tenant: Business, texts: Any, purpose: str, now: datetime | None = None
) -> dict[str, Any]:
    """What is wrong with a rule's `texts`, as {language: {part: [messages]}} ({}: nothing).

    Parts are checked as written (placeholders, opt-out words) and the SMS also as it would
    be sent: rendered for a sample appointment of the business, in at most MAX_SMS_SEGMENTS
    parts or as many as the default text for `purpose` takes.
    """
    errors: dict[str, Any] = {}
    languages = [code for code, _name in settings.LANGUAGES]
    if not isinstance(texts, dict):
        return {"non_field_errors": [_("Give the texts by language, e.g. {“es”: {“sms”: “…”}}.")]}
    sample: Appointment | None = None
    for language, parts in texts.items():
        if language not in languages:
            errors[language] = [
                _("Unknown language “%(code)s”. Use one of: %(codes)s.")
                % {"code": language, "codes": ", ".join(languages)}
            ]
            continue
        if not isinstance(parts, dict):
            errors[language] = [_("Give subject, body and sms, each optional.")]
            continue
        found: dict[str, list[str]] = {}
        for key, value in parts.items():
            if key not in TEXT_KEYS:
                found[key] = [_("Unknown part. Use subject, body or sms.")]
                continue
            if not isinstance(value, str):
                found[key] = [_("Give a text.")]
                continue
            problems = _text_problems(key, value, purpose)
            if not problems and key == "sms" and value:
                sample = sample or sample_appointment(tenant=tenant, now=now or timezone.now())
                problems = _sms_size_problems(sample, purpose, language, value, now)
            if problems:
                found[key] = problems
        if found:
            errors[language] = found
    return errors


def _text_problems(key: str, value: str, purpose: str) -> list[str]:
    problems = []
    try:
        ProhibitNullCharactersValidator()(value)  # PostgreSQL cannot store them in JSON
    except ValidationError as exc:
        return list(exc.messages)
    if len(value) > TEXT_MAX_LENGTH[key]:
        problems.append(
            _("Keep it to %(max)d characters (it has %(length)d).")
            % {"max": TEXT_MAX_LENGTH[key], "length": len(value)}
        )
    checks = [lambda text: validate_template(text, allowed=placeholders_for(purpose))]
    if key == "sms":
        checks.append(validate_sms)
    for check in checks:
        try:
            check(value)
        except ValidationError as exc:
            problems.extend(exc.messages)
    return problems


def _sms_size_problems(
    sample: Appointment, purpose: str, language: str, sms: str, now: datetime | None
) -> list[str]:
    def rendered(texts: dict[str, Any]) -> SmsSize:
        draft = ReminderRule(
            tenant=sample.tenant, purpose=purpose, channel=RuleChannel.SMS, texts=texts
        )
        content = message_content(
            message=OutboundMessage(tenant=sample.tenant, kind=MessageKind.RULE, rule=draft),
            appointment=sample,
            channel=Channel.SMS,
            language=language,
            now=now or timezone.now(),
            links=_preview_links(sample),
        )
        return sms_size(content.text)

    size = rendered({language: {"sms": sms}})
    if size.segments <= MAX_SMS_SEGMENTS:
        return []
    allowed = max(MAX_SMS_SEGMENTS, rendered({}).segments)
    if size.segments <= allowed:
        return []
    return [
        _(
            "Sent, this SMS would take %(segments)d parts (%(characters)d characters, "
            "%(encoding)s); keep it to %(max)d. Accented letters such as á or í make every "
            "part shorter."
        )
        % {
            "segments": size.segments,
            "characters": size.characters,
            "encoding": size.encoding,
            "max": allowed,
        }
    ]


def _check(rule: ReminderRule, now: datetime) -> None:
    errors: dict[str, Any] = {}
    survey = rule.purpose == Purpose.SURVEY
    longest = MAX_SURVEY_OFFSET_MINUTES if survey else MAX_OFFSET_MINUTES
    if not 1 <= rule.offset_minutes <= longest:
        errors["offset_minutes"] = [
            _("Give between 1 minute and %(days)d days.") % {"days": longest // 1440}
        ]
    if survey and rule.only_if_unconfirmed:
        errors["only_if_unconfirmed"] = [
            _("A survey is sent after the visit: “only if not confirmed yet” does not apply.")
        ]
    if survey and rule.is_active:
        other = active_survey_rule(tenant_id=rule.tenant_id, excluding=rule.pk)
        if other is not None:
            errors["purpose"] = [
                _(
                    "This business already has an active post-visit survey rule, “%(name)s”. "
                    "Deactivate it first, or change it instead."
                )
                % {"name": other.name}
            ]
    texts = reminder_rule_texts_errors(
        tenant=rule.tenant, texts=rule.texts, purpose=rule.purpose, now=now
    )
    if texts:
        errors["texts"] = [_("Some texts are not valid.")]
    clash = ReminderRule.objects.filter(tenant_id=rule.tenant_id, name=rule.name)
    if rule.pk is not None:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        errors["name"] = [_("This name is already used in this business.")]
    if errors:
        raise ValidationError(errors)
    rule.full_clean(exclude=["tenant", "texts", "name"], validate_unique=False)


def active_survey_rule(*, tenant_id: int, excluding: int | None = None) -> ReminderRule | None:
    """The business's active post-visit survey rule (there is at most one), if any."""
    rules = ReminderRule.objects.filter(tenant_id=tenant_id, purpose=Purpose.SURVEY, is_active=True)
    if excluding is not None:
        rules = rules.exclude(pk=excluding)
    return rules.order_by("id").first()


def _save(rule: ReminderRule) -> None:
    """Save, turning the race the checks cannot see (a second active survey rule saved
    meanwhile) into the same error they give."""
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        if rule.purpose == Purpose.SURVEY and active_survey_rule(
            tenant_id=rule.tenant_id, excluding=rule.pk
        ):
            raise ValidationError(
                {"purpose": [_("This business already has an active post-visit survey rule.")]}
            ) from exc
        raise


# --- Writes ----------------------------------------------------------------------------


def reminder_rule_create(
    *,
    tenant: Business,
    name: str,
    purpose: str,
    channel: str,
    offset_minutes: int,
    only_if_unconfirmed: bool = False,
    is_active: bool = True,
    texts: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ReminderRule:
    """A new rule, planned at once for every upcoming open appointment (not only new ones)."""
    now = now or timezone.now()
    rule = ReminderRule(
        tenant=tenant,
        name=name,
        purpose=purpose,
        channel=channel,
        offset_minutes=offset_minutes,
        only_if_unconfirmed=only_if_unconfirmed,
        is_active=is_active,
        texts=texts or {},
    )
    _check(rule, now)
    with transaction.atomic():
        _save(rule)
        reminder_rule_replan(rule=rule, now=now)
    return rule


def reminder_rule_update(
    *, rule: ReminderRule, now: datetime | None = None, **changes: Any
) -> ReminderRule:
    """Change the rule. A change of offset, channel, activity or "only if not confirmed"
    re-plans its messages not sent yet; texts and purpose are read when a message is sent."""
    now = now or timezone.now()
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Not a rule field: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = ReminderRule.objects.select_for_update().get(pk=rule.pk, tenant_id=rule.tenant_id)
        replan = any(
            name in changes and changes[name] != getattr(locked, name) for name in SCHEDULE_FIELDS
        ) or (
            # Into or out of the survey: its reminder-outbox rows go, or come.
            "purpose" in changes
            and (changes["purpose"] == Purpose.SURVEY) != (locked.purpose == Purpose.SURVEY)
        )
        for name, value in changes.items():
            setattr(locked, name, value)
        _check(locked, now)
        _save(locked)
        if replan:
            reminder_rule_replan(rule=locked, now=now)
    return locked


def reminder_rule_delete(*, rule: ReminderRule) -> None:
    """Delete the rule; its messages not sent yet are skipped ("rule_deleted"), those sent stay."""
    with transaction.atomic():
        # Without its rule a planned row would go out as a plain reminder: skip it first.
        OutboundMessage.objects.filter(
            tenant_id=rule.tenant_id, rule=rule, status__in=SENDABLE_STATUSES
        ).update(status=MessageStatus.SKIPPED, status_reason="rule_deleted")
        rule.delete()
