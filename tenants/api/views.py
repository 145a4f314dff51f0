from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.permissions import AdminWrites
from tenants.api.serializers import LocationSerializer
from tenants.middleware import tenant_of
from tenants.models import Location


class BusinessOutputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    slug = serializers.CharField()
    timezone = serializers.CharField()
    language = serializers.CharField()
    currency = serializers.CharField()
    country = serializers.CharField()
    approve_new_clients = serializers.BooleanField(
        help_text="New clients' online bookings wait as requests (status `requested`) until"
        " the business accepts or declines them."
    )


class CurrentBusinessView(APIView):
    """The business the key (or the logged-in member) acts for."""

    @extend_schema(responses=BusinessOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(BusinessOutputSerializer(tenant_of(request)).data)


class LocationViewSet(viewsets.ModelViewSet[Location]):
    lookup_value_converter = "int"
    serializer_class = LocationSerializer
    permission_classes = (AdminWrites,)
    cursor_ordering = ("name", "id")

    def get_queryset(self) -> QuerySet[Location]:
        return Location.objects.all()
