from __future__ import annotations

from typing import Any, cast

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from clients.models import Client
from clients.services import client_create, client_update
from tenants.api.permissions import FrontDeskWrites
from tenants.middleware import tenant_of


class ClientSerializer(serializers.ModelSerializer[Client]):
    class Meta:
        model = Client
        fields = (
            "id",
            "name",
            "phone",
            "email",
            "language",
            "notes",
            "sms_consent",
            "email_consent",
            "created_at",
        )
        read_only_fields = ("created_at",)
        # Uniqueness per business is checked by the service (with the business's phone region).
        validators: list[Any] = []
        extra_kwargs = {"phone": {"max_length": 40, "validators": []}, "email": {"validators": []}}


class ClientViewSet(viewsets.ModelViewSet[Client]):
    lookup_value_converter = "int"
    serializer_class = ClientSerializer
    permission_classes = (FrontDeskWrites,)
    cursor_ordering = ("name", "id")

    def get_queryset(self) -> QuerySet[Client]:
        return Client.objects.all().order_by("name", "id")

    @extend_schema(
        parameters=[OpenApiParameter("search", str, description="name, phone or email contains")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset: Any) -> Any:
        term = self.request.query_params.get("search", "").strip()
        if term:
            queryset = queryset.filter(
                Q(name__icontains=term) | Q(phone__icontains=term) | Q(email__icontains=term)
            )
        return queryset

    def perform_create(self, serializer: serializers.BaseSerializer[Client]) -> None:
        serializer.instance = client_create(
            tenant=tenant_of(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer[Client]) -> None:
        serializer.instance = client_update(
            client=cast(Client, serializer.instance), **serializer.validated_data
        )
