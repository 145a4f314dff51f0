"""Webhook endpoints and their deliveries as the API shows them. The secret appears only in
the answers that create or rotate it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from hooks.events import WebhookEvent
from hooks.models import WebhookDelivery, WebhookEndpoint
from tenants.api.fields import StrictCharField

ENDPOINT_FIELDS: tuple[str, ...] = (
    "id",
    "url",
    "description",
    "is_active",
    "events",
    "created_at",
    "updated_at",
)


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = ENDPOINT_FIELDS
        read_only_fields: tuple[str, ...] = ENDPOINT_FIELDS


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.SerializerMethodField(
        help_text="Shown only in this answer: sign-checking key of every delivery."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*ENDPOINT_FIELDS, "secret")
        read_only_fields = fields

    def get_secret(self, endpoint: WebhookEndpoint) -> str:
        return str(self.context.get("secret", ""))


class WebhookEndpointInputSerializer(serializers.Serializer[Any]):
    url = StrictCharField(max_length=500)
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False
    )


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "last_duration_ms",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        )
        read_only_fields = fields
