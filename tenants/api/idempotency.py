"""`Idempotency-Key` for API writes: a retried request returns the first result.

The record is inserted in the same transaction as the work. A concurrent request with the
same key blocks on the unique index until the first commits (PostgreSQL) and then replays
its response; if the first failed and rolled back, the second simply does the work.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.middleware import tenant_of
from tenants.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# Every operation that calls `idempotent` declares this header (tests/api/test_idempotency_schema
# checks both ways); the schema hook then documents its 422 `idempotency_key_reused`.
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "maxLength": MAX_KEY_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique value (a UUID): a retry with the same key and the same request"
    " returns the first answer (with `Idempotent-Replayed: true`) instead of acting again; the"
    " same key with another request is 422 `idempotency_key_reused`; longer than"
    f" {MAX_KEY_LENGTH} characters, 400 `invalid_idempotency_key`.",
)


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() if request.method else b"")
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(request._request.body)
    return digest.hexdigest()


def idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return handler()
    if len(key) > MAX_KEY_LENGTH:
        return Response(
            {
                "code": "invalid_idempotency_key",
                "detail": _("The Idempotency-Key is longer than %(max)d characters.")
                % {"max": MAX_KEY_LENGTH},
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    tenant = tenant_of(request)
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    tenant=tenant, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            return _replay(tenant_id=tenant.pk, key=key, fingerprint=fingerprint)
        response = handler()
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
        return response


def _replay(*, tenant_id: int, key: str, fingerprint: str) -> Response:
    record = IdempotencyRecord.objects.get(tenant_id=tenant_id, key=key)
    if record.fingerprint != fingerprint:
        return Response(
            {
                "code": "idempotency_key_reused",
                "detail": _("This Idempotency-Key was used for another request."),
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(
        record.response_body,
        status=record.response_status or 200,
        headers={"Idempotent-Replayed": "true"},
    )
