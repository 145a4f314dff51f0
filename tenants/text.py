"""Free text people type: no control characters.

C0 and C1 control characters and DEL, except tab, line feed and carriage return (text may
have several lines). Nobody types them; they arrive pasted from other programs, and once
stored they corrupt SMS, CSV exports and the terminals that later show the text. The API
refuses them (`tenants.api.fields.StrictCharField`), every form refuses them
(`NoControlCharactersMixin`), and the few short reasons read straight from a POST lose them
(`plain_text`), as they lose what exceeds their length.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS_MESSAGE = _("Remove the control characters from this text.")


def refuse_control_characters(value: Any) -> None:
    """A validator: ValidationError (code "control_characters") when `value` has any."""
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code="control_characters")


def plain_text(value: str) -> str:
    """`value` without its control characters (lines and tabs kept)."""
    return CONTROL_CHARACTERS.sub("", value)


class NoControlCharactersMixin:
    """For a Django form: every text field refuses control characters, with a field error.

    Added when the form is cleaned, so that fields a form builds in its own __init__ (the
    reminder texts per language) are covered too.
    """

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and (
                refuse_control_characters not in field.validators
            ):
                field.validators.append(refuse_control_characters)
        super().full_clean()  # type: ignore[misc]
