"""The staff's self-service pages in the dashboard: the waitlist and the offers sent, and the
survey results per staff member and service."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from appointments.views import page_context
from appointments.views_common import front_desk, tenant_of
from selfservice.models import SurveyInvitation, WaitlistEntry, WaitlistOffer, WaitlistStatus
from selfservice.selectors import (
    freed_count,
    refilled_count,
    survey_score,
    survey_scores_by,
    waiting_entries,
)
from selfservice.services.waitlist import waitlist_remove

RECENT_OFFERS = 50
RECENT_COMMENTS = 20
REPORT_DAYS = 30


@front_desk
@require_GET
def waitlist_page(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    now = timezone.now()
    since = now - timedelta(days=REPORT_DAYS)
    offers = (
        WaitlistOffer.objects.filter(tenant=tenant)
        .select_related("entry__client", "slot__service", "slot__staff")
        .order_by("-created_at", "-id")[:RECENT_OFFERS]
    )
    context = page_context(
        request,
        "waitlist",
        entries=waiting_entries(tenant),
        offers=offers,
        freed=freed_count(tenant, since, now),
        refilled=refilled_count(tenant, since, now),
        report_days=REPORT_DAYS,
    )
    return render(request, "selfservice/dashboard_waitlist.html", context)


@front_desk
@require_POST
def waitlist_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = tenant_of(request)
    entry = get_object_or_404(WaitlistEntry, pk=pk, tenant=tenant, status=WaitlistStatus.WAITING)
    waitlist_remove(entry=entry)
    messages.success(request, _("%(name)s is off the waitlist.") % {"name": entry.client.name})
    return redirect("selfservice_dashboard:waitlist")


@front_desk
@require_GET
def surveys_page(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    now = timezone.now()
    since = now - timedelta(days=REPORT_DAYS)
    comments = (
        SurveyInvitation.objects.filter(tenant=tenant, answered_at__gte=since)
        .exclude(comment="")
        .select_related("appointment__service", "appointment__staff", "appointment__client")
        .order_by("-answered_at")[:RECENT_COMMENTS]
    )
    context = page_context(
        request,
        "surveys",
        overall=survey_score(tenant, since, now),
        by_staff=survey_scores_by(tenant, since, now, by="staff"),
        by_service=survey_scores_by(tenant, since, now, by="service"),
        comments=comments,
        report_days=REPORT_DAYS,
    )
    return render(request, "selfservice/dashboard_surveys.html", context)
