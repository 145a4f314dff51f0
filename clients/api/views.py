from __future__ import annotations

from typing import Any, cast

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from appointments.api.views import api_actor
from clients.models import Client
from clients.privacy import AlreadyErased, client_erase, client_export
from clients.services import client_create, client_update
from reminders.api.serializers import InboundMessageSerializer, OutboundMessageSerializer
from reminders.models import InboundMessage, OutboundMessage
from tenants.api.exceptions import Conflict
from tenants.api.fields import StrictStringsMixin
from tenants.api.permissions import AdminOnly, FrontDeskWrites
from tenants.middleware import tenant_of


class ClientAlreadyErased(Conflict):
    default_code = "already_erased"
    default_detail = _("This client's data was already erased.")


class ClientSerializer(StrictStringsMixin, serializers.ModelSerializer[Client]):
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
            "erased_at",
        )
        read_only_fields = ("created_at", "erased_at")
        # Uniqueness per business is checked by the service (with the business's phone region).
        validators: list[Any] = []
        extra_kwargs = {"phone": {"max_length": 40, "validators": []}, "email": {"validators": []}}


class ClientMessageSerializer(OutboundMessageSerializer):
    """A message sent (or planned) to the client, with the appointment it was about."""

    class Meta:
        model = OutboundMessage
        fields = (*OutboundMessageSerializer.Meta.fields, "appointment")
        read_only_fields = fields


class ClientViewSet(viewsets.ModelViewSet[Client]):
    lookup_value_converter = "int"
    serializer_class = ClientSerializer
    permission_classes = (FrontDeskWrites,)
    cursor_ordering: tuple[str, ...] = ("name", "id")

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

    def _page(self, queryset: QuerySet[Any], serializer: Any, ordering: tuple[str, ...]) -> Any:
        # This viewset's lists are ordered by name; these by time, newest first.
        self.cursor_ordering = ordering
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(request=None, responses=ClientMessageSerializer(many=True))
    @action(detail=True, methods=["get"])
    def messages(self, request: Request, pk: int) -> Response:
        """Every message sent (or planned) to the client about any of their appointments,
        newest first, with whether it arrived (`status`, `delivered_at`)."""
        client = self.get_object()
        messages = OutboundMessage.objects.filter(appointment__client=client)
        return self._page(messages, ClientMessageSerializer, ("-send_at", "-id"))

    @extend_schema(request=None, responses=InboundMessageSerializer(many=True))
    @action(detail=True, methods=["get"])
    def replies(self, request: Request, pk: int) -> Response:
        """The client's SMS replies, newest first, with what Puntual made of each."""
        client = self.get_object()
        replies = InboundMessage.objects.filter(client=client).select_related("client")
        return self._page(replies, InboundMessageSerializer, ("-received_at", "-id"))

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["get"], permission_classes=[AdminOnly])
    def export(self, request: Request, pk: int) -> Response:
        """Everything held about the client (JSON): contact, appointments with their events,
        messages sent and received, ledger. Admins only; the export is recorded."""
        client = self.get_object()
        data = client_export(client=client, actor=api_actor(request), now=timezone.now())
        return Response(data, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=ClientSerializer)
    @action(detail=True, methods=["post"], permission_classes=[AdminOnly])
    def erase(self, request: Request, pk: int) -> Response:
        """Anonymise the client (appointments kept for statistics, future ones cancelled).
        Admins only; recorded. 409 `already_erased` the second time."""
        client = self.get_object()
        try:
            client = client_erase(client=client, actor=api_actor(request), now=timezone.now())
        except AlreadyErased as exc:
            raise ClientAlreadyErased from exc
        return Response(ClientSerializer(client).data, status=status.HTTP_200_OK)
