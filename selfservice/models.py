"""Self-service data: the waitlist, the slots cancellations free and the offers made for
them, and the post-visit survey answers.

A freed slot is one row per cancelled appointment: the thing offered, and the thing locked
when a client claims it (first to claim wins). Its `refilled_by` is what the KPIs count.
"""

from __future__ import annotations

import hashlib
import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import TenantOwnedModel


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(16)  # 128 bits, 22 characters: short enough for an SMS


class PartOfDay(models.TextChoices):
    MORNING = "morning", _("Morning (before 12:00)")
    AFTERNOON = "afternoon", _("Afternoon (12:00–17:00)")
    EVENING = "evening", _("Evening (from 17:00)")


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    BOOKED = "booked", _("Booked")
    REMOVED = "removed", _("Removed")


class WaitlistSource(models.TextChoices):
    ONLINE = "online", _("Online booking page")
    STAFF = "staff", _("Staff")


class WaitlistEntry(TenantOwnedModel):
    """A client waiting for a time of a service (optionally with one staff member, on some
    weekdays, at some parts of the day: empty lists mean any)."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    service = models.ForeignKey(
        "appointments.Service", on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    staff = models.ForeignKey(
        "appointments.StaffMember",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
    )
    location = models.ForeignKey(
        "tenants.Location", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Weekdays, Monday = 0, in the location's wall time.
    weekdays = models.JSONField(_("days of the week"), default=list, blank=True)
    parts_of_day = models.JSONField(_("times of day"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    source = models.CharField(_("source"), max_length=8, choices=WaitlistSource.choices)
    booked_appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ("created_at", "id")
        indexes = [
            models.Index(
                fields=["tenant", "service", "created_at"],
                condition=Q(status="waiting"),
                name="waitlist_waiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} · {self.service}"


class FreedSlot(TenantOwnedModel):
    """The time a cancelled appointment gave back, as offered to the waitlist."""

    cancelled_appointment = models.OneToOneField(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="+"
    )
    location = models.ForeignKey("tenants.Location", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(
        "appointments.StaffMember", on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey("appointments.Service", on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField(_("start"))
    freed_at = models.DateTimeField(_("freed at"))
    refilled_by = models.OneToOneField(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    refilled_at = models.DateTimeField(_("refilled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("freed slot")
        verbose_name_plural = _("freed slots")
        ordering = ("-freed_at",)
        indexes = [
            models.Index(fields=["tenant", "freed_at"], name="freedslot_freed_idx"),
            models.Index(fields=["tenant", "refilled_at"], name="freedslot_refilled_idx"),
        ]


class OfferStatus(models.TextChoices):
    PENDING = "pending", _("Planned")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Not sent")
    UNKNOWN = "unknown", _("Unknown")
    CLAIMED = "claimed", _("Claimed")
    TAKEN = "taken", _("Taken by someone else")


class WaitlistOffer(TenantOwnedModel):
    """One freed slot offered to one waiting client, with its own link.

    Sent at most once: the send task takes the row by the conditional update
    pending -> sending, so a duplicate task finds nothing to send (see
    selfservice.services.messaging for the retries). Only the token's hash is stored.
    """

    slot = models.ForeignKey(FreedSlot, on_delete=models.CASCADE, related_name="offers")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    token_hash = models.CharField(max_length=64)
    status = models.CharField(
        _("status"), max_length=8, choices=OfferStatus.choices, default=OfferStatus.PENDING
    )
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=8, blank=True)
    to = models.CharField(_("to"), max_length=254, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    send_at = models.DateTimeField(_("send at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the last attempt took the row: one "sending" for long was cut off in flight.
    attempted_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waitlist offer")
        verbose_name_plural = _("waitlist offers")
        ordering = ("-created_at", "id")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slot", "entry"], name="offer_once"),
            models.UniqueConstraint(fields=["tenant", "token_hash"], name="offer_unique_token"),
        ]
        indexes = [
            models.Index(fields=["send_at"], condition=Q(status="pending"), name="offer_due_idx"),
        ]


class SurveyInvitation(TenantOwnedModel):
    """The one survey an attended appointment gets: its link, and the answer once given.

    The survey's outbox row: planned from the business's active survey rule (its offset after
    the end, its channel and texts), sent at most once like a waitlist offer.
    """

    appointment = models.OneToOneField(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="+"
    )
    # The rule that planned it: its channel and texts are read when it is sent. Deleted or
    # deactivated before then, the survey is not sent.
    rule = models.ForeignKey(
        "reminders.ReminderRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rule"),
    )
    token_hash = models.CharField(max_length=64)
    send_at = models.DateTimeField(_("send at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    attempted_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=OfferStatus.choices, default=OfferStatus.PENDING
    )
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=8, blank=True)
    to = models.CharField(_("to"), max_length=254, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "token_hash"], name="survey_unique_token"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="survey_rating_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["send_at"], condition=Q(status="pending"), name="survey_due_idx"),
            models.Index(fields=["tenant", "answered_at"], name="survey_answered_idx"),
        ]
