"""The waitlist's API shapes: explicit input and output."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from appointments.models import Service, StaffMember
from clients.models import Client
from selfservice.models import PartOfDay, WaitlistEntry
from tenants.models import Location


class WaitlistInputSerializer(serializers.Serializer[Any]):
    client: Any = serializers.PrimaryKeyRelatedField(queryset=Client.objects)
    service: Any = serializers.PrimaryKeyRelatedField(queryset=Service.objects)
    staff: Any = serializers.PrimaryKeyRelatedField(
        queryset=StaffMember.objects, required=False, allow_null=True
    )
    location: Any = serializers.PrimaryKeyRelatedField(
        queryset=Location.objects, required=False, allow_null=True
    )
    # Monday = 0 ... Sunday = 6, like the working hours' weekday.
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, default=list
    )
    parts_of_day = serializers.ListField(
        child=serializers.ChoiceField(choices=PartOfDay.choices), required=False, default=list
    )


class WaitlistEntrySerializer(serializers.ModelSerializer[WaitlistEntry]):
    client_name = serializers.CharField(source="client.name", read_only=True)
    weekdays = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    parts_of_day = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = WaitlistEntry
        fields = (
            "id",
            "client",
            "client_name",
            "service",
            "staff",
            "location",
            "weekdays",
            "parts_of_day",
            "status",
            "source",
            "created_at",
        )
        read_only_fields = fields
