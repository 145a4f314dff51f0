"""An appointment's conversation with its client, beyond its status: notes written by staff,
the client's link sent again, and the client's SMS replies about it. (Its status actions and
the messages sent are on `AppointmentViewSet`.)"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from appointments.api.serializers import AppointmentDetailSerializer
from appointments.api.views import api_actor
from appointments.models import Appointment
from appointments.services.notes import NOTE_MAX, appointment_add_note
from reminders.api.serializers import InboundMessageSerializer, OutboundMessageSerializer
from reminders.models import InboundMessage
from reminders.services.resend import message_resend_link
from tenants.api.fields import StrictCharField
from tenants.api.idempotency import HEADER, IDEMPOTENCY_KEY, idempotent
from tenants.api.permissions import FrontDeskWrites


class _OneAppointment(GenericAPIView[Appointment]):
    lookup_value_converter = "int"
    permission_classes = (FrontDeskWrites,)
    pagination_class = None  # one appointment's: a short list

    def get_queryset(self) -> QuerySet[Appointment]:
        return Appointment.objects.select_related("client")


class NoteInputSerializer(serializers.Serializer[Any]):
    note = StrictCharField(max_length=NOTE_MAX)


class AppointmentNoteView(_OneAppointment):
    serializer_class = NoteInputSerializer

    @extend_schema(request=NoteInputSerializer, responses={201: AppointmentDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Add a note to the appointment's history (its `events`, kind `note`). Notes are
        never edited."""
        appointment = self.get_object()
        body = NoteInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        appointment_add_note(
            appointment=appointment, actor=api_actor(request), text=body.validated_data["note"]
        )
        fresh = self.get_queryset().prefetch_related("events").get(pk=appointment.pk)
        return Response(
            AppointmentDetailSerializer(fresh, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class AppointmentResendLinkView(_OneAppointment):
    serializer_class: Any = OutboundMessageSerializer

    @extend_schema(
        request=None,
        responses={201: OutboundMessageSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request, pk: int) -> Response:
        """Send the client their appointment's link again (the booking's message: when, where,
        and the link to see, confirm, move or cancel), within a minute. One message per
        request: with an `Idempotency-Key`, a retry plans nothing more. 409
        `invalid_transition` when the appointment is over or cancelled, or the client can be
        reached neither by SMS nor by email."""

        def run() -> Response:
            appointment = self.get_object()
            key = request.headers.get(HEADER, "").strip()
            # The service's own once-only key: derived from the request's, else a new one.
            request_key = (
                hashlib.sha256(key.encode()).hexdigest()[:40] if key else secrets.token_hex(16)
            )
            message, _created = message_resend_link(
                appointment=appointment, request_key=request_key, actor=api_actor(request)
            )
            return Response(OutboundMessageSerializer(message).data, status=status.HTTP_201_CREATED)

        return idempotent(request, run)


class AppointmentRepliesView(_OneAppointment):
    serializer_class: Any = InboundMessageSerializer

    @extend_schema(responses=InboundMessageSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """The client's SMS replies about the appointment, oldest first, with what Puntual made
        of each (`outcome`)."""
        appointment = self.get_object()
        replies = (
            InboundMessage.objects.filter(appointment=appointment)
            .select_related("client")
            .order_by("received_at", "id")
        )
        return Response(InboundMessageSerializer(replies, many=True).data)
