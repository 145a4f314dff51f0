from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from tenants.api.fields import StrictStringsMixin
from tenants.middleware import tenant_of
from tenants.models import Location


class LocationSerializer(StrictStringsMixin, serializers.ModelSerializer[Location]):
    class Meta:
        model = Location
        fields = ("id", "name", "timezone", "address", "phone", "is_active")

    def validate_name(self, value: str) -> str:
        tenant = tenant_of(self.context["request"])
        clash = Location.objects.filter(tenant=tenant, name=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(_("A location with this name exists."))
        return value

    def create(self, validated_data: dict[str, Any]) -> Location:
        location = Location(tenant=tenant_of(self.context["request"]), **validated_data)
        location.full_clean()
        location.save()
        return location
