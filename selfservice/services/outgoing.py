"""The self-service messages due now: waitlist offers and survey invitations.

Run by the beat task every minute. Each row is taken by its own conditional update before
its link is made and it is sent (see messaging), so overlapping ticks never send twice; one
that could not be sent for a passing reason is taken again by a later tick.

A survey is written as its rule says (reminders' `message_content`, the same rendering as
the rule's preview): the rule's text in the client's language, or Puntual's default, with
`{survey_link}`.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.urls import reverse
from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from appointments.models import AppointmentStatus
from reminders.models import Channel, MessageKind, OutboundMessage, Purpose
from reminders.services.content import message_content
from selfservice.models import (
    OfferStatus,
    SurveyInvitation,
    WaitlistOffer,
    WaitlistStatus,
    hash_token,
    new_token,
)
from selfservice.services.messaging import Content, deliver, selfservice_reap, take
from selfservice.services.survey import surveys_plan

SEND_BATCH_SIZE = 200


def _absolute(path: str) -> str:
    return settings.PUNTUAL_BASE_URL.rstrip("/") + path


def _local(moment: datetime, tz_name: str) -> str:
    tz = zoneinfo.ZoneInfo(tz_name)
    # Translators: date and time format (Django's `date` letters), e.g. "Tuesday 2 June, 10:30 AM".
    return dateformat.format(moment.astimezone(tz), _("l j F, g:i A"))


def _offer_content(offer: WaitlistOffer, token: str) -> Content:
    slot, tenant = offer.slot, offer.tenant
    url = _absolute(
        reverse("selfservice:offer", kwargs={"business_slug": tenant.slug, "token": token})
    )
    values = {
        "business": tenant.name,
        "service": slot.service.name,
        "when": _local(slot.start, slot.location.timezone),
        "zone": slot.location.timezone,
        "until": _local(offer.expires_at, slot.location.timezone),
        "url": url,
    }
    sms = (
        _(
            "%(business)s: a time for %(service)s is free on %(when)s (%(zone)s time). "
            "The first to claim it gets it: %(url)s"
        )
        % values
    )
    text = (
        _(
            "Good news: a time for %(service)s at %(business)s is free on %(when)s "
            "(%(zone)s time).\n\nThe first person on the waitlist to claim it gets it. "
            "The offer is open until %(until)s:\n%(url)s\n\n"
            "If it does not suit you, do nothing: you stay on the waitlist."
        )
        % values
    )
    return Content(subject=_("%(business)s: a time is free for you") % values, text=text, sms=sms)


def _survey_content(
    invitation: SurveyInvitation, token: str, language: str, now: datetime
) -> Content:
    """The survey as its rule writes it, for SMS and for email."""
    appointment = invitation.appointment
    url = _absolute(
        reverse(
            "selfservice:survey",
            kwargs={"business_slug": invitation.tenant.slug, "token": token},
        )
    )
    message = OutboundMessage(tenant=invitation.tenant, kind=MessageKind.RULE, rule=invitation.rule)

    def render(channel: str) -> Any:
        return message_content(
            message=message,
            appointment=appointment,
            channel=channel,
            language=language,
            now=now,
            links={"survey_link": url},
        )

    sms, email = render(Channel.SMS), render(Channel.EMAIL)
    return Content(subject=email.subject, text=email.text, sms=sms.text, html=email.html)


def _not_sent(model: type[Model], pk: int, reason: str) -> str:
    """A row this task took that must not go out any more."""
    model._default_manager.filter(pk=pk, status=OfferStatus.SENDING).update(
        status=OfferStatus.FAILED, status_reason=reason
    )
    return str(OfferStatus.FAILED)


def _send_offer(offer_id: int, now: datetime) -> str:
    with scopes_disabled():
        if not take(WaitlistOffer, offer_id, now=now):
            return "not_taken"
        offer = WaitlistOffer.objects.select_related(
            "tenant", "slot__service", "slot__location", "entry__client"
        ).get(pk=offer_id)
    client = offer.entry.client
    with scope(tenant=offer.tenant):
        # Checked again at every try: a retry never offers a time gone meanwhile.
        if offer.expires_at <= now or offer.slot.refilled_by_id is not None:
            return _not_sent(WaitlistOffer, offer_id, "no_longer_free")
        if offer.entry.status != WaitlistStatus.WAITING:
            return _not_sent(WaitlistOffer, offer_id, "no_longer_waiting")
        token = new_token()
        WaitlistOffer.objects.filter(pk=offer_id).update(token_hash=hash_token(token))
        with translation.override(client.language or offer.tenant.language):
            content = _offer_content(offer, token)
        return deliver(
            offer,
            tenant=offer.tenant,
            client=client,
            content=content,
            now=now,
            retry_until=offer.expires_at,
        )


def _why_no_survey(invitation: SurveyInvitation) -> str:
    """Why a planned survey must not go out any more ("" when it should)."""
    rule = invitation.rule
    if rule is None:
        return "rule_deleted"
    if not rule.is_active or rule.purpose != Purpose.SURVEY:
        return "rule_inactive"
    if invitation.appointment.status != AppointmentStatus.ATTENDED:
        return "not_attended"
    return ""


def _send_survey(invitation_id: int, now: datetime) -> str:
    with scopes_disabled():
        if not take(SurveyInvitation, invitation_id, now=now):
            return "not_taken"
        invitation = SurveyInvitation.objects.select_related(
            "tenant",
            "rule",
            "appointment__client",
            "appointment__service",
            "appointment__staff",
            "appointment__location",
        ).get(pk=invitation_id)
        invitation.appointment.tenant = invitation.tenant
    client = invitation.appointment.client
    with scope(tenant=invitation.tenant):
        reason, rule = _why_no_survey(invitation), invitation.rule
        if reason or rule is None:
            return _not_sent(SurveyInvitation, invitation_id, reason)
        token = new_token()
        SurveyInvitation.objects.filter(pk=invitation_id).update(token_hash=hash_token(token))
        language = client.language or invitation.tenant.language
        with translation.override(language):
            content = _survey_content(invitation, token, language, now)
        return deliver(
            invitation,
            tenant=invitation.tenant,
            client=client,
            content=content,
            now=now,
            channel=rule.channel,
        )


def selfservice_send_due(*, now: datetime) -> dict[str, int]:
    """Settle rows a crash left in flight, plan the surveys that came due, then send every due
    offer and survey (first tries and retries). Returns counts."""
    selfservice_reap(now=now)
    planned = surveys_plan(now=now)
    with scopes_disabled():
        offers = list(
            WaitlistOffer.objects.filter(status=OfferStatus.PENDING, send_at__lte=now)
            .order_by("send_at", "id")
            .values_list("id", flat=True)[:SEND_BATCH_SIZE]
        )
        surveys = list(
            SurveyInvitation.objects.filter(status=OfferStatus.PENDING, send_at__lte=now)
            .order_by("send_at", "id")
            .values_list("id", flat=True)[:SEND_BATCH_SIZE]
        )
    sent = 0
    for offer_id in offers:
        sent += _send_offer(offer_id, now) == OfferStatus.SENT
    for invitation_id in surveys:
        sent += _send_survey(invitation_id, now) == OfferStatus.SENT
    return {
        "planned_surveys": planned,
        "offers": len(offers),
        "surveys": len(surveys),
        "sent": sent,
    }
