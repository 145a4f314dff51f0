"""The events a business can receive at its webhook endpoints, and which appointment changes
they are."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    APPOINTMENT_CREATED = "appointment.created", _("Appointment booked")
    APPOINTMENT_REQUESTED = "appointment.requested", _("Booking requested (waits for approval)")
    APPOINTMENT_ACCEPTED = "appointment.accepted", _("Booking request accepted")
    APPOINTMENT_DECLINED = "appointment.declined", _("Booking request declined")
    APPOINTMENT_CONFIRMED = "appointment.confirmed", _("Appointment confirmed")
    APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled", _("Appointment rescheduled")
    APPOINTMENT_CHECKED_IN = "appointment.checked_in", _("Client checked in")
    APPOINTMENT_ATTENDED = "appointment.attended", _("Appointment attended")
    APPOINTMENT_NO_SHOW = "appointment.no_show", _("Appointment marked no-show")
    MESSAGE_FAILED = "message.failed", _("Message to a client failed")
    WAITLIST_CLAIMED = "waitlist.claimed", _("Waitlist slot claimed")


# Sent by the "send test event" button only; never subscribed to.
TEST_EVENT = "ping"

# An appointment event's kind → the webhook event ("created", "rescheduled", "arrived").
EVENT_BY_KIND: dict[str, str] = {
    "created": WebhookEvent.APPOINTMENT_CREATED,
    "rescheduled": WebhookEvent.APPOINTMENT_RESCHEDULED,
    "arrived": WebhookEvent.APPOINTMENT_CHECKED_IN,
    # A request's answers (requested → scheduled, requested → cancelled by the business).
    "accepted": WebhookEvent.APPOINTMENT_ACCEPTED,
    "declined": WebhookEvent.APPOINTMENT_DECLINED,
}
# A status change ("status", or an admin's "corrected") → the webhook event of its new status.
STATUS_KINDS = frozenset({"status", "corrected"})
EVENT_BY_STATUS: dict[str, str] = {
    "confirmed": WebhookEvent.APPOINTMENT_CONFIRMED,
    "cancelled": WebhookEvent.APPOINTMENT_CANCELLED,
    "attended": WebhookEvent.APPOINTMENT_ATTENDED,
    "no_show": WebhookEvent.APPOINTMENT_NO_SHOW,
}


def event_for(kind: str, to_status: str) -> str:
    """The webhook event an appointment event is, or "" (notes, start, finish...).

    A booking made as a request is `appointment.requested`, not `appointment.created`: it is
    not a booking yet. Its acceptance is `appointment.accepted` (from then on, the events of
    any booking), its decline `appointment.declined`; a client withdrawing it is
    `appointment.cancelled`, with `from_status` "requested".
    """
    if kind == "created" and to_status == "requested":
        return WebhookEvent.APPOINTMENT_REQUESTED
    if kind in STATUS_KINDS:
        return EVENT_BY_STATUS.get(to_status, "")
    return EVENT_BY_KIND.get(kind, "")
