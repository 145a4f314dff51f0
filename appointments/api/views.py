"""The scheduling API. Views translate HTTP to service calls; services decide."""

from __future__ import annotations

import zoneinfo
from typing import Any, cast

from django.db.models import QuerySet, prefetch_related_objects
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import services
from appointments.api.serializers import (
    AppointmentCreateSerializer,
    AppointmentDetailSerializer,
    AppointmentFilterSerializer,
    AppointmentOutputSerializer,
    CancelSerializer,
    DeclineSerializer,
    RescheduleSerializer,
    ServiceSerializer,
    StaffSerializer,
    TimeOffSerializer,
    WorkingHoursSerializer,
)
from appointments.availability import one_per_start
from appointments.models import (
    Appointment,
    AppointmentStatus,
    CancelledBy,
    Channel,
    Service,
    Source,
    StaffMember,
    TimeOff,
    WorkingHours,
)
from appointments.selectors import availability_for
from appointments.services import Actor
from clients.services import client_find_or_create
from reminders.api.serializers import OutboundMessageSerializer
from reminders.models import OutboundMessage
from tenants.api.idempotency import IDEMPOTENCY_KEY, idempotent
from tenants.api.permissions import AdminWrites, FrontDeskWrites
from tenants.middleware import tenant_of
from tenants.models import ApiKey, Location, User


def api_actor(request: Request) -> Actor:
    if isinstance(request.auth, ApiKey):
        return Actor.api_key(request.auth.name)
    return Actor.staff(cast(User, request.user), channel=Channel.API)


class _TenantViewSet(viewsets.ModelViewSet[Any]):
    """CRUD on a tenant-owned model: the scoped manager limits everything to the request's business."""

    lookup_value_converter = "int"

    model: Any = None
    permission_classes: tuple[type[BasePermission], ...] = (AdminWrites,)
    cursor_ordering: tuple[str, ...] = ("id",)

    def get_queryset(self) -> QuerySet[Any]:
        return self.model.objects.all()


class ServiceViewSet(_TenantViewSet):
    model = Service
    serializer_class = ServiceSerializer
    cursor_ordering = ("name", "id")


class StaffViewSet(_TenantViewSet):
    model = StaffMember
    serializer_class = StaffSerializer
    cursor_ordering = ("display_name", "id")

    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().prefetch_related("services", "locations")


class WorkingHoursViewSet(_TenantViewSet):
    model = WorkingHours
    serializer_class = WorkingHoursSerializer

    @extend_schema(parameters=[OpenApiParameter("staff", int, description="one staff member's")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # Like every list's filters: a value that is no id is a 400, not ignored (nor a 500).
        query = _StaffFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        staff = query.validated_data.get("staff")
        return queryset.filter(staff_id=staff) if staff is not None else queryset


class _StaffFilterSerializer(serializers.Serializer[Any]):
    staff = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class TimeOffViewSet(_TenantViewSet):
    model = TimeOff
    serializer_class = TimeOffSerializer
    permission_classes = (FrontDeskWrites,)  # the front desk blocks an afternoon too


ACTIONS: dict[str, Any] = {
    "accept": services.appointment_accept,
    "confirm": services.appointment_confirm,
    "check-in": services.appointment_check_in,
    "start": services.appointment_start,
    "finish": services.appointment_finish,
    "attend": services.appointment_mark_attended,
    "no-show": services.appointment_mark_no_show,
}


# The writes that honour `Idempotency-Key` (each calls `idempotent`) say so in the schema.
@extend_schema_view(
    **{
        name: extend_schema(parameters=[IDEMPOTENCY_KEY])
        for name in (
            "create",
            *(action.replace("-", "_") for action in ACTIONS),
            "cancel",
            "decline",
            "reschedule",
        )
    }
)
class AppointmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Appointment]
):
    lookup_value_converter = "int"
    permission_classes = (FrontDeskWrites,)
    serializer_class = AppointmentOutputSerializer
    cursor_ordering = ("start", "id")

    def get_queryset(self) -> QuerySet[Appointment]:
        queryset = Appointment.objects.select_related("client").order_by("start", "id")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("events")
        return queryset

    def get_serializer_class(self) -> Any:
        return (
            AppointmentDetailSerializer
            if self.action == "retrieve"
            else AppointmentOutputSerializer
        )

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from",
                str,
                description="YYYY-MM-DD in the business's zone, or an instant with offset",
            ),
            OpenApiParameter(
                "to", str, description="YYYY-MM-DD (inclusive) or an instant with offset"
            ),
            OpenApiParameter("status", str, description="comma-separated statuses"),
            OpenApiParameter("staff", int),
            OpenApiParameter("client", int),
            OpenApiParameter("location", int),
            OpenApiParameter("service", int),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = AppointmentFilterSerializer(
            data=request.query_params, context={"request": request}
        )
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        queryset = self.get_queryset()
        if "from" in data:
            queryset = queryset.filter(start__gte=data["from"])
        if "to" in data:
            queryset = queryset.filter(start__lt=data["to"])
        if "status" in data:
            queryset = queryset.filter(status__in=data["status"])
        for name in ("staff", "client", "location", "service"):
            if name in data:
                queryset = queryset.filter(**{f"{name}_id": data[name]})
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        request=AppointmentCreateSerializer, responses={201: AppointmentDetailSerializer}
    )
    def create(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        serializer = AppointmentCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = tenant_of(request)
        client = data.get("client") or client_find_or_create(tenant=tenant, **data["new_client"])
        appointment = services.appointment_book_any(
            tenant=tenant,
            location=data["location"],
            staff=data.get("staff"),
            service=data["service"],
            client=client,
            start=data["start"],
            source=Source.API,
            actor=api_actor(request),
            notes=data["notes"],
        )
        prefetch_related_objects([appointment], "events")  # the rest is already loaded
        return Response(
            AppointmentDetailSerializer(appointment, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    def _act(self, request: Request, pk: str, name: str) -> Response:
        def run() -> Response:
            appointment = self.get_object()
            ACTIONS[name](appointment=appointment, actor=api_actor(request))
            return self._detail(request, appointment.pk)

        return idempotent(request, run)

    def _detail(self, request: Request, pk: int) -> Response:
        appointment = self.get_queryset().prefetch_related("events").get(pk=pk)
        return Response(AppointmentDetailSerializer(appointment, context={"request": request}).data)

    @extend_schema(request=None, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, "confirm")

    @extend_schema(request=None, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, "check-in")

    @extend_schema(request=None, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, "start")

    @extend_schema(request=None, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def finish(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, "finish")

    @extend_schema(request=None, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def attend(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, "attend")

    @extend_schema(request=None, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, "no-show")

    @extend_schema(request=None, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        """Accept a request (a new client's online booking waiting for the business): it is
        scheduled and the client gets the booking confirmation. 409 when it is no request."""
        return self._act(request, pk, "accept")

    @extend_schema(request=DeclineSerializer, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str) -> Response:
        """Decline a request: cancelled by the business, the client told, the time freed.
        The reason (optional) is kept in the history. 409 when it is no request."""

        def run() -> Response:
            appointment = self.get_object()
            body = DeclineSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            services.appointment_decline(
                appointment=appointment,
                actor=api_actor(request),
                reason=body.validated_data["reason"],
            )
            return self._detail(request, appointment.pk)

        return idempotent(request, run)

    @extend_schema(request=None, responses=OutboundMessageSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # one appointment's: a list
    def messages(self, request: Request, pk: str) -> Response:
        """What Puntual sent (or plans to send) about the appointment, in sending order."""
        appointment = self.get_object()
        messages = OutboundMessage.objects.filter(appointment=appointment).order_by("send_at", "id")
        return Response(OutboundMessageSerializer(messages, many=True).data)

    @extend_schema(request=CancelSerializer, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        def run() -> Response:
            appointment = self.get_object()
            body = CancelSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            services.appointment_transition(
                appointment=appointment,
                to_status=AppointmentStatus.CANCELLED,
                actor=api_actor(request),
                reason=body.validated_data["reason"],
                cancelled_by=(
                    CancelledBy.CLIENT
                    if body.validated_data["by"] == "client"
                    else CancelledBy.STAFF
                ),
            )
            return self._detail(request, appointment.pk)

        return idempotent(request, run)

    @extend_schema(request=RescheduleSerializer, responses=AppointmentDetailSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str) -> Response:
        def run() -> Response:
            appointment = self.get_object()
            body = RescheduleSerializer(data=request.data, context={"request": request})
            body.is_valid(raise_exception=True)
            data = body.validated_data
            services.appointment_reschedule(
                appointment=appointment,
                start=data["start"],
                staff=data.get("staff"),
                actor=api_actor(request),
                reason=data["reason"],
            )
            return self._detail(request, appointment.pk)

        return idempotent(request, run)


class AvailabilityQuerySerializer(serializers.Serializer[Any]):
    service: Any = serializers.PrimaryKeyRelatedField(queryset=Service.objects)
    location: Any = serializers.PrimaryKeyRelatedField(queryset=Location.objects)
    staff: Any = serializers.PrimaryKeyRelatedField(queryset=StaffMember.objects, required=False)
    appointment: Any = serializers.PrimaryKeyRelatedField(
        queryset=Appointment.objects,
        required=False,
        help_text="When rescheduling: the appointment being moved. Its own time is not counted"
        " as taken, so times overlapping it are offered.",
    )
    start = serializers.DateField(help_text="First day, in the location's time zone")
    end = serializers.DateField(help_text="Last day (inclusive), in the location's time zone")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": [_("The end must not be before the start.")]})
        if (attrs["end"] - attrs["start"]).days >= MAX_AVAILABILITY_DAYS:
            raise serializers.ValidationError(
                {
                    "end": [
                        _("Ask for at most %(days)d days at once.")
                        % {"days": MAX_AVAILABILITY_DAYS}
                    ]
                }
            )
        return attrs


class SlotSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    staff = serializers.IntegerField()


class AvailabilityOutputSerializer(serializers.Serializer[Any]):
    timezone = serializers.CharField()
    slots = SlotSerializer(many=True)


# Bounds the work of one request; a month plus a little covers every booking screen.
MAX_AVAILABILITY_DAYS = 62


class AvailabilityView(APIView):
    """Bookable slots as a client would be offered them (minimum notice, maximum advance, slot step)."""

    @extend_schema(parameters=[AvailabilityQuerySerializer], responses=AvailabilityOutputSerializer)
    def get(self, request: Request) -> Response:
        query = AvailabilityQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        data = query.validated_data
        location = data["location"]
        slots = availability_for(
            tenant=tenant_of(request),
            service=data["service"],
            location=location,
            staff=data.get("staff"),
            start_date=data["start"],
            end_date=data["end"],
            exclude_appointment_id=data["appointment"].pk if "appointment" in data else None,
        )
        if data.get("staff") is None:
            slots = one_per_start(slots)
        tz = zoneinfo.ZoneInfo(location.timezone)
        return Response(
            {
                "timezone": location.timezone,
                "slots": [
                    {
                        "start": s.start.astimezone(tz).isoformat(),
                        "end": s.end.astimezone(tz).isoformat(),
                        "staff": s.staff_id,
                    }
                    for s in slots
                ],
            }
        )
