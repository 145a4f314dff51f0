"""Scheduled reports: who receives a business's weekly or monthly report, and which periods
were already sent (one row per period, unique: a task that runs twice sends once)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import TenantOwnedModel


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class ReportSubscription(TenantOwnedModel):
    """A business's scheduled report: one per frequency, sent at `send_hour` local time on
    the first day after the period (Monday for a week, the 1st for a month)."""

    frequency = models.CharField(_("frequency"), max_length=8, choices=Frequency.choices)
    send_hour = models.PositiveSmallIntegerField(_("send at (hour, local time)"), default=7)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scheduled report")
        verbose_name_plural = _("scheduled reports")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "frequency"], name="reportsubscription_one_per_frequency"
            ),
            models.CheckConstraint(
                condition=models.Q(send_hour__lte=23), name="reportsubscription_hour_0_23"
            ),
        ]

    def __str__(self) -> str:
        return str(self.get_frequency_display())


class ReportRecipient(TenantOwnedModel):
    """A member who receives a scheduled report (an explicit table: it carries the tenant)."""

    subscription = models.ForeignKey(
        ReportSubscription, on_delete=models.CASCADE, related_name="recipients"
    )
    membership = models.ForeignKey("tenants.Membership", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subscription", "membership"], name="reportrecipient_once"
            ),
        ]

    def __str__(self) -> str:
        return f"recipient {self.membership_id} of {self.subscription_id}"


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class ReportDelivery(TenantOwnedModel):
    """One scheduled report for one period: written before the email goes, never twice."""

    subscription = models.ForeignKey(
        ReportSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period until"))
    status = models.CharField(
        _("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING
    )
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("scheduled report sent")
        verbose_name_plural = _("scheduled reports sent")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subscription", "period_start"], name="reportdelivery_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.period_start}–{self.period_end}"
