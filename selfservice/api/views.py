"""The waitlist API: staff list, add and remove waiting clients. Services decide."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from selfservice.api.serializers import WaitlistEntrySerializer, WaitlistInputSerializer
from selfservice.models import WaitlistEntry, WaitlistSource, WaitlistStatus
from selfservice.services.waitlist import waitlist_join, waitlist_remove
from tenants.api.permissions import FrontDeskWrites
from tenants.middleware import tenant_of


class WaitlistViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[WaitlistEntry],
):
    """Clients waiting for a freed time. Deleting takes the client off the list."""

    lookup_value_converter = "int"
    permission_classes = (FrontDeskWrites,)
    serializer_class = WaitlistEntrySerializer
    cursor_ordering = ("created_at", "id")

    def get_queryset(self) -> QuerySet[WaitlistEntry]:
        return WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).order_by(
            "created_at", "id"
        )

    @extend_schema(request=WaitlistInputSerializer, responses={201: WaitlistEntrySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = WaitlistInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            entry = waitlist_join(
                tenant=tenant_of(request),
                client=values["client"],
                service=values["service"],
                staff=values.get("staff"),
                location=values.get("location"),
                weekdays=values["weekdays"],
                parts_of_day=values["parts_of_day"],
                source=WaitlistSource.STAFF,
                now=timezone.now(),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
            ) from exc
        return Response(WaitlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: WaitlistEntry) -> None:
        waitlist_remove(entry=instance)
