"""The team (members, their roles, invitations) and the business's API keys."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tenants.forms.base import add_service_errors
from tenants.forms.business import ApiKeyForm, InviteForm, RoleForm, role_choices
from tenants.models import ApiKey, Membership, Role
from tenants.services import (
    api_key_create,
    api_key_revoke,
    member_invite,
    membership_can_manage,
    membership_change_role,
    membership_deactivate,
    membership_reactivate,
)
from tenants.settings_views.common import (
    admin_only,
    membership_of,
    owned,
    render_settings,
    tenant_of,
)


def _team_page(
    request: HttpRequest, *, invite: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    actor = membership_of(request)
    members = (
        Membership.objects.filter(tenant=tenant_of(request))
        .select_related("user")
        .order_by("-is_active", "user__email")
    )
    rows = [
        (member, membership_can_manage(actor=actor, target=member, role=member.role))
        for member in members
    ]
    return render_settings(
        request,
        "settings/team.html",
        {
            "rows": rows,
            "invite": invite or InviteForm(actor=actor),
            "role_choices": role_choices(actor),
            "actor": actor,
        },
        section="team",
        status=status,
    )


@admin_only
def team(request: HttpRequest) -> HttpResponse:
    return _team_page(request)


@admin_only
@require_POST
def team_invite(request: HttpRequest) -> HttpResponse:
    actor = membership_of(request)
    form = InviteForm(request.POST, actor=actor)
    if form.is_valid():
        try:
            membership, _created = member_invite(
                tenant=tenant_of(request),
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=actor.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(email)s is invited: they got an email to join.")
                % {"email": membership.user.email},
            )
            return redirect("settings:team")
    return _team_page(request, invite=form, status=400)


@admin_only
@require_POST
def team_role(request: HttpRequest, pk: int) -> HttpResponse:
    member = owned(request, Membership, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("settings:team")
    try:
        membership_change_role(
            membership=member, role=form.cleaned_data["role"], actor=membership_of(request)
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(email)s is now %(role)s.")
            % {"email": member.user.email, "role": Role(member.role).label},
        )
    return redirect("settings:team")


@admin_only
@require_POST
def team_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = owned(request, Membership, pk)
    try:
        membership_deactivate(membership=member, actor=membership_of(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("%(email)s can't use this business any more.") % {"email": member.user.email}
        )
    return redirect("settings:team")


@admin_only
@require_POST
def team_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = owned(request, Membership, pk)
    try:
        membership_reactivate(membership=member, actor=membership_of(request))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("%(email)s is back in the team.") % {"email": member.user.email}
        )
    return redirect("settings:team")


# --- API keys ----------------------------------------------------------------------------


def _keys_page(
    request: HttpRequest, *, form: ApiKeyForm, new_key: str = "", status: int = 200
) -> HttpResponse:
    keys = ApiKey.objects.filter(tenant=tenant_of(request)).order_by("revoked_at", "-created_at")
    return render_settings(
        request,
        "settings/api_keys.html",
        {"keys": keys, "form": form, "new_key": new_key},
        section="api_keys",
        status=status,
    )


@admin_only
def api_keys(request: HttpRequest) -> HttpResponse:
    return _keys_page(request, form=ApiKeyForm())


@never_cache
@admin_only
@require_POST
def api_key_new(request: HttpRequest) -> HttpResponse:
    """Create a key and show it in this response only: it is stored hashed, never shown again
    (no redirect: the raw key must not travel through the session or a URL)."""
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _keys_page(request, form=form, status=400)
    _key, raw_key = api_key_create(
        tenant=tenant_of(request),
        name=form.cleaned_data["name"],
        role=form.cleaned_data["role"],
        created_by=membership_of(request).user,
    )
    return _keys_page(request, form=ApiKeyForm(), new_key=raw_key)


@admin_only
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    key = owned(request, ApiKey, pk)
    api_key_revoke(api_key=key)
    messages.success(request, _("The key “%(name)s” is revoked.") % {"name": key.name})
    return redirect("settings:api_keys")
