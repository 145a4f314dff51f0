"""The public forms. Contact data is validated here for the page's messages; the services
validate again (they are the one way in)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from appointments.models import Weekday
from clients.phones import normalize_phone
from selfservice.models import PartOfDay
from tenants.text import NoControlCharactersMixin

# The honeypot: a field people never see (hidden by the stylesheet, skipped by screen readers
# and the keyboard) and bots fill in. Its name looks like something worth filling.
HONEYPOT = "website"


class ContactForm(NoControlCharactersMixin, forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    sms_consent = forms.BooleanField(
        label=_("Send me reminders and updates by SMS"), required=False, initial=True
    )
    email_consent = forms.BooleanField(
        label=_("Send me reminders and updates by email"), required=False
    )
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, country: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country = country
        self.fields["name"].widget.attrs["autocomplete"] = "name"

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"]
        try:
            return normalize_phone(raw, default_region=self.country)
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid mobile number, e.g. +34 600 123 456.")) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("email_consent") and not data.get("email"):
            self.add_error("email", _("Give an email address to get emails."))
        return data

    def is_bot(self) -> bool:
        return bool(self.data.get(HONEYPOT, "").strip())


class BookingForm(ContactForm):
    accept_terms = forms.BooleanField(
        label=_("I have read and accept these terms"),
        error_messages={"required": _("Please accept the terms to book.")},
    )


class WaitlistForm(ContactForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days that suit me (none: any day)"),
        choices=Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    parts_of_day = forms.MultipleChoiceField(
        label=_("Times that suit me (none: any time)"),
        choices=PartOfDay.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class SurveyForm(NoControlCharactersMixin, forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How was your visit?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose a rating from 1 to 5.")},
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
