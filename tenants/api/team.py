"""The team (members, roles, invitations) and the business's API keys, for admins.

The same services as the settings pages decide. A key is not a person: what would grant
access beyond the key's own life (a new key, an invitation, a higher role, a member taken
back) needs an owner or admin signed in; an admin key may read the team and the keys, revoke
keys and take access away (deactivate a member, lower a role), so a leaked key cannot make
itself a successor that survives its revocation.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.api.fields import StrictCharField, StrictEmailField
from tenants.api.filters import bool_filter
from tenants.api.permissions import AdminOnly
from tenants.middleware import tenant_of
from tenants.models import ROLE_RANK, ApiKey, ApiKeyRole, Membership, Role, User
from tenants.services import (
    api_key_create,
    api_key_revoke,
    member_invite,
    membership_can_manage,
    membership_change_role,
    membership_deactivate,
    membership_reactivate,
)


class KeysMayNotGrantAccess(PermissionDenied):
    default_detail = _(
        "An API key may not give access (new keys, invitations, higher roles): an owner or"
        " admin signed in does that."
    )


class OwnersOnly(PermissionDenied):
    default_detail = _("Only an owner can make or change an owner.")


def _acting_membership(request: Request) -> Membership:
    """Who acts, for the team services: the member signed in, or for an admin key an admin
    that is nobody in particular (it never manages owners, and is never "yourself")."""
    membership: Membership | None = getattr(request._request, "membership", None)
    if isinstance(request.auth, ApiKey) or membership is None:
        return Membership(tenant=tenant_of(request), role=Role.ADMIN)
    return membership


def _refuse_keys(request: Request) -> None:
    if isinstance(request.auth, ApiKey):
        raise KeysMayNotGrantAccess


# --- Team --------------------------------------------------------------------------------


class MemberSerializer(serializers.ModelSerializer[Membership]):
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)
    invitation_pending = serializers.SerializerMethodField(
        help_text="Invited, and no password chosen yet."
    )

    class Meta:
        model = Membership
        fields = (
            "id",
            "email",
            "full_name",
            "role",
            "is_active",
            "invitation_pending",
            "created_at",
        )
        read_only_fields = fields

    def get_invitation_pending(self, membership: Membership) -> bool:
        return not membership.user.has_usable_password()


class InviteSerializer(serializers.Serializer[Any]):
    email = StrictEmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)


class RoleSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices)


class TeamFilterSerializer(serializers.Serializer[Any]):
    active = bool_filter("true: active members only; false: deactivated ones only.")
    role = serializers.ChoiceField(choices=Role.choices, required=False)


def _service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(
        exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    )


class TeamMemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Membership]
):
    """The people of the business and their roles. Owners and admins only; only an owner
    makes or changes an owner, and the business always keeps an active owner."""

    lookup_value_converter = "int"
    permission_classes = (AdminOnly,)
    serializer_class = MemberSerializer
    cursor_ordering = ("id",)

    def get_queryset(self) -> QuerySet[Membership]:
        return Membership.objects.select_related("user")

    @extend_schema(parameters=[TeamFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset: Any) -> Any:
        if self.action != "list":
            return queryset
        query = TeamFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        if "active" in data:
            queryset = queryset.filter(is_active=data["active"])
        if "role" in data:
            queryset = queryset.filter(role=data["role"])
        return queryset

    def _answer(self, membership: Membership, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=membership.pk)
        return Response(MemberSerializer(fresh).data, status=code)

    @extend_schema(request=InviteSerializer, responses={201: MemberSerializer})
    def create(self, request: Request) -> Response:
        """Invite someone by email with a role: they get an email to join (someone new chooses
        a password there). An active member already: 400 on `email`."""
        _refuse_keys(request)
        body = InviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor = _acting_membership(request)
        role = body.validated_data["role"]
        if not membership_can_manage(actor=actor, target=None, role=role):
            raise OwnersOnly
        try:
            membership, _created = member_invite(
                tenant=tenant_of(request),
                email=body.validated_data["email"],
                role=role,
                invited_by=actor.user if actor.user_id is not None else None,
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return self._answer(membership, status.HTTP_201_CREATED)

    @extend_schema(request=RoleSerializer, responses=MemberSerializer)
    @action(detail=True, methods=["post"])
    def role(self, request: Request, pk: int) -> Response:
        """Give the member another role. A key may only lower a role."""
        member = self.get_object()
        body = RoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        role = body.validated_data["role"]
        if ROLE_RANK[role] > ROLE_RANK[member.role]:
            _refuse_keys(request)
        actor = _acting_membership(request)
        if not membership_can_manage(actor=actor, target=member, role=role):
            raise OwnersOnly
        try:
            membership_change_role(membership=member, role=role, actor=actor)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return self._answer(member)

    @extend_schema(request=None, responses=MemberSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: int) -> Response:
        """Take the member's access to the business away (their account stays)."""
        member = self.get_object()
        actor = _acting_membership(request)
        if not membership_can_manage(actor=actor, target=member, role=member.role):
            raise OwnersOnly
        try:
            membership_deactivate(membership=member, actor=actor)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return self._answer(member)

    @extend_schema(request=None, responses=MemberSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: int) -> Response:
        """Give a deactivated member their access back (not with a key)."""
        _refuse_keys(request)
        member = self.get_object()
        actor = _acting_membership(request)
        if not membership_can_manage(actor=actor, target=member, role=member.role):
            raise OwnersOnly
        try:
            membership_reactivate(membership=member, actor=actor)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from exc
        return self._answer(member)


# --- API keys ----------------------------------------------------------------------------


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    """A key as it is listed: never the key itself (only its fingerprint is stored)."""

    prefix = serializers.SerializerMethodField(help_text="How the key starts: `pnt_<lookup>_`.")
    created_by = serializers.EmailField(source="created_by.email", read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields: tuple[str, ...] = (
            "id",
            "name",
            "role",
            "prefix",
            "is_active",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
        )
        read_only_fields = fields

    def get_prefix(self, key: ApiKey) -> str:
        return f"pnt_{key.lookup}_"


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.SerializerMethodField(
        help_text="The key: shown in this answer only, never again. Send it as"
        " `Authorization: Bearer <key>`."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = (*ApiKeySerializer.Meta.fields, "key")
        read_only_fields: tuple[str, ...] = fields

    def get_key(self, key: ApiKey) -> str:
        return str(self.context["raw_key"])


class ApiKeyInputSerializer(serializers.Serializer[Any]):
    name = StrictCharField(max_length=100, help_text="Who uses it, e.g. “Website booking widget”.")
    role = serializers.ChoiceField(choices=ApiKeyRole.choices)


class ApiKeyFilterSerializer(serializers.Serializer[Any]):
    active = bool_filter("true: keys in use only; false: revoked ones only.")


class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ApiKey]
):
    """The business's API keys. Owners and admins only. A key is shown once, when it is
    created (by a person signed in: a key cannot create keys); revoking one works at once."""

    lookup_value_converter = "int"
    permission_classes = (AdminOnly,)
    serializer_class = ApiKeySerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self) -> QuerySet[ApiKey]:
        return ApiKey.objects.select_related("created_by")

    @extend_schema(parameters=[ApiKeyFilterSerializer])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_queryset(self, queryset: Any) -> Any:
        if self.action != "list":
            return queryset
        query = ApiKeyFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        if "active" in query.validated_data:
            queryset = queryset.filter(revoked_at__isnull=query.validated_data["active"])
        return queryset

    @extend_schema(request=ApiKeyInputSerializer, responses={201: NewApiKeySerializer})
    def create(self, request: Request) -> Response:
        """Create a key. The answer carries the key, once (not stored, not replayed: a retry
        makes another key; revoke the one not used)."""
        _refuse_keys(request)
        body = ApiKeyInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None
        key, raw_key = api_key_create(
            tenant=tenant_of(request),
            name=body.validated_data["name"],
            role=body.validated_data["role"],
            created_by=user,
        )
        key = self.get_queryset().get(pk=key.pk)
        return Response(
            NewApiKeySerializer(key, context={"raw_key": raw_key}).data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: int) -> Response:
        """Revoke the key: its next request fails. Revoking a revoked key changes nothing."""
        key = self.get_object()
        api_key_revoke(api_key=key)
        return Response(ApiKeySerializer(self.get_queryset().get(pk=key.pk)).data)
