"""SMS transports. One seam: `get_sms_backend().send(to=..., body=..., status_callback=...)`
returns the provider's message id.

A transport raises `TransportError`: `permanent` (invalid number, opted out: never retried),
`unknown` (the provider may have accepted it: a 5xx or a read timeout after sending — never
resent blindly), or neither (nothing was sent: retried with backoff).
"""

from __future__ import annotations

import logging
import sys
import uuid
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class TransportError(Exception):
    def __init__(
        self, message: str, *, permanent: bool = False, unknown: bool = False, code: str = ""
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.unknown = unknown
        self.code = code


@dataclass(frozen=True)
class SentSMS:
    to: str
    body: str
    provider_id: str


class SMSBackend:
    def send(self, *, to: str, body: str, status_callback: str = "") -> str:
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    """Prints each message: the `make run` default, so a developer sees what would be sent."""

    def send(self, *, to: str, body: str, status_callback: str = "") -> str:
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        sys.stdout.write(f"\n--- SMS to {to} ({provider_id}) ---\n{body}\n---\n")
        sys.stdout.flush()
        return provider_id


class LocmemSMSBackend(SMSBackend):
    """Keeps messages in memory for tests, like Django's locmem email backend."""

    outbox: ClassVar[list[SentSMS]] = []

    def send(self, *, to: str, body: str, status_callback: str = "") -> str:
        provider_id = f"locmem-{uuid.uuid4().hex[:12]}"
        self.outbox.append(SentSMS(to=to, body=body, provider_id=provider_id))
        return provider_id


class TwilioSMSBackend(SMSBackend):
    # Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
    PERMANENT_CODES: ClassVar[frozenset[int]] = frozenset(
        {21211, 21408, 21610, 21612, 21614, 30006}
    )
    # Seconds: connecting fails fast (nothing sent, retry later); a slow answer is "unknown".
    CONNECT_TIMEOUT = 5
    READ_TIMEOUT = 15

    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http_client = TwilioHttpClient(timeout=(self.CONNECT_TIMEOUT, self.READ_TIMEOUT))
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client
        )

    def send(self, *, to: str, body: str, status_callback: str = "") -> str:
        import requests
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": to, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            kwargs["from_"] = settings.TWILIO_FROM_NUMBER
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            if exc.status == 429:
                raise TransportError("rate limited", code=code) from exc
            if exc.status >= 500:
                raise TransportError(str(exc.msg), unknown=True, code=code) from exc
            permanent = exc.code in self.PERMANENT_CODES or 400 <= exc.status < 500
            raise TransportError(str(exc.msg), permanent=permanent, code=code) from exc
        except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as exc:
            raise TransportError(
                f"could not reach Twilio: {type(exc).__name__}", code="connect"
            ) from exc
        except requests.exceptions.RequestException as exc:
            # The request may have reached Twilio: resending could send twice.
            raise TransportError(
                f"no clear answer from Twilio: {type(exc).__name__}", unknown=True, code="timeout"
            ) from exc
        return str(message.sid)


def get_sms_backend() -> SMSBackend:
    backend_class: type[SMSBackend] = import_string(settings.SMS_BACKEND)
    return backend_class()
