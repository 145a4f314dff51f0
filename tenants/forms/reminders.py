"""Reminder rules with their texts in every language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from reminders.models import Purpose, ReminderRule, RuleChannel
from reminders.services.rules import (
    MAX_OFFSET_MINUTES,
    MAX_SURVEY_OFFSET_MINUTES,
    TEXT_MAX_LENGTH,
    reminder_rule_texts_errors,
)
from tenants.models import Business
from tenants.text import NoControlCharactersMixin

# --- Reminder rules ---------------------------------------------------------------------

# An offset is written as a number of one of these units.
OFFSET_UNITS: dict[str, int] = {"minutes": 1, "hours": 60, "days": 24 * 60}
OFFSET_UNIT_CHOICES = [("minutes", _("minutes")), ("hours", _("hours")), ("days", _("days"))]
# What the offset counts from: a survey's, from the end of the visit; every other, to its start.
# The page's script switches the label as the purpose changes; the server decides from the
# purpose posted, never from the label.
OFFSET_LABELS: dict[str, Any] = {
    "before": _("How long before the start"),
    "after": _("How long after the end"),
}
TEXT_PARTS: dict[str, Any] = {
    "subject": _("Email subject"),
    "body": _("Email text"),
    "sms": _("SMS"),
}


def text_field_name(language: str, part: str) -> str:
    return f"texts_{language}_{part}"


def offset_in_unit(minutes: int) -> tuple[int, str]:
    """The largest whole unit: 2880 minutes are 2 days, 90 minutes 90 minutes."""
    for unit in ("days", "hours"):
        if minutes % OFFSET_UNITS[unit] == 0:
            return minutes // OFFSET_UNITS[unit], unit
    return minutes, "minutes"


def offset_direction(purpose: str | None) -> str:
    """ "after" (the end) for a survey rule, "before" (the start) for every other."""
    return "after" if purpose == Purpose.SURVEY else "before"


class ReminderRuleForm(NoControlCharactersMixin, forms.Form):
    """A rule with its texts in every language; an empty text uses Puntual's own."""

    name = forms.CharField(label=_("name"), max_length=100)
    purpose = forms.ChoiceField(label=_("purpose"), choices=Purpose.choices)
    channel = forms.ChoiceField(
        label=_("channel"), choices=RuleChannel.choices, widget=forms.RadioSelect()
    )
    offset = forms.IntegerField(label=OFFSET_LABELS["before"], min_value=1)
    offset_unit = forms.ChoiceField(label=_("unit"), choices=OFFSET_UNIT_CHOICES, initial="hours")
    only_if_unconfirmed = forms.BooleanField(label=_("only if not confirmed yet"), required=False)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)
    preview_language = forms.ChoiceField(
        label=_("Preview in"), choices=settings.LANGUAGES, required=False
    )

    def __init__(self, *args: Any, tenant: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        for language, _label in settings.LANGUAGES:
            for part, label in TEXT_PARTS.items():
                widget = (
                    forms.TextInput()
                    if part == "subject"
                    else forms.Textarea(attrs={"rows": 6 if part == "body" else 3})
                )
                self.fields[text_field_name(language, part)] = forms.CharField(
                    label=label,
                    max_length=TEXT_MAX_LENGTH[part],
                    required=False,
                    strip=False,
                    widget=widget,
                )
        if not self.is_bound and "preview_language" not in self.initial:
            self.initial["preview_language"] = tenant.language
        purpose = self.data.get("purpose") if self.is_bound else self.initial.get("purpose")
        self.fields["offset"].label = OFFSET_LABELS[offset_direction(purpose)]

    @classmethod
    def initial_for(cls, rule: ReminderRule) -> dict[str, Any]:
        offset, unit = offset_in_unit(rule.offset_minutes)
        initial: dict[str, Any] = {
            "name": rule.name,
            "purpose": rule.purpose,
            "channel": rule.channel,
            "offset": offset,
            "offset_unit": unit,
            "only_if_unconfirmed": rule.only_if_unconfirmed,
            "is_active": rule.is_active,
        }
        for language, parts in (rule.texts or {}).items():
            for part, text in (parts or {}).items():
                initial[text_field_name(language, part)] = text
        return initial

    def language_fields(self) -> list[tuple[str, Any, list[forms.BoundField]]]:
        """(code, name, its three text fields) for each language, for the template."""
        return [
            (
                language,
                label,
                [self[text_field_name(language, part)] for part in TEXT_PARTS],
            )
            for language, label in settings.LANGUAGES
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        offset, unit = data.get("offset"), data.get("offset_unit")
        if offset is not None and unit in OFFSET_UNITS:
            minutes = offset * OFFSET_UNITS[unit]
            longest = (
                MAX_SURVEY_OFFSET_MINUTES
                if data.get("purpose") == Purpose.SURVEY
                else MAX_OFFSET_MINUTES
            )
            if minutes > longest:
                self.add_error(
                    "offset", _("Give at most %(days)d days.") % {"days": longest // 1440}
                )
            data["offset_minutes"] = minutes
        texts: dict[str, dict[str, str]] = {}
        for language, _label in settings.LANGUAGES:
            parts = {
                part: data.get(text_field_name(language, part)) or ""
                for part in TEXT_PARTS
                if (data.get(text_field_name(language, part)) or "").strip()
            }
            if parts:
                texts[language] = parts
        data["texts"] = texts
        if "purpose" in data:
            errors = reminder_rule_texts_errors(
                tenant=self.tenant, texts=texts, purpose=data["purpose"]
            )
            for language, found in errors.items():
                if not isinstance(found, dict):
                    self.add_error(None, list(found))
                    continue
                for part, messages in found.items():
                    name = text_field_name(language, part)
                    self.add_error(name if name in self.fields else None, list(messages))
        return data

    def rule_values(self) -> dict[str, Any]:
        """The rule's fields for the rule services."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "purpose": data["purpose"],
            "channel": data["channel"],
            "offset_minutes": data["offset_minutes"],
            "only_if_unconfirmed": data["only_if_unconfirmed"],
            "is_active": data["is_active"],
            "texts": data["texts"],
        }
