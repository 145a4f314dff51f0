"""Business errors of scheduling, each with a stable code the API and the UI both show."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class SchedulingError(Exception):
    code = "scheduling_error"
    default_message = _("The appointment could not be changed.")
    http_status = 400

    def __init__(self, message: str | None = None) -> None:
        self.message = str(message or self.default_message)
        super().__init__(self.message)


class SlotTaken(SchedulingError):
    code = "slot_taken"
    default_message = _("That time is no longer available. Please choose another slot.")
    http_status = 409


class OutsideHours(SchedulingError):
    code = "outside_hours"
    default_message = _("That time is outside the staff member's working hours.")


class OffGrid(SchedulingError):
    code = "off_grid"
    default_message = _("Please choose one of the offered times.")


class OutsideBookingWindow(SchedulingError):
    code = "outside_booking_window"
    default_message = _("That time is too soon or too far ahead to book.")


class InvalidBookingRequest(SchedulingError):
    code = "invalid_booking"


class InvalidTransition(SchedulingError):
    code = "invalid_transition"
    default_message = _("This change is not possible in the appointment's current status.")
    http_status = 409
