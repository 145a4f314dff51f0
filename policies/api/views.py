"""The policies API. Views translate HTTP to service calls; services decide.

Routes: /policies/ (admins write), /appointments/{id}/policy/ (terms, deposit, decisions;
payments by the front desk, exceptions by admins), /clients/{id}/ledger/,
/clients/{id}/deposit-flag/ and /reliability/.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from appointments.api.views import api_actor
from appointments.models import Appointment
from appointments.workflow import OPEN_STATUSES
from clients.models import Client
from policies.api.serializers import (
    AppointmentPolicySerializer,
    FlagInputSerializer,
    FlagSerializer,
    KeepCreditInputSerializer,
    LedgerEntrySerializer,
    LedgerSerializer,
    PaymentInputSerializer,
    PolicySerializer,
    ReliabilityQuerySerializer,
    ReliabilitySerializer,
    WaiveFeeInputSerializer,
)
from policies.choices import Action
from policies.engine import Decision
from policies.models import AppointmentTerms, ClientFlag, LedgerEntry, Policy, PolicyDecision
from policies.selectors import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW_MONTHS,
    appointment_fee_outstanding,
    client_balance,
    effective_policy,
    flagged_client_ids,
    reliability_for,
)
from policies.services import (
    client_flag,
    client_unflag,
    credit_keep,
    deposit_mark_paid,
    fee_mark_paid,
    fee_waive,
    policy_create,
    policy_decide,
    policy_delete,
    policy_update,
)
from tenants.api.idempotency import IDEMPOTENCY_KEY, idempotent
from tenants.api.permissions import AdminWrites, FrontDeskWrites
from tenants.middleware import tenant_of


class PolicyViewSet(viewsets.ModelViewSet[Policy]):
    """The business's default policy (no service) and services' own policies."""

    lookup_value_converter = "int"
    serializer_class = PolicySerializer
    permission_classes = (AdminWrites,)
    cursor_ordering = ("id",)

    def get_queryset(self) -> QuerySet[Policy]:
        return Policy.objects.all().order_by("id")

    def perform_create(self, serializer: Any) -> None:
        with _api_field_names():
            serializer.instance = policy_create(
                tenant=tenant_of(self.request), **serializer.validated_data
            )

    def perform_update(self, serializer: Any) -> None:
        with _api_field_names():
            serializer.instance = policy_update(
                policy=cast(Policy, serializer.instance), **serializer.validated_data
            )

    def perform_destroy(self, instance: Policy) -> None:
        policy_delete(policy=instance)


NESTED_CHARGES = ("late_cancellation", "no_show")


@contextmanager
def _api_field_names() -> Iterator[None]:
    """The service names fields as the model does (`no_show_fee_amount`); the API nests them
    (`no_show.fee_amount`). Errors use the API's names, whichever layer found them."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        errors: dict[str, Any] = {}
        for name, messages in exc.message_dict.items():
            prefix = next((p for p in NESTED_CHARGES if name.startswith(p + "_")), None)
            if prefix is None:
                errors[name] = messages
                continue
            errors.setdefault(prefix, {})[name.removeprefix(prefix + "_")] = messages
        raise ValidationError(errors) from exc


def _preview(decision: Decision) -> dict[str, Any]:
    return {
        "action": decision.action,
        "allowed": decision.allowed,
        "reason_code": decision.reason,
        "message": decision.message,
        "late": decision.late,
        "fee": decision.fee,
        "fee_due": decision.fee_due,
        "deposit_outcome": decision.deposit,
        "deposit_refunded": decision.deposit_refunded,
        "deposit_kept": decision.deposit_kept,
        "deposit_credited": decision.deposit_credited,
        "credit_expires_at": decision.credit_expires_at,
    }


class AppointmentPolicyViewSet(viewsets.GenericViewSet[Appointment]):
    """One appointment's terms, deposit and decision history; payments and exceptions."""

    lookup_value_converter = "int"
    serializer_class = AppointmentPolicySerializer

    def get_queryset(self) -> QuerySet[Appointment]:
        return Appointment.objects.select_related("tenant", "client", "location")

    def get_permissions(self) -> list[BasePermission]:
        # Exceptions are the admins'; recording a payment is the front desk's daily work.
        if self.action in {"waive_fee", "keep_credit"}:
            return [AdminWrites()]
        return [FrontDeskWrites()]

    def _state(self, appointment: Appointment) -> dict[str, Any]:
        row = AppointmentTerms.objects.filter(pk=appointment.pk).first()
        decisions = PolicyDecision.objects.filter(appointment=appointment).order_by("at", "id")
        now = timezone.now()
        is_open = appointment.status in OPEN_STATUSES
        return {
            "appointment": appointment.pk,
            "currency": row.currency if row else appointment.tenant.currency,
            "terms": row.terms if row else None,
            "terms_version": row.version if row else None,
            "policy": row.policy_id if row else None,
            "deposit": {
                "amount_required": row.deposit_required if row else 0,
                "amount_paid": row.deposit_paid if row else 0,
                "deposit_status": row.deposit_status if row else "not_required",
                "due_at": row.deposit_due_at if row else None,
                "required_because": row.deposit_reason if row else "",
            },
            "fee_outstanding": appointment_fee_outstanding(appointment=appointment),
            "client_reschedules": row.client_reschedules if row else 0,
            "outcome": row.outcome if row else "",
            "if_cancelled_now": _preview(
                policy_decide(appointment=appointment, action=Action.CANCEL_BY_CLIENT, now=now)
            )
            if is_open
            else None,
            "if_moved_now": _preview(
                policy_decide(appointment=appointment, action=Action.RESCHEDULE_BY_CLIENT, now=now)
            )
            if is_open
            else None,
            "decisions": decisions,
        }

    def _respond(self, appointment_id: int, code: int = status.HTTP_200_OK) -> Response:
        appointment = self.get_queryset().get(pk=appointment_id)
        return Response(AppointmentPolicySerializer(self._state(appointment)).data, status=code)

    def retrieve(self, request: Request, pk: int) -> Response:
        return Response(AppointmentPolicySerializer(self._state(self.get_object())).data)

    @extend_schema(
        request=PaymentInputSerializer,
        responses=AppointmentPolicySerializer,
        parameters=[IDEMPOTENCY_KEY],
    )
    def payments(self, request: Request, pk: int) -> Response:
        """Record a deposit or a fee the client paid at the desk (method and reference)."""

        def run() -> Response:
            appointment = self.get_object()
            body = PaymentInputSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
            if data["payment_for"] == "deposit":
                deposit_mark_paid(
                    appointment=appointment,
                    actor=api_actor(request),
                    method=data["method"],
                    reference=data["reference"],
                )
            else:
                fee_mark_paid(
                    appointment=appointment,
                    actor=api_actor(request),
                    method=data["method"],
                    reference=data["reference"],
                    amount=data.get("amount"),
                )
            return self._respond(appointment.pk)

        return idempotent(request, run)

    @extend_schema(
        request=WaiveFeeInputSerializer,
        responses=AppointmentPolicySerializer,
        parameters=[IDEMPOTENCY_KEY],
    )
    def waive_fee(self, request: Request, pk: int) -> Response:
        """Waive the appointment's outstanding fee (admins; a written reason is required)."""

        def run() -> Response:
            appointment = self.get_object()
            body = WaiveFeeInputSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            fee_waive(
                appointment=appointment,
                actor=api_actor(request),
                reason=body.validated_data["reason"],
                amount=body.validated_data.get("amount"),
            )
            return self._respond(appointment.pk)

        return idempotent(request, run)

    @extend_schema(
        request=KeepCreditInputSerializer,
        responses=AppointmentPolicySerializer,
        parameters=[IDEMPOTENCY_KEY],
    )
    def keep_credit(self, request: Request, pk: int) -> Response:
        """Turn the deposit kept for this appointment into rebooking credit (admins; a reason)."""

        def run() -> Response:
            appointment = self.get_object()
            body = KeepCreditInputSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            credit_keep(
                appointment=appointment,
                actor=api_actor(request),
                reason=body.validated_data["reason"],
                days=body.validated_data.get("days"),
            )
            return self._respond(appointment.pk)

        return idempotent(request, run)


class _ClientScoped(GenericAPIView[Client]):
    lookup_value_converter = "int"
    permission_classes = (FrontDeskWrites,)

    def get_queryset(self) -> QuerySet[Client]:
        return Client.objects.all()


class ClientLedgerView(_ClientScoped):
    """A client's balance and ledger entries, newest first (cursor pagination)."""

    serializer_class: Any = LedgerEntrySerializer
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(responses=LedgerSerializer)
    def get(self, request: Request, pk: int) -> Response:
        client = self.get_object()
        tenant = tenant_of(request)
        balance = client_balance(tenant=tenant, client_id=client.pk, now=timezone.now())
        entries = LedgerEntry.objects.filter(client=client).order_by("-created_at", "-id")
        page = self.paginate_queryset(entries)
        paginator: Any = self.paginator
        return Response(
            LedgerSerializer(
                {
                    "client": client.pk,
                    "currency": tenant.currency,
                    "balance": balance.__dict__,
                    "next": paginator.get_next_link(),
                    "previous": paginator.get_previous_link(),
                    "results": page,
                }
            ).data
        )


class ClientDepositFlagView(_ClientScoped):
    """Whether staff flagged the client: a flagged client pays the deposit whoever else does."""

    serializer_class: Any = FlagSerializer

    def _flag(self, client: Client) -> Response:
        flag = ClientFlag.objects.filter(client=client).first()
        return Response(
            FlagSerializer(
                {
                    "flagged": flag is not None,
                    "reason": flag.reason if flag else "",
                    "flagged_by": flag.flagged_by_label if flag else "",
                    "created_at": flag.created_at if flag else None,
                }
            ).data
        )

    @extend_schema(responses=FlagSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return self._flag(self.get_object())

    @extend_schema(request=FlagInputSerializer, responses=FlagSerializer)
    def put(self, request: Request, pk: int) -> Response:
        client = self.get_object()
        body = FlagInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client_flag(client=client, actor=api_actor(request), reason=body.validated_data["reason"])
        return self._flag(client)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        client_unflag(client=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReliabilityViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[Client]):
    """Clients' reliability under the business's default policy's window and threshold.

    One query for the page of clients, one for their counts, one for their flags.
    """

    serializer_class = ReliabilitySerializer
    permission_classes = (FrontDeskWrites,)
    cursor_ordering = ("name", "id")

    def get_queryset(self) -> QuerySet[Client]:
        return Client.objects.all().order_by("name", "id")

    @extend_schema(parameters=[ReliabilityQuerySerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = ReliabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "client" in query.validated_data:
            queryset = queryset.filter(pk__in=query.validated_data["client"])
        clients = self.paginate_queryset(queryset.only("id", "name")) or []
        tenant = tenant_of(request)
        policy = effective_policy(tenant=tenant, service=None)
        window = policy.reliability_window_months if policy else DEFAULT_WINDOW_MONTHS
        threshold = policy.reliability_threshold if policy else DEFAULT_THRESHOLD
        ids = [client.pk for client in clients]
        counts = reliability_for(
            tenant=tenant,
            client_ids=ids,
            now=timezone.now(),
            window_months=window,
            threshold=threshold,
        )
        flagged = flagged_client_ids(tenant=tenant, client_ids=ids)
        rows = [
            {
                **counts[pk].__dict__,
                "strikes": counts[pk].strikes,
                "tier": counts[pk].tier,
                "flagged": pk in flagged,
            }
            for pk in ids
        ]
        return self.get_paginated_response(ReliabilitySerializer(rows, many=True).data)


# The routes, mapped explicitly: they hang under /appointments/ and /clients/, whose routers
# belong to other apps.
appointment_policy = AppointmentPolicyViewSet.as_view({"get": "retrieve"})
appointment_payments = AppointmentPolicyViewSet.as_view({"post": "payments"})
appointment_waive_fee = AppointmentPolicyViewSet.as_view({"post": "waive_fee"})
appointment_keep_credit = AppointmentPolicyViewSet.as_view({"post": "keep_credit"})
