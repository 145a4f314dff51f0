"""The business's profile, its locations, its team and its API keys."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.forms.base import (
    ModelFieldsForm,
    TimeInput,
    timezone_choices,
)
from tenants.models import ApiKeyRole, Business, Location, Membership, Role
from tenants.text import NoControlCharactersMixin

# --- Business and locations -------------------------------------------------------------


class BusinessProfileForm(ModelFieldsForm):
    model = Business
    model_fields = (
        "name",
        "timezone",
        "language",
        "currency",
        "country",
        "email",
        "phone",
        "website",
        "sms_quiet_start",
        "sms_quiet_end",
        "sms_sender",
        "approve_new_clients",
    )
    widgets: ClassVar[dict[str, Any]] = {
        "sms_quiet_start": TimeInput(),
        "sms_quiet_end": TimeInput(),
    }

    timezone = forms.ChoiceField(label=_("time zone"), choices=timezone_choices)
    currency = forms.CharField(
        label=_("currency"),
        min_length=3,
        max_length=3,
        help_text=_("ISO 4217 code, such as EUR, USD or MXN."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )
    country = forms.CharField(
        label=_("country"),
        min_length=2,
        max_length=2,
        help_text=_(
            "ISO 3166 code, such as ES, MX or US. Used to read phone numbers written without"
            " an international prefix."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3}),
    )

    website = forms.URLField(label=_("website"), required=False, assume_scheme="https")

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).strip().upper()


class LocationForm(ModelFieldsForm):
    model = Location
    model_fields = ("name", "timezone", "address", "phone", "is_active")
    widgets: ClassVar[dict[str, Any]] = {"address": forms.Textarea(attrs={"rows": 3})}

    timezone = forms.ChoiceField(label=_("time zone"), choices=timezone_choices)


# --- Team and API keys ------------------------------------------------------------------


def role_choices(actor: Membership) -> list[tuple[str, Any]]:
    """The roles `actor` may give: only an owner makes owners."""
    return [
        (value, label)
        for value, label in Role.choices
        if value != Role.OWNER or actor.role == Role.OWNER
    ]


class InviteForm(NoControlCharactersMixin, forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("role"))

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = cast(forms.ChoiceField, self.fields["role"])
        role_field.choices = role_choices(actor)
        role_field.initial = Role.RECEPTIONIST


class RoleForm(NoControlCharactersMixin, forms.Form):
    role = forms.ChoiceField(label=_("role"), choices=Role.choices)


class ApiKeyForm(NoControlCharactersMixin, forms.Form):
    name = forms.CharField(
        label=_("name"),
        max_length=100,
        help_text=_("Say who uses it, e.g. “Website booking widget”."),
    )
    role = forms.ChoiceField(
        label=_("role"), choices=ApiKeyRole.choices, initial=ApiKeyRole.READ_ONLY
    )
