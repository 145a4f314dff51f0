"""Settings > Webhooks: the business's endpoints, their secrets, their delivery log, a test event.

Owners and admins only (`admin_only`). A secret is shown in the response that creates or
rotates it and never again (no redirect: it must not travel through the session or a URL).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from hooks.forms import EndpointForm
from hooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from hooks.services import (
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
    send_test_event,
)
from tenants.forms.base import add_service_errors
from tenants.settings_views.common import admin_only, owned, posted, render_settings, tenant_of

LOG_SIZE = 50
SECTION = "webhooks"


@admin_only
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    last = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    endpoints = WebhookEndpoint.objects.filter(tenant=tenant_of(request)).annotate(
        last_status=Subquery(last.values("status")[:1]),
        last_at=Subquery(last.values("created_at")[:1]),
    )
    return render_settings(
        request,
        "settings/hooks/endpoints.html",
        {"endpoints": endpoints, "statuses": dict(DeliveryStatus.choices)},
        section=SECTION,
    )


def _log_context(endpoint: WebhookEndpoint) -> dict[str, Any]:
    deliveries = list(endpoint.deliveries.all()[:LOG_SIZE])
    return {
        "endpoint": endpoint,
        "deliveries": deliveries,
        # A first attempt still to come or one under way: the log refreshes itself meanwhile.
        "in_flight": any(
            d.status == DeliveryStatus.SENDING
            or (d.status == DeliveryStatus.PENDING and d.attempts == 0)
            for d in deliveries
        ),
    }


def _endpoint_page(
    request: HttpRequest,
    endpoint: WebhookEndpoint | None,
    *,
    form: EndpointForm,
    new_secret: str = "",
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "endpoint": endpoint, "new_secret": new_secret}
    if endpoint is not None:
        context.update(_log_context(endpoint))
    return render_settings(
        request, "settings/hooks/endpoint.html", context, section=SECTION, status=status
    )


@never_cache
@admin_only
def endpoint_new(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(posted(request), initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = endpoint_create(tenant=tenant_of(request), **form.values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The webhook endpoint is added."))
            return _endpoint_page(
                request,
                endpoint,
                form=EndpointForm(initial=EndpointForm.initial_for(endpoint)),
                new_secret=secret,
            )
    return _endpoint_page(request, None, form=form, status=400 if form.errors else 200)


@admin_only
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = owned(request, WebhookEndpoint, pk)
    form = EndpointForm(posted(request), initial=EndpointForm.initial_for(endpoint))
    if request.method == "POST" and form.is_valid():
        try:
            endpoint_update(endpoint=endpoint, **form.values())
        except ValidationError as exc:
            add_service_errors(form, exc)
            endpoint.refresh_from_db()
        else:
            messages.success(request, _("The webhook endpoint is saved."))
            return redirect("settings:webhook_edit", pk=endpoint.pk)
    return _endpoint_page(request, endpoint, form=form, status=400 if form.errors else 200)


@never_cache
@admin_only
@require_POST
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = owned(request, WebhookEndpoint, pk)
    secret = endpoint_rotate_secret(endpoint=endpoint)
    return _endpoint_page(
        request,
        endpoint,
        form=EndpointForm(initial=EndpointForm.initial_for(endpoint)),
        new_secret=secret,
    )


@admin_only
@require_POST
def endpoint_remove(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = owned(request, WebhookEndpoint, pk)
    endpoint_delete(endpoint=endpoint)
    messages.success(
        request, _("The webhook endpoint “%(url)s” is deleted.") % {"url": endpoint.url}
    )
    return redirect("settings:webhooks")


@admin_only
@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test event; with htmx the answer is the delivery log, which follows it."""
    endpoint = owned(request, WebhookEndpoint, pk)
    send_test_event(endpoint=endpoint)
    if request.headers.get("HX-Request"):
        return render(request, "settings/hooks/_log.html", _log_context(endpoint))
    messages.success(request, _("A test event is on its way: its delivery shows in the log."))
    return redirect("settings:webhook_edit", pk=endpoint.pk)


@admin_only
@require_GET
def endpoint_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery log alone (htmx refreshes it while a delivery is under way)."""
    endpoint = owned(request, WebhookEndpoint, pk)
    return render(request, "settings/hooks/_log.html", _log_context(endpoint))
