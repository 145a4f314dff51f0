"""`/api/v1/webhook-endpoints/`: the business's endpoints and their delivery log. Admin keys
(and owners and admins) only, for reading too: the endpoints say where the business's data goes."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from hooks.api.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)
from hooks.models import WebhookDelivery, WebhookEndpoint
from hooks.services import (
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
    send_test_event,
)
from tenants.api.permissions import IsBusinessMember, request_rank
from tenants.middleware import tenant_of
from tenants.models import ROLE_RANK, Role


class AdminOnly(IsBusinessMember):
    """Owners, admins and admin keys, for every method."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        rank = request_rank(request)
        return rank is not None and rank >= ROLE_RANK[Role.ADMIN]


class WebhookEndpointViewSet(viewsets.ModelViewSet[WebhookEndpoint]):
    """Where the business's events are POSTed, signed with each endpoint's secret."""

    lookup_value_converter = "int"
    permission_classes = (AdminOnly,)
    serializer_class = WebhookEndpointSerializer
    cursor_ordering = ("created_at", "id")

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.all()

    def _input(self, request: Request, *, partial: bool) -> Any:
        body = WebhookEndpointInputSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint, secret = endpoint_create(
            tenant=tenant_of(request), **self._input(request, partial=False)
        )
        data = WebhookEndpointWithSecretSerializer(endpoint, context={"secret": secret}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointInputSerializer, responses=WebhookEndpointSerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        changes = self._input(request, partial=kwargs.get("partial", False))
        return Response(
            WebhookEndpointSerializer(endpoint_update(endpoint=endpoint, **changes)).data
        )

    @extend_schema(request=WebhookEndpointInputSerializer, responses=WebhookEndpointSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=WebhookEndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        """A new secret (in this answer only); the old one stops signing at once."""
        endpoint = self.get_object()
        secret = endpoint_rotate_secret(endpoint=endpoint)
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint, context={"secret": secret}).data
        )

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def test(self, request: Request, pk: str) -> Response:
        """Send a `ping` event to this endpoint now (one attempt, seen in its deliveries)."""
        delivery = send_test_event(endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[WebhookDelivery]):
    """An endpoint's deliveries, newest first: event, status, attempts, last answer, timing."""

    permission_classes = (AdminOnly,)
    serializer_class = WebhookDeliverySerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        endpoint = int(self.kwargs["pk"])
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        # 404 for another business's endpoint (the scope hides it), not an empty list.
        parent = WebhookEndpoint.objects.filter(pk=endpoint).first()
        if parent is None:
            raise Http404
        return WebhookDelivery.objects.filter(endpoint=parent)
