"""One error shape for the whole API: `{"code": "<stable code>", "detail": "...", "errors": {...}}`.

Codes are part of the API contract (clients switch on them); messages are translated.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from appointments.errors import SchedulingError

CODES: dict[type[Exception], str] = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "parse_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _code_for(exc: Exception) -> str:
    for klass in type(exc).__mro__:
        if klass in CODES:
            return CODES[klass]
    return getattr(exc, "default_code", "error")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SchedulingError):
        return Response({"code": exc.code, "detail": exc.message}, status=exc.http_status)
    if isinstance(exc, ProtectedError):
        return Response(
            {
                "code": "in_use",
                "detail": _("This is still used by appointments; deactivate it instead."),
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, IntegrityError):
        # Validation runs before every write; this is the race it cannot see (two requests
        # creating the same unique thing at once). The database refused it: say so.
        return Response(
            {"code": "conflict", "detail": _("This conflicts with data that was saved meanwhile.")},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        response.data = {
            "code": "invalid",
            "detail": _("Some fields are not valid."),
            "errors": errors,
        }
    else:
        detail = (
            response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        )
        response.data = {"code": _code_for(exc), "detail": str(detail)}
    return response
