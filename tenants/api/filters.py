"""Query-string filters shared by the lists: the same names and the same answers everywhere.

A filter's bad value is a 400 `invalid` naming it, never ignored nor a 500. Dates are the
business's days; `from`/`to` take a date (`to` inclusive) or an instant with its offset, as
the appointment list does.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import empty

from tenants.api.fields import AwareDateTimeField
from tenants.middleware import tenant_of

MAX_ID = 2**63 - 1


def id_filter(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text=help_text
    )


class _OptionalBoolean(serializers.BooleanField):
    # DRF reads a boolean missing from a query string as False; here it is "not filtered".
    default_empty_html = empty


def bool_filter(help_text: str) -> serializers.BooleanField:
    return _OptionalBoolean(required=False, help_text=help_text)


class DateRangeFilterSerializer(serializers.Serializer[Any]):
    """`from` and `to`: a date in the business's zone (`to` included) or an instant with its
    offset. Validated into aware datetimes, `to` exclusive."""

    range_help = "the range"

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # `from` is a Python keyword: the fields are named here, as the query string spells them.
        fields = super().get_fields()
        fields["from"] = serializers.CharField(
            required=False,
            help_text=f"Start of {self.range_help}: YYYY-MM-DD (business time) or an instant"
            " with its offset.",
        )
        fields["to"] = serializers.CharField(
            required=False,
            help_text=f"End of {self.range_help}: YYYY-MM-DD (included) or an instant with its"
            " offset (excluded).",
        )
        return fields

    def _instant(self, value: str, *, end: bool) -> datetime:
        zone = zoneinfo.ZoneInfo(tenant_of(self.context["request"]).timezone)
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
        if day is not None:
            if end:
                if day == date.max:
                    raise serializers.ValidationError("out of range")
                day += timedelta(days=1)
            return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
        instant: datetime = AwareDateTimeField().to_internal_value(value)
        # In UTC now: an instant near year 1 or 9999 that cannot be stored is bad input here,
        # not an overflow in the query.
        return instant.astimezone(UTC)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("from", "to"):
            if name in attrs:
                try:
                    attrs[name] = self._instant(attrs[name], end=name == "to")
                except (serializers.ValidationError, OverflowError) as exc:
                    raise serializers.ValidationError(
                        {name: [_("Give a date (YYYY-MM-DD) or an instant with its offset.")]}
                    ) from exc
        if "from" in attrs and "to" in attrs and attrs["from"] >= attrs["to"]:
            raise serializers.ValidationError(
                {"to": [_("The end of the range must be after its start.")]}
            )
        return attrs
