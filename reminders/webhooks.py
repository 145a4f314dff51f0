"""The providers' webhooks: Twilio's inbound SMS and status callbacks, the email tracking events.

Views only authenticate and translate; the services in `reminders.services.inbound` decide.

- Clients' SMS replies come to the business's own URL, or to one global URL for numbers
  several businesses share (the platform's default sender): that one finds the business.
- Twilio signs each request (X-Twilio-Signature: HMAC of the URL it called and the POST
  parameters, keyed with the account's auth token). The URL is rebuilt from
  PUNTUAL_BASE_URL, the address Twilio was given, so it matches behind a proxy that
  terminates TLS or rewrites the host. No token configured: every request is refused.
- Email providers authenticate with HTTP basic auth (anymail's WEBHOOK_SECRET). anymail
  itself only warns when no secret is configured; Puntual refuses instead.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailTrackingEvent, tracking
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_scopes import scope
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from reminders.services.inbound import (
    email_tracking_record,
    sms_reply_business,
    sms_reply_receive,
    sms_status_record,
)
from tenants.middleware import tenant_of
from tenants.models import Business

logger = logging.getLogger(__name__)

# Twilio message SIDs: two letters (SM, MM) and 32 hex digits.
_MESSAGE_SID = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")
# Twilio allows 1,600 characters; anything longer is not an SMS.
MAX_BODY = 1600


def public_url(request: HttpRequest) -> str:
    """The URL the provider called, as the world sees it."""
    return settings.PUNTUAL_BASE_URL.rstrip("/") + request.get_full_path()


def twilio_signature_valid(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(public_url(request), request.POST, signature))


def _twiml(response: MessagingResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


def _receive(request: HttpRequest, tenant: Business, sid: str) -> HttpResponse:
    result = sms_reply_receive(
        tenant=tenant,
        provider_id=sid,
        from_number=request.POST.get("From", "")[:64],
        body=request.POST.get("Body", "")[:MAX_BODY],
    )
    response = MessagingResponse()
    if result.reply:
        response.message(result.reply)
    return _twiml(response)


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest, business_slug: str) -> HttpResponse:
    """A client's SMS to the business: stored once, acted on, answered with TwiML."""
    if not twilio_signature_valid(request):
        return HttpResponseForbidden()
    sid = request.POST.get("MessageSid", "")
    if not _MESSAGE_SID.match(sid):
        return HttpResponseBadRequest()
    return _receive(request, tenant_of(request), sid)


@csrf_exempt
@require_POST
def twilio_inbound_shared(request: HttpRequest) -> HttpResponse:
    """A client's SMS to a number businesses may share: given to the business it answers
    (see `sms_reply_business`), then handled in that business's scope like `twilio_inbound`.

    A reply that belongs to no business is answered with nothing and stored nowhere.
    """
    if not twilio_signature_valid(request):
        return HttpResponseForbidden()
    sid = request.POST.get("MessageSid", "")
    if not _MESSAGE_SID.match(sid):
        return HttpResponseBadRequest()
    tenant = sms_reply_business(
        to_number=request.POST.get("To", "")[:64], from_number=request.POST.get("From", "")[:64]
    )
    if tenant is None:
        logger.info("SMS %s to %s answers no business: ignored", sid, request.POST.get("To", ""))
        return _twiml(MessagingResponse())
    with scope(tenant=tenant):
        return _receive(request, tenant, sid)


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest, business_slug: str, message_id: int) -> HttpResponse:
    """Twilio's delivery report on one of the business's messages.

    An unknown message gets 200 like a known one: the request is signed, so only Twilio can
    ask, and an error would only fill Twilio's debugger with reports on messages deleted
    with their appointment (Twilio does not retry a 4xx either).
    """
    if not twilio_signature_valid(request):
        return HttpResponseForbidden()
    sms_status_record(
        message_id=message_id,
        provider_id=request.POST.get("MessageSid", "")[:100],
        provider_status=request.POST.get("MessageStatus", "")[:20],
        error_code=request.POST.get("ErrorCode", "")[:10],
    )
    return HttpResponse()


class SecretRequired:
    """anymail accepts unauthenticated webhooks (with a warning) when no secret is set: refuse."""

    basic_auth: list[str]

    def validate_request(self, request: HttpRequest) -> None:
        if not self.basic_auth:
            raise AnymailWebhookValidationFailure(
                "Refusing an email webhook: ANYMAIL_WEBHOOK_SECRET is not configured."
            )


class PostmarkTrackingView(SecretRequired, PostmarkTrackingWebhookView):
    pass


# The anymail way: its views send a `tracking` signal. The receiver sits next to the only
# views that send it here, and does one thing.
@receiver(tracking, sender=PostmarkTrackingView, dispatch_uid="puntual.email_tracking")
def _email_tracking(sender: Any, event: AnymailTrackingEvent, **kwargs: Any) -> None:
    email_tracking_record(event)
