"""Reminder rules, the outbound message outbox, clients' access links, and inbound replies.

The outbox is the heart of "at most once": one row per (appointment, rule) — or per
transactional notice and appointment version —, unique in the database, claimed by one
dispatcher at a time, marked in flight before the provider is called, and never sent again
once it left that state (a crash in flight ends "unknown", to reconcile, not to resend).
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Business, TenantOwnedModel


class RuleChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    SMS_THEN_EMAIL = "sms_then_email", _("SMS, or email when SMS is not possible")


class Purpose(models.TextChoices):
    REMINDER = "reminder", _("Reminder")
    CONFIRMATION_REQUEST = "confirmation_request", _("Confirmation request")
    # Sent after an attended visit, not before the start: planned by self-service into its
    # own outbox (selfservice.SurveyInvitation), never by the reminder planner.
    SURVEY = "survey", _("Post-visit survey")


class ReminderRule(TenantOwnedModel):
    """When and how to remind clients before their appointments. Texts are per language;
    an empty text uses Puntual's default text for the purpose and language.

    The offset counts back from the start, except for a survey rule: it counts from the end
    of an attended visit (`offset_is_after_end`). A business has at most one active survey rule.
    """

    name = models.CharField(_("name"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=24, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=RuleChannel.choices)
    offset_minutes = models.PositiveIntegerField(
        _("offset in minutes"),
        help_text=_("Before the start; for a post-visit survey, after the end."),
    )
    only_if_unconfirmed = models.BooleanField(_("only if not confirmed yet"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # {"es": {"subject": "...", "body": "...", "sms": "..."}, "en": {...}}
    texts = models.JSONField(_("texts"), default=dict, blank=True)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ("-offset_minutes",)
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="reminderrule_unique_name"),
            # Two active surveys would ask the same client twice about one visit.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(purpose="survey", is_active=True),
                name="reminderrule_one_active_survey",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def offset_is_after_end(self) -> bool:
        return self.purpose == Purpose.SURVEY


class MessageKind(models.TextChoices):
    RULE = "rule", _("Reminder rule")
    BOOKING_CONFIRMATION = "booking_confirmation", _("Booking confirmation")
    RESCHEDULE_NOTICE = "reschedule_notice", _("Reschedule notice")
    CANCELLATION_NOTICE = "cancellation_notice", _("Cancellation notice")
    REQUEST_RECEIVED = "request_received", _("Request received")
    REQUEST_DECLINED = "request_declined", _("Request declined")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Planned")
    QUEUED = "queued", _("Queued")  # claimed by the dispatcher, task enqueued
    SENDING = "sending", _("Sending")  # in flight: the provider is being called
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")
    UNKNOWN = "unknown", _("Unknown")  # the provider may or may not have accepted it


# Once a message leaves these, nothing sends it again.
SENDABLE_STATUSES = (MessageStatus.PENDING, MessageStatus.QUEUED)


class OutboundMessage(TenantOwnedModel):
    # The outbox is the busiest table: every index is written again by each of a message's
    # updates (the status is in two index predicates, so they are never HOT). The unique
    # constraint below starts with the tenant and the appointment: no index of their own.
    tenant = models.ForeignKey(
        Business,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("business"),
        db_index=False,
    )
    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="messages"
    )
    rule = models.ForeignKey(
        ReminderRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=MessageKind.choices)
    # What makes this message unique for its appointment: "rule:<id>", "booking",
    # "reschedule:v<version>", "cancellation", "request", "declined".
    dedupe_key = models.CharField(max_length=64)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, blank=True)
    fallback_to_email = models.BooleanField(default=False)
    to = models.CharField(_("to"), max_length=254, blank=True)
    language = models.CharField(max_length=8, blank=True)
    send_at = models.DateTimeField(_("send at"))
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    appointment_version = models.PositiveIntegerField(default=1)
    provider_id = models.CharField(max_length=100, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ("send_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "appointment", "dedupe_key"], name="outboundmessage_once"
            ),
        ]
        indexes = [
            # The dispatcher's due query: only planned rows, by send time.
            models.Index(
                fields=["send_at"], condition=Q(status="pending"), name="outbound_due_idx"
            ),
            # The reaper's query: claimed rows that never finished.
            models.Index(
                fields=["claimed_at"],
                condition=Q(status__in=["queued", "sending"]),
                name="outbound_inflight_idx",
            ),
            # Status callbacks find a message by the provider's id: Twilio's per business,
            # email tracking globally (one URL per provider) before they know the business.
            # Only sent rows have one: the planned and queued rows stay out of this index.
            models.Index(
                fields=["provider_id"],
                condition=~Q(provider_id=""),
                name="outbound_provider_global_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.channel} · {self.status}"


class AccessAction(models.TextChoices):
    MANAGE = "manage", _("See and manage")
    CONFIRM = "confirm", _("Confirm")
    CANCEL = "cancel", _("Cancel")


class AppointmentAccess(TenantOwnedModel):
    """A client's link to one appointment, for one action, valid for one version of it.

    The token has 128 random bits and only its SHA-256 is stored. A reschedule bumps the
    appointment's version, which retires every link issued before it.
    """

    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=8, choices=AccessAction.choices)
    appointment_version = models.PositiveIntegerField()
    token_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "token_hash"], name="appointmentaccess_unique_token"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} link for appointment {self.appointment_id}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(16)  # 128 bits, 22 characters: short enough for an SMS


class InboundMessage(TenantOwnedModel):
    """An SMS a client sent to the business: understood (and acted on) or left for a human."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed the appointment")
        CANCELLED = "cancelled", _("Cancelled the appointment")
        OPTED_OUT = "opted_out", _("Opted out of SMS")
        OPTED_IN = "opted_in", _("Opted back in to SMS")
        NEEDS_HUMAN = "needs_human", _("Needs a person")

    from_number = models.CharField(max_length=20)
    body = models.TextField()
    provider_id = models.CharField(max_length=64)
    client = models.ForeignKey(
        "clients.Client", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    handled_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-received_at",)
        constraints = [
            # Twilio retries webhooks: the same message is stored once.
            models.UniqueConstraint(fields=["tenant", "provider_id"], name="inboundmessage_once"),
        ]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.body[:40]}"
