"""Explicit input and output shapes of the scheduling API."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from appointments.models import (
    Appointment,
    AppointmentEvent,
    Service,
    StaffMember,
    TimeOff,
    WorkingHours,
)
from appointments.services.setup import working_hours_validate
from clients.models import Client
from clients.phones import normalize_phone
from tenants.api.fields import AwareDateTimeField, StrictCharField, StrictStringsMixin
from tenants.api.filters import DateRangeFilterSerializer
from tenants.api.references import BatchedPrimaryKeyField, BatchedReferencesMixin
from tenants.api.serializers_base import CachedFieldsMixin
from tenants.middleware import tenant_of
from tenants.models import Location


def _tenant(serializer: serializers.BaseSerializer[Any]) -> Any:
    return tenant_of(serializer.context["request"])


class _UniqueNameMixin:
    """Names are unique per business: say so as a field error instead of a database error."""

    unique_name_field = "name"

    def _check_unique_name(self, value: str) -> str:
        model = self.Meta.model  # type: ignore[attr-defined]
        clash = model.objects.filter(tenant=_tenant(self), **{self.unique_name_field: value})  # type: ignore[arg-type]
        if self.instance is not None:  # type: ignore[attr-defined]
            clash = clash.exclude(pk=self.instance.pk)  # type: ignore[attr-defined]
        if clash.exists():
            raise serializers.ValidationError(_("This name is already used in this business."))
        return value


class ServiceSerializer(StrictStringsMixin, _UniqueNameMixin, serializers.ModelSerializer[Service]):
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = (
            "id",
            "name",
            "description",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "price",
            "currency",
            "mode",
            "meeting_link_template",
            "color",
            "is_active",
            "min_notice_minutes",
            "max_advance_days",
            "slot_step_minutes",
        )

    def get_currency(self, obj: Service) -> str:
        return str(_tenant(self).currency)

    def validate_name(self, value: str) -> str:
        return self._check_unique_name(value)

    def create(self, validated_data: dict[str, Any]) -> Service:
        return Service.objects.create(tenant=_tenant(self), **validated_data)


class StaffSerializer(
    StrictStringsMixin, _UniqueNameMixin, serializers.ModelSerializer[StaffMember]
):
    unique_name_field = "display_name"
    services: Any = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Service.objects, required=False
    )
    locations: Any = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Location.objects, required=False
    )

    class Meta:
        model = StaffMember
        fields = ("id", "display_name", "color", "is_active", "services", "locations")

    def validate_display_name(self, value: str) -> str:
        return self._check_unique_name(value)

    def create(self, validated_data: dict[str, Any]) -> StaffMember:
        from appointments.services.setup import staff_create

        return staff_create(tenant=_tenant(self), **validated_data)

    def update(self, instance: StaffMember, validated_data: dict[str, Any]) -> StaffMember:
        from appointments.services.setup import staff_update

        return staff_update(staff=instance, **validated_data)


class WorkingHoursSerializer(serializers.ModelSerializer[WorkingHours]):
    staff: Any = serializers.PrimaryKeyRelatedField(queryset=StaffMember.objects)
    location: Any = serializers.PrimaryKeyRelatedField(queryset=Location.objects)

    class Meta:
        model = WorkingHours
        fields = ("id", "staff", "location", "weekday", "start_time", "end_time")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        hours = WorkingHours(tenant=_tenant(self), **{**self._current(), **attrs})
        if self.instance is not None:
            hours.pk = self.instance.pk
        try:
            working_hours_validate(hours)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def _current(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        return {
            f: getattr(self.instance, f)
            for f in ("staff", "location", "weekday", "start_time", "end_time")
        }

    def create(self, validated_data: dict[str, Any]) -> WorkingHours:
        return WorkingHours.objects.create(tenant=_tenant(self), **validated_data)


class TimeOffSerializer(StrictStringsMixin, serializers.ModelSerializer[TimeOff]):
    staff: Any = serializers.PrimaryKeyRelatedField(queryset=StaffMember.objects)
    start = AwareDateTimeField()
    end = AwareDateTimeField()

    class Meta:
        model = TimeOff
        fields = ("id", "staff", "start", "end", "reason")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start = attrs.get("start", getattr(self.instance, "start", None))
        end = attrs.get("end", getattr(self.instance, "end", None))
        if start and end and start >= end:
            raise serializers.ValidationError({"end": [_("The end must be after the start.")]})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> TimeOff:
        return TimeOff.objects.create(tenant=_tenant(self), **validated_data)


class ClientSummarySerializer(CachedFieldsMixin, serializers.ModelSerializer[Client]):
    class Meta:
        model = Client
        fields = ("id", "name", "phone", "email")


class EventSerializer(CachedFieldsMixin, serializers.ModelSerializer[AppointmentEvent]):
    class Meta:
        model = AppointmentEvent
        fields = (
            "kind",
            "from_status",
            "to_status",
            "actor_type",
            "actor_label",
            "channel",
            "reason",
            "data",
            "at",
        )


class AppointmentOutputSerializer(CachedFieldsMixin, serializers.ModelSerializer[Appointment]):
    client = ClientSummarySerializer()
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields: tuple[str, ...] = (
            "id",
            "status",
            "start",
            "end",
            "location",
            "staff",
            "service",
            "client",
            "source",
            "notes",
            "price",
            "currency",
            "version",
            "created_at",
            "confirmed_at",
            "arrived_at",
            "started_at",
            "finished_at",
            "cancelled_at",
            "cancelled_by",
            "cancellation_reason",
        )

    def get_currency(self, obj: Appointment) -> str:
        return str(_tenant(self).currency)


class AppointmentDetailSerializer(AppointmentOutputSerializer):
    events = EventSerializer(many=True)

    class Meta(AppointmentOutputSerializer.Meta):
        fields: tuple[str, ...] = (*AppointmentOutputSerializer.Meta.fields, "events")


class NewClientSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=200)
    phone = StrictCharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=["", "es", "en"], required=False, default="")
    sms_consent = serializers.BooleanField(required=False, default=False)
    email_consent = serializers.BooleanField(required=False, default=False)

    def validate_phone(self, value: str) -> str:
        try:
            return normalize_phone(value, default_region=tenant_of(self.context["request"]).country)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("phone") and not attrs.get("email"):
            raise serializers.ValidationError(_("Give a phone number or an email address."))
        return attrs


class AppointmentCreateSerializer(
    CachedFieldsMixin, BatchedReferencesMixin, serializers.Serializer[Any]
):
    # The busiest endpoint: its four references are loaded with one query, and its fields are
    # copied from a template instead of deep-copied (CachedFieldsMixin).
    service: Any = BatchedPrimaryKeyField(queryset=Service.objects)
    location: Any = BatchedPrimaryKeyField(queryset=Location.objects)
    staff: Any = BatchedPrimaryKeyField(
        queryset=StaffMember.objects,
        required=False,
        allow_null=True,
        help_text="Omit or null: any staff member free at that time.",
    )
    start = AwareDateTimeField()
    client: Any = BatchedPrimaryKeyField(queryset=Client.objects, required=False)
    new_client = NewClientSerializer(
        required=False, help_text="A client to find (by phone or email) or create."
    )
    notes = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("client" in attrs) == ("new_client" in attrs):
            raise serializers.ValidationError(
                {"client": [_("Give either client (an id) or new_client.")]}
            )
        return attrs


class CancelSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)
    by = serializers.ChoiceField(
        choices=[("staff", gettext_lazy("Staff")), ("client", gettext_lazy("The client"))],
        required=False,
        default="staff",
        help_text=gettext_lazy(
            "Who asked for the cancellation. A client's cancellation is judged by the terms "
            "they booked under (a late one may keep the deposit or charge a fee); staff's never "
            "charges the client."
        ),
    )


class DeclineSerializer(serializers.Serializer[Any]):
    reason = StrictCharField(required=False, allow_blank=True, default="", max_length=1000)


class RescheduleSerializer(serializers.Serializer[Any]):
    start = AwareDateTimeField()
    staff: Any = serializers.PrimaryKeyRelatedField(queryset=StaffMember.objects, required=False)
    reason = StrictCharField(required=False, allow_blank=True, default="", max_length=2000)


class AppointmentFilterSerializer(DateRangeFilterSerializer):
    """Query parameters of the appointment list. `from`/`to` (of the start) are dates in the
    business's zone (`to` inclusive) or instants with their offset."""

    range_help = "the appointments' start"

    status = serializers.CharField(required=False)
    staff = serializers.IntegerField(required=False, min_value=1)
    client = serializers.IntegerField(required=False, min_value=1)
    location = serializers.IntegerField(required=False, min_value=1)
    service = serializers.IntegerField(required=False, min_value=1)

    def validate_status(self, value: str) -> list[str]:
        from appointments.models import AppointmentStatus

        statuses = [s.strip() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(AppointmentStatus.values))
        if unknown:
            raise serializers.ValidationError(
                _("Unknown status: %(statuses)s.") % {"statuses": ", ".join(unknown)}
            )
        return statuses
