"""The business's profile, its locations and its booking rules."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from appointments.models import BookingRules
from appointments.services.setup import booking_rules_update
from tenants.forms.base import add_service_errors
from tenants.forms.business import BusinessProfileForm, LocationForm
from tenants.forms.scheduling import BookingRulesForm
from tenants.models import Location
from tenants.services import business_update, location_create, location_update
from tenants.settings_views.common import admin_only, owned, posted, render_settings, tenant_of


@admin_only
def profile(request: HttpRequest) -> HttpResponse:
    business = tenant_of(request)
    initial = model_to_dict(business, fields=BusinessProfileForm.model_fields)
    form = BusinessProfileForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            business_update(business=business, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The business's profile is saved."))
            return redirect("settings:profile")
    return render_settings(
        request,
        "settings/profile.html",
        {"form": form},
        section="profile",
        status=400 if form.errors else 200,
    )


@admin_only
def location_list(request: HttpRequest) -> HttpResponse:
    locations = Location.objects.filter(tenant=tenant_of(request)).order_by("-is_active", "name")
    return render_settings(
        request, "settings/locations.html", {"locations": locations}, section="locations"
    )


@admin_only
def location_new(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    form = LocationForm(posted(request), initial={"timezone": tenant.timezone})
    if request.method == "POST" and form.is_valid():
        try:
            location_create(tenant=tenant, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The location is added."))
            return redirect("settings:locations")
    return render_settings(
        request,
        "settings/location_form.html",
        {"form": form, "location": None},
        section="locations",
        status=400 if form.errors else 200,
    )


@admin_only
def location_edit(request: HttpRequest, pk: int) -> HttpResponse:
    location = owned(request, Location, pk)
    form = LocationForm(
        posted(request), initial=model_to_dict(location, fields=LocationForm.model_fields)
    )
    if request.method == "POST" and form.is_valid():
        try:
            location_update(location=location, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The location is saved."))
            return redirect("settings:locations")
    return render_settings(
        request,
        "settings/location_form.html",
        {"form": form, "location": location},
        section="locations",
        status=400 if form.errors else 200,
    )


@admin_only
def booking_rules(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    rules = BookingRules.objects.filter(tenant=tenant).first() or BookingRules(tenant=tenant)
    form = BookingRulesForm(
        posted(request), initial=model_to_dict(rules, fields=BookingRulesForm.model_fields)
    )
    if request.method == "POST" and form.is_valid():
        try:
            booking_rules_update(tenant=tenant, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The booking rules are saved."))
            return redirect("settings:booking_rules")
    return render_settings(
        request,
        "settings/booking_rules.html",
        {"form": form},
        section="booking_rules",
        status=400 if form.errors else 200,
    )
