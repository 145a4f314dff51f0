"""Writes of the reports app: scheduled-report settings, and sending a due report once."""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from reports.models import (
    DeliveryStatus,
    Frequency,
    ReportDelivery,
    ReportRecipient,
    ReportSubscription,
)
from reports.periods import Period, last_month, last_week
from reports.selectors import report_build
from reports.texts import comparisons, hours, minutes, percent
from tenants.models import Business, Membership

logger = logging.getLogger(__name__)


def subscription_save(
    *,
    tenant: Business,
    frequency: str,
    is_active: bool,
    send_hour: int,
    recipients: list[Membership],
) -> ReportSubscription:
    """Create or change the business's weekly or monthly report and who receives it."""
    if frequency not in Frequency.values:
        raise ValueError(f"Unknown frequency {frequency!r}.")
    if any(m.tenant_id != tenant.pk for m in recipients):
        raise ValueError("Recipients must be members of the business.")
    with transaction.atomic():
        subscription, _created = ReportSubscription.objects.select_for_update().get_or_create(
            tenant=tenant, frequency=frequency, defaults={"send_hour": send_hour}
        )
        subscription.is_active = is_active
        subscription.send_hour = send_hour
        subscription.save()
        ReportRecipient.objects.filter(tenant=tenant, subscription=subscription).exclude(
            membership__in=recipients
        ).delete()
        existing = set(
            ReportRecipient.objects.filter(tenant=tenant, subscription=subscription).values_list(
                "membership_id", flat=True
            )
        )
        ReportRecipient.objects.bulk_create(
            ReportRecipient(tenant=tenant, subscription=subscription, membership=m)
            for m in recipients
            if m.pk not in existing
        )
    return subscription


def due_period(subscription: ReportSubscription, *, now: datetime) -> Period | None:
    """The latest complete week (Monday to Sunday) or month in business time, once its
    report may go: from the send hour of the day after it. None before then."""
    zone = zoneinfo.ZoneInfo(subscription.tenant.timezone)
    today = now.astimezone(zone).date()
    weekly = subscription.frequency == Frequency.WEEKLY
    period = last_week(today) if weekly else last_month(today)
    opens = datetime.combine(
        period.end + timedelta(days=1), time(subscription.send_hour), tzinfo=zone
    )
    return period if now >= opens else None


@dataclass(frozen=True)
class SendResult:
    sent: int = 0
    skipped: int = 0


def report_send_due(*, subscription: ReportSubscription, now: datetime) -> bool:
    """Send the due period's report once: the delivery row is committed first, unique per
    period, so that a second run (or a concurrent one) finds it and sends nothing.

    A crash between the row and the email leaves it "sending": never sent twice, visible.
    """
    period = due_period(subscription, now=now)
    if period is None:
        return False
    tenant = subscription.tenant
    # Only the latest period: a business that subscribes mid-month receives last month's
    # report at the next tick (late rather than never), and after an outage only the
    # latest period goes.
    if ReportDelivery.objects.filter(
        tenant=tenant, subscription=subscription, period_start=period.start
    ).exists():
        return False
    try:
        with transaction.atomic():
            delivery = ReportDelivery.objects.create(
                tenant=tenant,
                subscription=subscription,
                period_start=period.start,
                period_end=period.end,
            )
    except IntegrityError:
        return False  # another run took it
    emails = list(
        ReportRecipient.objects.filter(
            tenant=tenant, subscription=subscription, membership__is_active=True
        ).values_list("membership__user__email", flat=True)
    )
    try:
        with translation.override(tenant.language):
            report = report_build(tenant=tenant, period=period, now=now, with_trend=False)
            context = {
                "business": tenant,
                "report": report,
                "totals": report.totals,
                "comparisons": comparisons(report),
                "percent": percent,
                "wait_avg": minutes(report.totals.wait_avg_minutes),
                "wait_p90": minutes(report.totals.wait_p90_minutes),
                "service_avg": minutes(report.totals.service_avg_minutes),
                "lead": hours(report.totals.confirmation_lead_hours),
                "url": settings.PUNTUAL_BASE_URL.rstrip("/")
                + reverse("reports:page")
                + f"?from={period.start}&to={period.end}",
            }
            subject = _("%(business)s: report for %(start)s – %(end)s") % {
                "business": tenant.name,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            }
            body = render_to_string("reports/email.txt", context)
            html = render_to_string("reports/email.html", context)
        if emails:
            message = EmailMultiAlternatives(subject, body, to=emails)
            message.attach_alternative(html, "text/html")
            message.send()
    except Exception:
        ReportDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
        raise
    ReportDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, recipients=len(emails), sent_at=timezone.now()
    )
    return True


def reports_send_due(*, now: datetime) -> SendResult:
    """Every active subscription of every business: send what is due (the beat task)."""
    with scopes_disabled():
        subscriptions = list(
            ReportSubscription.objects.filter(is_active=True).select_related("tenant")
        )
    sent = skipped = 0
    for subscription in subscriptions:
        with scope(tenant=subscription.tenant):
            try:
                if report_send_due(subscription=subscription, now=now):
                    sent += 1
                else:
                    skipped += 1
            except Exception:
                logger.exception("scheduled report %s failed", subscription.pk)
    return SendResult(sent, skipped)
