"""The waitlist's API shapes: explicit input and output."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from appointments.models import Service, StaffMember
from clients.models import Client
from selfservice.models import (
    OfferStatus,
    PartOfDay,
    SurveyInvitation,
    WaitlistEntry,
    WaitlistOffer,
)
from tenants.api.filters import DateRangeFilterSerializer, bool_filter, id_filter
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


# --- Survey results ----------------------------------------------------------------------


class SurveyResultSerializer(serializers.ModelSerializer[SurveyInvitation]):
    """One appointment's survey: whether it went out, and the client's answer once given."""

    appointment_start = serializers.DateTimeField(source="appointment.start", read_only=True)
    client = serializers.IntegerField(source="appointment.client_id", read_only=True)
    client_name = serializers.CharField(source="appointment.client.name", read_only=True)
    staff = serializers.IntegerField(source="appointment.staff_id", read_only=True)
    staff_name = serializers.CharField(source="appointment.staff.display_name", read_only=True)
    service = serializers.IntegerField(source="appointment.service_id", read_only=True)
    service_name = serializers.CharField(source="appointment.service.name", read_only=True)
    answered = serializers.SerializerMethodField()

    class Meta:
        model = SurveyInvitation
        fields = (
            "id",
            "appointment",
            "appointment_start",
            "client",
            "client_name",
            "staff",
            "staff_name",
            "service",
            "service_name",
            "status",
            "channel",
            "send_at",
            "sent_at",
            "answered",
            "rating",
            "comment",
            "answered_at",
            "created_at",
        )
        read_only_fields = fields

    def get_answered(self, survey: SurveyInvitation) -> bool:
        return survey.answered_at is not None


class SurveyFilterSerializer(DateRangeFilterSerializer):
    range_help = "the answers' time (only answered surveys are then listed)"

    staff = id_filter("One staff member's appointments.")
    service = id_filter("One service's appointments.")
    location = id_filter("One location's appointments.")
    answered = bool_filter("true: answered only; false: not answered (yet) only.")


class ScoreSerializer(serializers.Serializer[Any]):
    answers = serializers.IntegerField()
    average = serializers.DecimalField(
        max_digits=3, decimal_places=2, allow_null=True, help_text="1 to 5; null: no answers."
    )


class GroupScoreSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    answers = serializers.IntegerField()
    average = serializers.DecimalField(max_digits=3, decimal_places=2)


class SurveySummarySerializer(serializers.Serializer[Any]):
    overall = ScoreSerializer()
    by_staff = GroupScoreSerializer(many=True, help_text="Best average first.")
    by_service = GroupScoreSerializer(many=True, help_text="Best average first.")


# --- Waitlist offers ---------------------------------------------------------------------


class WaitlistOfferSerializer(serializers.ModelSerializer[WaitlistOffer]):
    """A freed time offered to one waiting client (never the offer's link)."""

    client = serializers.IntegerField(source="entry.client_id", read_only=True)
    client_name = serializers.CharField(source="entry.client.name", read_only=True)
    start = serializers.DateTimeField(source="slot.start", read_only=True)
    service = serializers.IntegerField(source="slot.service_id", read_only=True)
    staff = serializers.IntegerField(source="slot.staff_id", read_only=True)
    location = serializers.IntegerField(source="slot.location_id", read_only=True)
    cancelled_appointment = serializers.IntegerField(
        source="slot.cancelled_appointment_id", read_only=True
    )
    refilled_by = serializers.IntegerField(
        source="slot.refilled_by_id", read_only=True, allow_null=True
    )

    class Meta:
        model = WaitlistOffer
        fields = (
            "id",
            "entry",
            "client",
            "client_name",
            "start",
            "service",
            "staff",
            "location",
            "cancelled_appointment",
            "refilled_by",
            "status",
            "status_reason",
            "channel",
            "send_at",
            "sent_at",
            "expires_at",
            "claimed_at",
            "created_at",
        )
        read_only_fields = fields


class WaitlistOfferFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=OfferStatus.choices, required=False)
    client = id_filter("One client's offers.")
    entry = id_filter("The offers made to one waitlist entry.")
