"""Validated building blocks shared by the tenant models."""

import re
import zoneinfo
from functools import cache

from babel.numbers import list_currencies
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _zones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


def validate_currency(value: str) -> None:
    if value not in list_currencies():
        raise ValidationError(
            _("“%(value)s” is not an ISO 4217 currency code."), params={"value": value}
        )


def validate_country(value: str) -> None:
    import phonenumbers

    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            _("“%(value)s” is not an ISO 3166 country code."), params={"value": value}
        )


_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


def validate_sms_sender(value: str) -> None:
    """A Twilio messaging service SID (MG + 32 hex digits) or a phone number in E.164."""
    import phonenumbers

    if _MESSAGING_SERVICE_SID.match(value):
        return
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not value.startswith("+")
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value
    ):
        raise ValidationError(
            _(
                "Use a Twilio messaging service SID (MG followed by 32 hex digits) or a phone"
                " number in international format, such as +34911234567."
            )
        )


# The first segment of every path Puntual serves itself: a business with one of these slugs
# would have its clients' pages (/<slug>/book/, /<slug>/a/<token>/) shadowed by Puntual's own
# (tests/tenants/test_reserved_slugs.py checks the list against the URLconf).
RESERVED_SLUGS = frozenset(
    {
        "accounts",
        "admin",
        "api",
        "dashboard",
        "healthz",
        "i18n",
        "media",
        "reports",
        "settings",
        "static",
        "switch-business",
        "webhooks",
    }
)


def validate_business_slug(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(
            _("“%(value)s” is reserved by Puntual; choose another address."),
            params={"value": value},
            code="reserved",
        )
