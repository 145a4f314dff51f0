"""`/api/v1/booking-rules/`: the business's booking rules (services may override each)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.models import BookingRules
from appointments.services.setup import booking_rules_update
from tenants.api.permissions import AdminWrites
from tenants.middleware import tenant_of

# Bounds that keep every date computed from the rules representable (a notice of a year, an
# advance of ten years, a step of a day at most): beyond them a rule is a typo, not a wish.
MAX_NOTICE_MINUTES = 365 * 24 * 60
MAX_ADVANCE_DAYS = 3650
MAX_STEP_MINUTES = 24 * 60


class BookingRulesSerializer(serializers.ModelSerializer[BookingRules]):
    min_notice_minutes = serializers.IntegerField(
        min_value=0,
        max_value=MAX_NOTICE_MINUTES,
        help_text="How long before its start a time may still be booked online.",
    )
    max_advance_days = serializers.IntegerField(
        min_value=0, max_value=MAX_ADVANCE_DAYS, help_text="How far ahead clients may book."
    )
    slot_step_minutes = serializers.IntegerField(
        min_value=5, max_value=MAX_STEP_MINUTES, help_text="Offered start times are this apart."
    )

    class Meta:
        model = BookingRules
        fields = ("min_notice_minutes", "max_advance_days", "slot_step_minutes")


class BookingRulesView(APIView):
    """Everyone reads; admins and owners change them (a partial change keeps the rest)."""

    permission_classes = (AdminWrites,)

    def _rules(self, request: Request) -> BookingRules:
        tenant = tenant_of(request)
        return BookingRules.objects.filter(tenant=tenant).first() or BookingRules(tenant=tenant)

    @extend_schema(responses=BookingRulesSerializer)
    def get(self, request: Request) -> Response:
        return Response(BookingRulesSerializer(self._rules(request)).data)

    @extend_schema(request=BookingRulesSerializer, responses=BookingRulesSerializer)
    def patch(self, request: Request) -> Response:
        body = BookingRulesSerializer(self._rules(request), data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        rules = booking_rules_update(tenant=tenant_of(request), **body.validated_data)
        return Response(BookingRulesSerializer(rules).data)

    @extend_schema(request=BookingRulesSerializer, responses=BookingRulesSerializer)
    def put(self, request: Request) -> Response:
        body = BookingRulesSerializer(self._rules(request), data=request.data)
        body.is_valid(raise_exception=True)
        rules = booking_rules_update(tenant=tenant_of(request), **body.validated_data)
        return Response(BookingRulesSerializer(rules).data)
