"""Email through Django's email API: anymail in production, console or locmem elsewhere.

Errors become `TransportError` like SMS ones: a refused recipient is permanent, a provider
5xx or a broken connection after sending is unknown, anything before sending is retried.
"""

from __future__ import annotations

import smtplib
import socket
import uuid

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.core.mail import EmailMultiAlternatives, get_connection

from reminders.channels.sms import TransportError


def send_email(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    from_email: str | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
    message_id: int | None = None,
) -> str:
    """Send one email; return the provider's message id (or a local one without a provider)."""
    email = EmailMultiAlternatives(subject=subject, body=text, from_email=from_email, to=[to])
    email.attach_alternative(html, "text/html")
    for name, content, mimetype in attachments or []:
        email.attach(name, content, mimetype)
    if message_id is not None:
        email.extra_headers["X-Puntual-Message"] = str(message_id)
    try:
        get_connection().send_messages([email])
    except AnymailRecipientsRefused as exc:
        raise TransportError(str(exc), permanent=True, code="refused") from exc
    except AnymailRequestsAPIError as exc:
        status = exc.status_code or 0
        if status == 429:
            raise TransportError(str(exc), code="429") from exc
        if 400 <= status < 500:
            raise TransportError(str(exc), permanent=True, code=str(status)) from exc
        raise TransportError(str(exc), unknown=True, code=str(status or "api")) from exc
    except AnymailAPIError as exc:
        raise TransportError(str(exc), unknown=True, code="api") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise TransportError(str(exc), permanent=True, code="refused") from exc
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransportError(str(exc), code=str(exc.smtp_code)) from exc  # greylisting etc.
        raise TransportError(str(exc), permanent=True, code=str(exc.smtp_code)) from exc
    except (smtplib.SMTPConnectError, ConnectionRefusedError, socket.gaierror) as exc:
        raise TransportError(str(exc), code="connect") from exc
    except (smtplib.SMTPServerDisconnected, TimeoutError, OSError) as exc:
        raise TransportError(str(exc), unknown=True, code="timeout") from exc
    status = getattr(email, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status is not None else None
    return str(provider_id) if provider_id else f"local-{uuid.uuid4().hex[:12]}"
