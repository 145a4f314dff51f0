from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from tenants.text import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant that must carry its UTC offset: '10:00' alone is ambiguous."""

    default_error_messages = {
        "naive": _("Give the time with its UTC offset, e.g. 2026-03-02T10:00:00+01:00."),
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        result: datetime = super().to_internal_value(value)
        return result


class StrictCharField(serializers.CharField):
    """A string that must be given as a JSON string, without control characters.

    DRF's CharField turns 0 into "0", which the schema (`type: string`) does not allow and a
    client sending a number did not mean; it refuses only NUL among the control characters.
    Every text input of the API uses this field (with its `max_length`), so a bad string is
    a 400 naming the field, never a 500 and never stored.
    """

    default_error_messages = {
        "control_characters": CONTROL_CHARACTERS_MESSAGE,
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if CONTROL_CHARACTERS.search(data):
            self.fail("control_characters")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField, serializers.EmailField):
    """An email address given as a JSON string."""


class StrictStringsMixin:
    """For ModelSerializers: the model's text fields become StrictCharFields."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
    }
