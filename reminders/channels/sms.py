"""SMS transports. One seam: `get_sms_backend().send(to=..., body=...)` returns the provider's id.

A transport raises `TransportError(permanent=...)`: permanent errors (invalid number, opted
out) are not retried; the others may be. The reminders issue builds the outbox on top.
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
    def __init__(self, message: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class SentSMS:
    to: str
    body: str
    provider_id: str


class SMSBackend:
    def send(self, *, to: str, body: str) -> str:
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    """Prints each message: the `make run` default, so a developer sees what would be sent."""

    def send(self, *, to: str, body: str) -> str:
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        sys.stdout.write(f"\n--- SMS to {to} ({provider_id}) ---\n{body}\n---\n")
        sys.stdout.flush()
        return provider_id


class LocmemSMSBackend(SMSBackend):
    """Keeps messages in memory for tests, like Django's locmem email backend."""

    outbox: ClassVar[list[SentSMS]] = []

    def send(self, *, to: str, body: str) -> str:
        provider_id = f"locmem-{uuid.uuid4().hex[:12]}"
        self.outbox.append(SentSMS(to=to, body=body, provider_id=provider_id))
        return provider_id


class TwilioSMSBackend(SMSBackend):
    # Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
    PERMANENT_CODES: ClassVar[frozenset[int]] = frozenset(
        {21211, 21408, 21610, 21612, 21614, 30006}
    )

    def __init__(self) -> None:
        from twilio.rest import Client

        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)

    def send(self, *, to: str, body: str) -> str:
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": to, "body": body}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            kwargs["from_"] = settings.TWILIO_FROM_NUMBER
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            permanent = exc.code in self.PERMANENT_CODES or (
                400 <= exc.status < 500 and exc.status != 429
            )
            raise TransportError(
                str(exc.msg), permanent=permanent, code=str(exc.code or exc.status)
            ) from exc
        return str(message.sid)


def get_sms_backend() -> SMSBackend:
    backend_class: type[SMSBackend] = import_string(settings.SMS_BACKEND)
    return backend_class()
