"""Deposit and cancellation policies: the business's default and services' own.

Written through the policies app's services (`policy_create`, `policy_update`): a change
applies to bookings made from then on; appointments keep the terms they were booked under.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from policies.models import Policy
from policies.services import policy_create, policy_update
from tenants.forms.base import add_service_errors
from tenants.forms.policies import NewPolicyForm, PolicyForm
from tenants.settings_views.common import (
    admin_only,
    owned,
    posted,
    render_settings,
    tenant_of,
)


@admin_only
def policy_list(request: HttpRequest) -> HttpResponse:
    policies = list(
        Policy.objects.filter(tenant=tenant_of(request))
        .select_related("service")
        .order_by("service__name")
    )
    default = next((p for p in policies if p.service_id is None), None)
    overrides = [p for p in policies if p.service_id is not None]
    return render_settings(
        request,
        "settings/policies.html",
        {"default": default, "overrides": overrides},
        section="policies",
    )


@admin_only
def policy_new(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    form = NewPolicyForm(posted(request), tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            policy_create(tenant=tenant, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The policy is saved. New bookings follow it."))
            return redirect("settings:policies")
    return render_settings(
        request,
        "settings/policy_form.html",
        {"form": form, "policy": None},
        section="policies",
        status=400 if form.errors else 200,
    )


@admin_only
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    policy = owned(request, Policy, pk)
    form = PolicyForm(
        posted(request), initial=model_to_dict(policy, fields=PolicyForm.model_fields)
    )
    if request.method == "POST" and form.is_valid():
        try:
            policy_update(policy=policy, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
            policy.refresh_from_db()
        else:
            messages.success(request, _("The policy is saved. New bookings follow it."))
            return redirect("settings:policies")
    return render_settings(
        request,
        "settings/policy_form.html",
        {"form": form, "policy": policy},
        section="policies",
        status=400 if form.errors else 200,
    )
