"""The settings form of a webhook endpoint: what the admin typed, checked by the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hooks.events import WebhookEvent
from hooks.models import WebhookEndpoint
from tenants.text import NoControlCharactersMixin


class EndpointForm(NoControlCharactersMixin, forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/puntual-webhooks"}),
        help_text=_("An https:// address on the public internet that accepts POST requests."),
    )
    description = forms.CharField(label=_("description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )
    is_active = forms.BooleanField(label=_("active"), required=False)

    @staticmethod
    def initial_for(endpoint: WebhookEndpoint) -> dict[str, Any]:
        return {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "is_active": endpoint.is_active,
        }

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "url": data["url"],
            "description": data["description"],
            "events": data["events"],
            "is_active": data["is_active"],
        }
