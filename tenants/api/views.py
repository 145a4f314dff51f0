from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.fields import StrictStringsMixin
from tenants.api.permissions import AdminWrites
from tenants.api.serializers import LocationSerializer
from tenants.middleware import tenant_of
from tenants.models import Business, Location
from tenants.services import BUSINESS_FIELDS, business_update


class BusinessSerializer(StrictStringsMixin, serializers.ModelSerializer[Business]):
    class Meta:
        model = Business
        fields = ("slug", *BUSINESS_FIELDS)
        read_only_fields = ("slug",)


class CurrentBusinessView(APIView):
    """The business the key (or the logged-in member) acts for: everyone reads its profile;
    admins and owners change it (new SMS quiet hours re-plan the reminders not sent yet)."""

    permission_classes = (AdminWrites,)

    @extend_schema(responses=BusinessSerializer)
    def get(self, request: Request) -> Response:
        return Response(BusinessSerializer(tenant_of(request)).data)

    @extend_schema(request=BusinessSerializer, responses=BusinessSerializer)
    def patch(self, request: Request) -> Response:
        business = tenant_of(request)
        body = BusinessSerializer(business, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        return Response(
            BusinessSerializer(business_update(business=business, **body.validated_data)).data
        )


class LocationViewSet(viewsets.ModelViewSet[Location]):
    lookup_value_converter = "int"
    serializer_class = LocationSerializer
    permission_classes = (AdminWrites,)
    cursor_ordering = ("name", "id")

    def get_queryset(self) -> QuerySet[Location]:
        return Location.objects.all()
