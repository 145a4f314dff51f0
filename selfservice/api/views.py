"""The self-service API: the waitlist (staff list, add and remove waiting clients; services
decide), the offers freed times made to it, and the after-visit survey results (read-only)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from selfservice.api.serializers import (
    SurveyFilterSerializer,
    SurveyResultSerializer,
    SurveySummarySerializer,
    WaitlistEntrySerializer,
    WaitlistInputSerializer,
    WaitlistOfferFilterSerializer,
    WaitlistOfferSerializer,
)
from selfservice.models import (
    SurveyInvitation,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSource,
    WaitlistStatus,
)
from selfservice.selectors import survey_score_of, survey_scores_grouped
from selfservice.services.waitlist import waitlist_join, waitlist_remove
from tenants.api.permissions import FrontDeskReads, FrontDeskWrites
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


class WaitlistOfferViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[WaitlistOffer]
):
    """The freed times offered to waiting clients, newest first: sent, claimed, taken by
    someone else... (the waitlist page's offers)."""

    lookup_value_converter = "int"
    permission_classes = (FrontDeskWrites,)  # read-only: whoever reads the waitlist
    serializer_class = WaitlistOfferSerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self) -> QuerySet[WaitlistOffer]:
        return WaitlistOffer.objects.select_related("entry__client", "slot")

    @extend_schema(parameters=[WaitlistOfferFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset: Any) -> Any:
        if self.action != "list":
            return queryset
        query = WaitlistOfferFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        if "status" in data:
            queryset = queryset.filter(status=data["status"])
        if "client" in data:
            queryset = queryset.filter(entry__client_id=data["client"])
        if "entry" in data:
            queryset = queryset.filter(entry_id=data["entry"])
        return queryset


class SurveyResultViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SurveyInvitation]
):
    """The after-visit surveys and their answers (rating 1 to 5, comment), newest first, and
    their scores per staff member and per service (the survey results page). Read-only; not
    for providers, who see their own schedule, not what clients said of their colleagues."""

    lookup_value_converter = "int"
    permission_classes = (FrontDeskReads,)
    serializer_class = SurveyResultSerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self) -> QuerySet[SurveyInvitation]:
        return SurveyInvitation.objects.select_related(
            "appointment__client", "appointment__staff", "appointment__service"
        )

    def _filtered(self, queryset: QuerySet[SurveyInvitation]) -> QuerySet[SurveyInvitation]:
        query = SurveyFilterSerializer(
            data=self.request.query_params, context={"request": self.request}
        )
        query.is_valid(raise_exception=True)
        data = query.validated_data
        for name in ("staff", "service", "location"):
            if data.get(name) is not None:
                queryset = queryset.filter(**{f"appointment__{name}_id": data[name]})
        if "answered" in data:
            queryset = queryset.filter(answered_at__isnull=not data["answered"])
        if "from" in data:
            queryset = queryset.filter(answered_at__gte=data["from"])
        if "to" in data:
            queryset = queryset.filter(answered_at__lt=data["to"])
        return queryset

    def filter_queryset(self, queryset: Any) -> Any:
        return self._filtered(queryset) if self.action == "list" else queryset

    @extend_schema(parameters=[SurveyFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=[SurveyFilterSerializer], responses=SurveySummarySerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request: Request) -> Response:
        """The answers' count and average rating overall, per staff member and per service,
        over the same filters as the list (all time unless `from`/`to` say otherwise)."""
        rows = self._filtered(SurveyInvitation.objects.all())
        return Response(
            SurveySummarySerializer(
                {
                    "overall": survey_score_of(rows),
                    "by_staff": survey_scores_grouped(rows, by="staff"),
                    "by_service": survey_scores_grouped(rows, by="service"),
                }
            ).data
        )
