"""The reminders API: the receptionists' inbox of SMS replies Puntual could not act on, and the
reminder rules admins configure (with a preview of what a rule sends)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from reminders.api.serializers import (
    InboundMessageSerializer,
    ReminderRuleInputSerializer,
    ReminderRuleSerializer,
    RuleDraftPreviewSerializer,
    RulePreviewQuerySerializer,
    RulePreviewSerializer,
)
from reminders.models import InboundMessage, ReminderRule
from reminders.services.inbound import inbound_mark_handled
from reminders.services.rules import (
    reminder_rule_create,
    reminder_rule_delete,
    reminder_rule_preview,
    reminder_rule_update,
)
from tenants.api.permissions import AdminWrites, FrontDeskWrites
from tenants.middleware import tenant_of


class InboxViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[InboundMessage]):
    """Clients' SMS replies. By default only those waiting for a person; `?all=1` for every one."""

    lookup_value_converter = "int"
    permission_classes = (FrontDeskWrites,)
    serializer_class = InboundMessageSerializer
    cursor_ordering = ("-received_at", "-id")

    def get_queryset(self) -> QuerySet[InboundMessage]:
        queryset = InboundMessage.objects.select_related("client")
        if self.action == "list" and not self._all_replies():
            queryset = queryset.filter(
                outcome=InboundMessage.Outcome.NEEDS_HUMAN, handled_at__isnull=True
            )
        return queryset

    def _all_replies(self) -> bool:
        """`?all=`: a boolean (1/0, true/false); anything else is a 400, not a silent default."""
        values = self.request.query_params.getlist("all")
        if values in ([], [""]):  # empty is omitted, as for every optional query parameter
            return False
        field = serializers.BooleanField()
        try:
            if len(values) > 1:
                field.fail("invalid")
            return bool(field.run_validation(values[0]))
        except ValidationError as exc:
            raise ValidationError({"all": exc.detail}) from exc

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


class ReminderRuleViewSet(viewsets.ModelViewSet[ReminderRule]):
    """When and how clients are reminded. Everyone reads; admins and owners write.

    Every change applies to the messages not sent yet: a new or changed offset re-plans them,
    a deactivated or deleted rule skips them, texts are read when a message is sent.
    """

    lookup_value_converter = "int"
    permission_classes = (AdminWrites,)
    serializer_class = ReminderRuleSerializer
    cursor_ordering = ("-offset_minutes", "id")

    def get_queryset(self) -> QuerySet[ReminderRule]:
        return ReminderRule.objects.all()

    def _input(self, request: Request, rule: ReminderRule | None, *, partial: bool) -> Any:
        body = ReminderRuleInputSerializer(
            data=request.data, partial=partial, context={"request": request, "rule": rule}
        )
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(request=ReminderRuleInputSerializer, responses={201: ReminderRuleSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = reminder_rule_create(
            tenant=tenant_of(request), **self._input(request, None, partial=False)
        )
        return Response(ReminderRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReminderRuleInputSerializer, responses=ReminderRuleSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        changes = self._input(request, rule, partial=kwargs.get("partial", False))
        return Response(ReminderRuleSerializer(reminder_rule_update(rule=rule, **changes)).data)

    @extend_schema(request=ReminderRuleInputSerializer, responses=ReminderRuleSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        reminder_rule_delete(rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[RulePreviewQuerySerializer], responses=RulePreviewSerializer)
    @action(detail=True, methods=["get"], url_path="preview", url_name="preview")
    def preview(self, request: Request, pk: str) -> Response:
        """What the rule sends: for `appointment`, or for a sample appointment."""
        rule = self.get_object()
        query = RulePreviewQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        return self._preview(request, rule, query.validated_data)

    @extend_schema(request=RuleDraftPreviewSerializer, responses=RulePreviewSerializer)
    @action(detail=False, methods=["post"], url_path="preview", url_name="draft-preview")
    def draft_preview(self, request: Request) -> Response:
        """What a rule being written would send, before it is saved. Saves nothing."""
        body = RuleDraftPreviewSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        fields = ("purpose", "channel", "offset_minutes", "only_if_unconfirmed", "texts")
        draft = ReminderRule(
            tenant=tenant_of(request), **{name: data[name] for name in fields if name in data}
        )
        return self._preview(request, draft, data)

    def _preview(self, request: Request, rule: ReminderRule, data: dict[str, Any]) -> Response:
        preview = reminder_rule_preview(
            tenant=tenant_of(request),
            rule=rule,
            appointment=data.get("appointment"),
            language=data.get("language", ""),
        )
        return Response(RulePreviewSerializer(preview).data)
