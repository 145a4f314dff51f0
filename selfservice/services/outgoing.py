"""The self-service messages due now: waitlist offers and survey invitations.

Run by the beat task every minute. Each row is taken by its own conditional update before
its link is made and it is sent (see messaging), so overlapping ticks never send twice.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from selfservice.models import OfferStatus, SurveyInvitation, WaitlistOffer, hash_token, new_token
from selfservice.services.messaging import Content, deliver, take
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


def _survey_content(invitation: SurveyInvitation, token: str) -> Content:
    tenant = invitation.tenant
    url = _absolute(
        reverse("selfservice:survey", kwargs={"business_slug": tenant.slug, "token": token})
    )
    values = {"business": tenant.name, "service": invitation.appointment.service.name, "url": url}
    sms = _("%(business)s: how was your visit? One question, a few seconds: %(url)s") % values
    text = (
        _(
            "Thank you for visiting %(business)s. How was your %(service)s?\n\n"
            "One question, a few seconds: %(url)s"
        )
        % values
    )
    return Content(subject=_("%(business)s: how was your visit?") % values, text=text, sms=sms)


def _send_offer(offer_id: int, now: datetime) -> str:
    with scopes_disabled():
        if not take(WaitlistOffer, offer_id, now=now):
            return "not_taken"
        offer = WaitlistOffer.objects.select_related(
            "tenant", "slot__service", "slot__location", "entry__client"
        ).get(pk=offer_id)
    client = offer.entry.client
    with scope(tenant=offer.tenant):
        if offer.expires_at <= now or offer.slot.refilled_by_id is not None:
            WaitlistOffer.objects.filter(pk=offer_id).update(
                status=OfferStatus.FAILED, status_reason="no_longer_free"
            )
            return str(OfferStatus.FAILED)
        token = new_token()
        WaitlistOffer.objects.filter(pk=offer_id).update(token_hash=hash_token(token))
        with translation.override(client.language or offer.tenant.language):
            content = _offer_content(offer, token)
        return deliver(offer, tenant=offer.tenant, client=client, content=content, now=now)


def _send_survey(invitation_id: int, now: datetime) -> str:
    with scopes_disabled():
        if not take(SurveyInvitation, invitation_id, now=now):
            return "not_taken"
        invitation = SurveyInvitation.objects.select_related(
            "tenant", "appointment__client", "appointment__service"
        ).get(pk=invitation_id)
    client = invitation.appointment.client
    with scope(tenant=invitation.tenant):
        token = new_token()
        SurveyInvitation.objects.filter(pk=invitation_id).update(token_hash=hash_token(token))
        with translation.override(client.language or invitation.tenant.language):
            content = _survey_content(invitation, token)
        return deliver(
            invitation, tenant=invitation.tenant, client=client, content=content, now=now
        )


def selfservice_send_due(*, now: datetime) -> dict[str, int]:
    """Plan the surveys that came due, then send every due offer and survey. Returns counts."""
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
