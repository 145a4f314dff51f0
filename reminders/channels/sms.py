"""SMS transports. One seam: `get_sms_backend().send(to=..., body=..., status_callback=...)`
returns the provider's message id.

A transport raises `TransportError`: `permanent` (invalid number, opted out: never retried),
`unknown` (the provider may have accepted it: a 5xx or a read timeout after sending — never
resent blindly), or neither (nothing was sent: retried with backoff).
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.utils.module_loading import import_string
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

logger = logging.getLogger(__name__)

TWILIO_API_ORIGIN = "https://api.twilio.com"


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
    @classmethod
    def settings_key(cls) -> tuple[object, ...]:
        """The settings an instance reads when it is built: another value needs another one."""
        return ()

    def send(self, *, to: str, body: str, status_callback: str = "", sender: str = "") -> str:
        """Send one SMS; `sender` is the business's own (blank: the platform's default)."""
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    """Prints each message: the `make run` default, so a developer sees what would be sent."""

    def send(self, *, to: str, body: str, status_callback: str = "", sender: str = "") -> str:
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        sys.stdout.write(f"\n--- SMS to {to} ({provider_id}) ---\n{body}\n---\n")
        sys.stdout.flush()
        return provider_id


class LocmemSMSBackend(SMSBackend):
    """Keeps messages in memory for tests, like Django's locmem email backend."""

    outbox: ClassVar[list[SentSMS]] = []

    def send(self, *, to: str, body: str, status_callback: str = "", sender: str = "") -> str:
        provider_id = f"locmem-{uuid.uuid4().hex[:12]}"
        self.outbox.append(SentSMS(to=to, body=body, provider_id=provider_id))
        return provider_id


class TwilioSMSBackend(SMSBackend):
    # Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
    PERMANENT_CODES: ClassVar[frozenset[int]] = frozenset(
        {21211, 21408, 21610, 21612, 21614, 30006}
    )

    @classmethod
    def settings_key(cls) -> tuple[object, ...]:
        return (
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            settings.TWILIO_CONNECT_TIMEOUT,
            settings.TWILIO_READ_TIMEOUT,
        )

    def __init__(self) -> None:
        from twilio.rest import Client

        http_client = PuntualTwilioHttpClient(
            connect_timeout=settings.TWILIO_CONNECT_TIMEOUT,
            read_timeout=settings.TWILIO_READ_TIMEOUT,
        )
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client
        )

    def send(self, *, to: str, body: str, status_callback: str = "", sender: str = "") -> str:
        import requests
        from twilio.base.exceptions import TwilioRestException

        kwargs = {"to": to, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        if sender:
            # The business's own: a messaging service SID (MG...) or a number.
            kwargs["messaging_service_sid" if sender.startswith("MG") else "from_"] = sender
        elif settings.TWILIO_MESSAGING_SERVICE_SID:
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
        except requests.exceptions.RequestException as exc:
            if not _never_reached(exc):
                # The request may have reached Twilio: resending could send twice.
                raise TransportError(
                    f"no clear answer from Twilio: {type(exc).__name__}",
                    unknown=True,
                    code="timeout",
                ) from exc
            raise TransportError(
                f"could not reach Twilio: {type(exc).__name__}", code="connect"
            ) from exc
        return str(message.sid)


class PuntualTwilioHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, with separate connect and read timeouts (the twilio package
    only takes one number), and TWILIO_API_BASE_URL (tests, benchmarks) pointing it elsewhere."""

    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        super().__init__()
        # requests takes (connect, read); TwilioHttpClient passes self.timeout through.
        self.timeout = (connect_timeout, read_timeout)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        base = settings.TWILIO_API_BASE_URL
        if base and url.startswith(TWILIO_API_ORIGIN):
            url = base.rstrip("/") + url[len(TWILIO_API_ORIGIN) :]
        return super().request(method, url, *args, **kwargs)


def _never_reached(exc: Exception) -> bool:
    """True when the request certainly never reached the provider (no connection was made)."""
    import requests
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # Refused, unresolvable, unreachable: urllib3 failed to open the connection at all.
    return isinstance(reason, NewConnectionError)


_backends = threading.local()


def get_sms_backend() -> SMSBackend:
    """The configured backend, one per thread: built again only when its settings change.

    A Twilio backend holds an HTTP session whose connections stay open between messages (a
    new backend per message opened a connection per message). requests' sessions are not
    safe to share between threads, so every worker thread has its own.
    """
    backend_class: type[SMSBackend] = import_string(settings.SMS_BACKEND)
    key = (backend_class, backend_class.settings_key())
    cached: tuple[object, SMSBackend] | None = getattr(_backends, "cached", None)
    if cached is None or cached[0] != key:
        cached = (key, backend_class())
        _backends.cached = cached
    return cached[1]
