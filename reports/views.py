"""The reports page (admins; receptionists read), its CSV export and the scheduled report."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from appointments.views import page_context
from appointments.views_common import (
    business_today,
    business_zone,
    front_desk,
    is_admin,
    safe_next,
    tenant_of,
)
from reports.charts import line_chart
from reports.forms import ReportQueryForm, SubscriptionForm
from reports.models import Frequency, ReportRecipient, ReportSubscription
from reports.selectors import FIGURES, GroupBy, Indicators, appointments_behind, report_build
from reports.services import subscription_save
from reports.texts import comparisons, hours, minutes, percent
from tenants.settings_views.common import admin_only

TREND_CHARTS = (
    ("no_show_rate", gettext_lazy("No-show rate")),
    ("late_cancellation_rate", gettext_lazy("Late-cancellation rate")),
    ("confirmation_rate", gettext_lazy("Confirmation rate")),
    ("utilisation", gettext_lazy("Utilisation")),
)


def _subscriptions(
    request: HttpRequest, posted: SubscriptionForm | None = None
) -> list[dict[str, Any]]:
    tenant = tenant_of(request)
    found = {s.frequency: s for s in ReportSubscription.objects.filter(tenant=tenant)}
    chosen: dict[int, list[int]] = {}
    for subscription_id, membership_id in ReportRecipient.objects.filter(tenant=tenant).values_list(
        "subscription_id", "membership_id"
    ):
        chosen.setdefault(subscription_id, []).append(membership_id)
    result = []
    for frequency, label in Frequency.choices:
        subscription = found.get(frequency)
        initial = {
            "frequency": frequency,
            "is_active": bool(subscription and subscription.is_active),
            "send_hour": subscription.send_hour if subscription else 7,
            "recipients": chosen.get(subscription.pk, []) if subscription else [],
        }
        form = SubscriptionForm(initial=initial, tenant=tenant, auto_id=f"id_{frequency}_%s")
        if posted is not None and posted.data.get("frequency") == frequency:
            form = posted
        result.append(
            {"frequency": frequency, "label": label, "form": form, "subscription": subscription}
        )
    return result


def _cards(totals: Indicators) -> list[dict[str, Any]]:
    """The headline figures: a value, the counts behind it, and the CSV of its appointments."""
    n = {
        "total": totals.appointments,
        "held": totals.held,
        "no_shows": totals.no_shows,
        "late": totals.late_cancellations,
        "on_time": totals.on_time_cancellations,
        "confirmed": totals.confirmed,
        "reminded": totals.reminded,
        "lead": hours(totals.confirmation_lead_hours),
    }
    if totals.utilisation is None:
        use_detail = _("Not available with a service or client filter.")
    else:
        use_detail = _("%(booked)s of %(available)s hours booked") % {
            "booked": number_format(round(totals.booked_minutes / 60, 1), 1),
            "available": number_format(round((totals.available_minutes or 0) / 60, 1), 1),
        }
    return [
        {
            "title": _("Appointments"),
            "value": totals.appointments,
            "detail": "",
            "figure": "appointments",
        },
        {
            "title": _("No-show rate"),
            "value": percent(totals.no_show_rate),
            "detail": _("%(no_shows)s no-shows of %(held)s appointments due") % n,
            "figure": "no_shows",
        },
        {
            "title": _("Late cancellations"),
            "value": percent(totals.late_cancellation_rate),
            "detail": _("%(late)s of %(total)s appointments") % n,
            "figure": "late_cancellations",
        },
        {
            "title": _("On-time cancellations"),
            "value": percent(totals.on_time_cancellation_rate),
            "detail": _("%(on_time)s of %(total)s appointments") % n,
            "figure": "on_time_cancellations",
        },
        {
            "title": _("Confirmed"),
            "value": percent(totals.confirmation_rate),
            "detail": _("%(confirmed)s of %(total)s, %(lead)s before the start on average") % n,
            "figure": "confirmed",
        },
        {
            "title": _("Reminded"),
            "value": percent(totals.reminded_share),
            "detail": _("%(reminded)s of %(total)s appointments got a reminder") % n,
            "figure": "reminded",
        },
        {
            "title": _("Utilisation"),
            "value": percent(totals.utilisation),
            "detail": use_detail,
            "figure": "",
        },
        {
            "title": _("Waiting time"),
            "value": minutes(totals.wait_avg_minutes),
            "detail": _("average; 90 %% wait at most %(p90)s")
            % {"p90": minutes(totals.wait_p90_minutes)},
            "figure": "waited",
        },
        {
            "title": _("Service time"),
            "value": minutes(totals.service_avg_minutes),
            "detail": _("average; 90 %% take at most %(p90)s")
            % {"p90": minutes(totals.service_p90_minutes)},
            "figure": "served",
        },
    ]


def _group_rows(report: Any) -> list[dict[str, Any]]:
    return [
        {
            "label": g.label,
            "appointments": g.indicators.appointments,
            "cells": [
                percent(g.indicators.no_show_rate),
                percent(g.indicators.late_cancellation_rate),
                percent(g.indicators.confirmation_rate),
                percent(g.indicators.reminded_share),
                percent(g.indicators.utilisation),
                minutes(g.indicators.wait_avg_minutes),
                minutes(g.indicators.wait_p90_minutes),
            ],
        }
        for g in report.groups
    ]


def _confirmation_rows(totals: Indicators) -> list[dict[str, Any]]:
    return [
        {
            "label": label,
            "held": getattr(totals, f"{key}_held"),
            "no_shows": getattr(totals, f"{key}_no_shows"),
            "rate": percent(getattr(totals, f"no_show_rate_{key}")),
            "figure": f"{key}_no_shows",
        }
        for key, label in (
            ("unconfirmed", _("Not confirmed")),
            ("confirmed_early", _("Confirmed 24 h or more before")),
            ("confirmed_late", _("Confirmed less than 24 h before")),
        )
    ]


@front_desk
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    """The indicators of a period with their trend, the numbers behind them and the
    comparison with the period before; filters by period, location, staff, service, segment."""
    return _page(request)


def _page(
    request: HttpRequest, posted: SubscriptionForm | None = None, status: int = 200
) -> HttpResponse:
    tenant = tenant_of(request)
    now = timezone.now()
    form = ReportQueryForm(request.GET or None, tenant=tenant, today=business_today(tenant, now))
    valid = not form.is_bound or form.is_valid()
    period, filters, group_by, period_name = form.query()
    report = report_build(tenant=tenant, period=period, now=now, filters=filters, group_by=group_by)
    charts = [
        line_chart(
            name=name, title=str(title), points=report.trend, attribute=name, bucket=period.bucket
        )
        for name, title in TREND_CHARTS
    ]
    query = request.GET.copy()
    query.pop("figure", None)
    context = page_context(
        request,
        "reports",
        form=form,
        report=report,
        totals=report.totals,
        comparisons=comparisons(report),
        charts=charts,
        period_name=period_name,
        query_string=query.urlencode(),
        can_edit=is_admin(request),
        subscriptions=_subscriptions(request, posted),
        cards=_cards(report.totals),
        group_rows=_group_rows(report),
        group_label=dict(GroupBy.CHOICES).get(group_by or "", ""),
        confirmation_rows=_confirmation_rows(report.totals),
        channels=[
            {
                "name": name,
                "attempted": c.attempted,
                "delivered": c.delivered,
                "failed": c.failed,
                "success": percent(c.success_rate),
            }
            for name, c in sorted((report.totals.channels or {}).items())
        ],
        money=report.totals.money,
        currency=tenant.currency,
    )
    return render(request, "reports/page.html", context, status=status if valid else 400)


CSV_COLUMNS = (
    "id",
    "start",
    "location",
    "staff",
    "service",
    "client",
    "status",
    "cancelled_by",
    "late_cancellation",
    "confirmed_at",
    "reminded",
    "client_segment",
    "arrived_at",
    "started_at",
    "finished_at",
)


@front_desk
@require_GET
def report_export(request: HttpRequest) -> HttpResponse:
    """The appointments behind one figure (`figure=no_shows`...), with the page's filters."""
    tenant = tenant_of(request)
    now = timezone.now()
    figure = request.GET.get("figure") or "appointments"
    form = ReportQueryForm(request.GET, tenant=tenant, today=business_today(tenant, now))
    if figure not in FIGURES or not form.is_valid():
        errors = [] if figure in FIGURES else [_("Unknown figure.")]
        errors += [str(e) for field in form.errors.values() for e in field]
        return HttpResponse("\n".join(errors), status=400, content_type="text/plain; charset=utf-8")
    period, filters, _group_by, _name = form.query()
    zone = business_zone(tenant)
    rows = appointments_behind(
        tenant=tenant, period=period, now=now, figure=figure, filters=filters
    )

    def local(value: Any) -> str:
        return value.astimezone(zone).isoformat(timespec="minutes") if value else ""

    # In memory: one business's appointments over at most MAX_DAYS days.
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for a in rows:
        writer.writerow(
            [
                a.pk,
                local(a.start),
                a.location.name,
                a.staff.display_name,
                a.service.name,
                a.client.name,
                a.status,
                a.cancelled_by,
                "yes" if getattr(a, "late_cancellation", False) else "",
                local(a.confirmed_at),
                "yes" if getattr(a, "reminded", False) else "",
                getattr(a, "segment", ""),
                local(a.arrived_at),
                local(a.started_at),
                local(a.finished_at),
            ]
        )

    filename = f"{tenant.slug}-{figure}-{period.start}-{period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin_only
@require_POST
def subscription_update(request: HttpRequest) -> HttpResponse:
    """Turn the weekly or monthly report on or off, its hour and who receives it."""
    tenant = tenant_of(request)
    form = SubscriptionForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _page(request, posted=form, status=400)
    data = form.cleaned_data
    subscription_save(
        tenant=tenant,
        frequency=data["frequency"],
        is_active=data["is_active"],
        send_hour=data["send_hour"],
        recipients=list(data["recipients"]),
    )
    messages.success(request, _("Scheduled report saved."))
    response = redirect(safe_next(request, reverse("reports:page")))
    response.status_code = 303
    return response
