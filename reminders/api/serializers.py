"""Output shapes of the reminders API: what was sent to clients, and what they answered."""

from __future__ import annotations

from rest_framework import serializers

from clients.models import Client
from reminders.models import InboundMessage, OutboundMessage
from tenants.api.serializers_base import CachedFieldsMixin


class OutboundMessageSerializer(CachedFieldsMixin, serializers.ModelSerializer[OutboundMessage]):
    class Meta:
        model = OutboundMessage
        fields = (
            "id",
            "kind",
            "channel",
            "to",
            "status",
            "status_reason",
            "send_at",
            "sent_at",
            "delivered_at",
            "attempts",
        )
        read_only_fields = fields


class InboxClientSerializer(CachedFieldsMixin, serializers.ModelSerializer[Client]):
    class Meta:
        model = Client
        fields = ("id", "name")
        read_only_fields = fields


class InboundMessageSerializer(CachedFieldsMixin, serializers.ModelSerializer[InboundMessage]):
    client = InboxClientSerializer(allow_null=True)
    # "from" is a Python keyword, so the field is put in the class namespace by name.
    vars()["from"] = serializers.CharField(source="from_number")

    class Meta:
        model = InboundMessage
        fields = (
            "id",
            "from",
            "body",
            "received_at",
            "outcome",
            "client",
            "appointment",
            "handled_at",
        )
        read_only_fields = fields
