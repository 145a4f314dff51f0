"""The client page's personal data actions (admins): download everything, or erase it."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appointments.models import Channel
from appointments.services import Actor
from clients.models import Client
from clients.privacy import AlreadyErased, client_erase, client_export
from tenants.models import Business, Membership, Role, User

View = Callable[..., HttpResponse]


def admins_only(view: View) -> View:
    """Owners and admins of the active business; everyone else is refused before any lookup."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership: Membership | None = getattr(request, "membership", None)
        if getattr(request, "tenant", None) is None or membership is None:
            return render(request, "dashboard/no_business.html", status=403)
        if not membership.has_role_at_least(Role.ADMIN):
            return render(request, "dashboard/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _client(request: HttpRequest, pk: int) -> Client:
    tenant = cast(Business, request.tenant)  # type: ignore[attr-defined]
    return get_object_or_404(Client.objects.filter(tenant=tenant), pk=pk)


def _actor(request: HttpRequest) -> Actor:
    return Actor.staff(cast(User, request.user), channel=Channel.DASHBOARD)


@admins_only
@require_POST
def client_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A JSON file of everything held about the client (a POST: the export is recorded)."""
    client = _client(request, pk)
    data = client_export(client=client, actor=_actor(request), now=timezone.now())
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="client-{client.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@admins_only
@require_http_methods(["GET", "POST"])
def client_erase_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation (GET), then erase (POST with the confirmation ticked)."""
    client = _client(request, pk)
    error = ""
    status = 200
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error = _("Tick the box to confirm that the data is to be erased.")
            status = 400
        else:
            try:
                client_erase(client=client, actor=_actor(request), now=timezone.now())
            except AlreadyErased:
                error = _("This client's data was already erased.")
                status = 409
            else:
                messages.success(request, _("The client's personal data was erased."))
                return redirect("dashboard:client", pk=client.pk)
    return render(request, "clients/erase.html", {"client": client, "error": error}, status=status)
