"""Building blocks of the settings forms: model fields without ModelForm, service errors.

The settings forms only translate what a person typed into Python values; every check that
matters is the services' (they raise ValidationError with field errors, which
`add_service_errors` puts on the form). Plain forms built from the models' fields, not
ModelForms: a ModelForm would change the instance and run the model's checks itself, before
the service normalises the values.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import fields_for_model

from tenants.text import NoControlCharactersMixin

# --- Building blocks of the settings forms ----------------------------------------------


@cache
def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")
    return [(zone, zone.replace("_", " ")) for zone in zones]


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%H:%M")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class ColorInput(forms.TextInput):
    input_type = "color"


class ModelFieldsForm(NoControlCharactersMixin, forms.Form):
    """A form with the model's own fields (labels, help, choices, limits) for `model_fields`;
    fields declared on the class replace the generated ones of the same name."""

    model: ClassVar[type[models.Model]]
    model_fields: ClassVar[tuple[str, ...]] = ()
    widgets: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        declared = dict(self.fields)
        generated = fields_for_model(
            self.model,
            fields=[name for name in self.model_fields if name not in declared],
            widgets=self.widgets,
        )
        ordered: dict[str, forms.Field] = {}
        for name in self.model_fields:
            field = declared.pop(name, None) or generated.get(name)
            if field is not None:
                ordered[name] = field
        self.fields = {**ordered, **declared}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on the fields it names, else on the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, list(messages))
