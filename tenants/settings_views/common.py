"""What every settings page shares: who may open it, the business's objects by id, the layout."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from tenants.models import Business, Membership, Role

View = Callable[..., HttpResponse]
M = TypeVar("M", bound=models.Model)


def admin_only(view: View) -> View:
    """Owners and admins of the active business only: anyone else logged in gets 403 (before
    any object is looked up, so a refusal says nothing about ids); visitors log in first."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        membership: Membership | None = getattr(request, "membership", None)
        if tenant is None or membership is None:
            return render(request, "dashboard/no_business.html", status=403)
        if not membership.has_role_at_least(Role.ADMIN):
            return render(request, "settings/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def tenant_of(request: HttpRequest) -> Business:
    return cast(Business, request.tenant)  # type: ignore[attr-defined]


def membership_of(request: HttpRequest) -> Membership:
    return cast(Membership, request.membership)  # type: ignore[attr-defined]


def owned(request: HttpRequest, model: type[M], pk: int) -> M:
    """The active business's object `pk`, or 404 (another business's id is not found).

    The tenant scope already filters every query; the explicit filter keeps it visible here.
    """
    return get_object_or_404(model.objects.filter(tenant=tenant_of(request)), pk=pk)  # type: ignore[attr-defined]


# The sections of the settings, in the order of the side navigation: (url name, label).
def render_settings(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    section: str,
    status: int = 200,
) -> HttpResponse:
    return render(request, template, {**context, "section": section}, status=status)


def posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one: a form posted empty shows its errors)."""
    return request.POST if request.method == "POST" else None
