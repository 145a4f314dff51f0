"""Tells drf-spectacular how API keys authenticate, so the schema documents it."""

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)

from tenants.api.idempotency import HEADER as IDEMPOTENCY_HEADER


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The business's API key: `Authorization: Bearer pnt_...`",
        }


class TimeOfDayField(OpenApiSerializerFieldExtension):
    """A time of day is written and read as `HH:MM[:SS]`, without an offset (the location's
    time zone applies). JSON Schema's `time` format is RFC 3339's, which requires an offset,
    so the schema states the real form instead."""

    target_class = "rest_framework.fields.TimeField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, str]:
        return {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "example": "09:00:00",
        }


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every API error: a stable `code`, a translated `detail`, and for invalid"
    " input the field `errors`.",
    "properties": {
        "code": {"type": "string", "description": "Stable: clients switch on it."},
        "detail": {"type": "string", "description": "Translated (Accept-Language)."},
        "errors": {
            "type": "object",
            "description": "Invalid input only: the messages of each field"
            " (`non_field_errors` for the whole request).",
            "additionalProperties": {},
        },
    },
    "required": ["code", "detail"],
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (`invalid`, `parse_error`, `invalid_cursor`,"
    " `invalid_idempotency_key`, ...).",
    "401": "No API key, or a revoked or unknown one.",
    "403": "The key's role may not do this (`permission_denied`).",
    "404": "No such object in this business (`not_found`).",
    "409": "Conflicts with the current state (`slot_taken`, `invalid_transition`, `in_use`,"
    " `conflict`, ...).",
    "415": "The body's content type is not JSON, form or multipart (`unsupported_media_type`).",
    "422": "This `Idempotency-Key` was used for another request (`idempotency_key_reused`).",
    "429": "Rate limit reached (`throttled`): retry after `Retry-After` seconds.",
}


def _error_response(code: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code == "429":
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before the next request.",
                "schema": {"type": "integer"},
            }
        }
    return response


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: declare the errors every operation can answer.

    The exception handler (`tenants.api.exceptions`) gives all of them one shape, `Error`:
    401/403/429 anywhere (authentication, role, rate limit), 404 where a path names an object,
    400 where the request carries input (body or query), 409 and 415 where it writes, 422
    where it honours an `Idempotency-Key` (the key reused for another request).
    Optional query parameters may be sent empty, which means not given.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                # DRF reads an optional query parameter given empty (`?to=`) as not given.
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            codes = ["401", "403", "429"]
            if any(parameter.get("in") == "path" for parameter in parameters):
                codes.append("404")
            writes = method != "get"
            if writes or any(parameter.get("in") == "query" for parameter in parameters):
                codes.append("400")
            if writes:
                codes.append("409")
            if "requestBody" in operation:
                codes.append("415")
            if any(
                parameter.get("in") == "header" and parameter.get("name") == IDEMPOTENCY_HEADER
                for parameter in parameters
            ):
                codes.append("422")
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, _error_response(code))
    return result
