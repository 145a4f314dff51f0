"""The reminders API: the receptionists' inbox of SMS replies Puntual could not act on."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from reminders.api.serializers import InboundMessageSerializer
from reminders.models import InboundMessage
from reminders.services.inbound import inbound_mark_handled
from tenants.api.permissions import FrontDeskWrites


class InboxViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[InboundMessage]):
    """Clients' SMS replies. By default only those waiting for a person; `?all=1` for every one."""

    lookup_value_converter = "int"
    permission_classes = (FrontDeskWrites,)
    serializer_class = InboundMessageSerializer
    cursor_ordering = ("-received_at", "-id")

    def get_queryset(self) -> QuerySet[InboundMessage]:
        queryset = InboundMessage.objects.select_related("client")
        if self.action == "list" and self.request.query_params.get("all") not in {"1", "true"}:
            queryset = queryset.filter(
                outcome=InboundMessage.Outcome.NEEDS_HUMAN, handled_at__isnull=True
            )
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter("all", bool, description="1: every reply, not only the open ones")
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=InboundMessageSerializer)
    @action(detail=True, methods=["post"])
    def handled(self, request: Request, pk: str) -> Response:
        message = inbound_mark_handled(message=self.get_object())
        return Response(self.get_serializer(message).data)
