"""The signature of every delivery: `Puntual-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`.

The HMAC is keyed with the endpoint's secret over `f"{t}.{body}"` (the exact bytes sent).
docs/webhooks.md shows receivers how to verify it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Puntual-Signature"
EVENT_ID_HEADER = "Puntual-Event-Id"
EVENT_TYPE_HEADER = "Puntual-Event-Type"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
